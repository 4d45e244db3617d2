"""Config mistakes stop the dry run (`snakemake -n`) with a message that names the key.

Every case feeds one mistake into an otherwise valid config and asserts the message of
the workflow's adapter (workflow/rules/common.smk): the config key, the values and the
fix. Nothing is simulated or trained: the checks run while the DAG is built.
"""

import copy
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from synthetic import write_traj

ROOT = Path(__file__).resolve().parents[1]
TINY = yaml.safe_load((ROOT / ".test" / "config" / "config.yaml").read_text())

pytestmark = pytest.mark.slow


def dry_run(tmp_path, config):
    path = tmp_path / "config.yaml"
    path.write_text(yaml.safe_dump(config))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory",
           str(tmp_path), "--configfile", str(path), "--cores", "1", "--dry-run"]
    result = subprocess.run(cmd, capture_output=True, text=True)
    return result.returncode, result.stdout + result.stderr


def files_config(tmp_path, n_files=1, n_frames=400, **system):
    """A system made of npz files already in the project's format (frame counts known)."""
    config = copy.deepcopy(TINY)
    toy = config["systems"].pop("toy")
    paths = [str(write_traj(tmp_path / f"run{i}.npz", n_frames=n_frames)) for i in range(n_files)]
    toy.update(source="files", files=paths, analyses=[], models={"gdynet": {"n_states": [2], "lags_ps": [1, 2]}})
    del toy["simulate"]
    toy.update(system)
    config["systems"] = {"mine": toy}
    return config


def toy(config):
    return config["systems"]["toy"]


def test_the_tiny_config_passes(tmp_path):
    code, out = dry_run(tmp_path, TINY)
    assert code == 0, out


# (mutation of the tiny toy config, words the message must hold); the toy test split holds
# 4 walkers x 200 frames of 0.1 ps, i.e. ranges of 20 ps
TOY_CASES = [
    pytest.param(lambda c: toy(c)["koopman"].update(lags_ps=[0.5, 1, 25]),
                 ["systems.toy.koopman.lags_ps", "Koopman lag time of 250 frames (25 ps)",
                  "longest 'test' range (200 frames, 20 ps)"], id="koopman-lag-longer-than-test"),
    pytest.param(lambda c: toy(c)["models"]["gdynet"].update(lags_ps=[1, 0.25]),
                 ["systems.toy.models.gdynet.lags_ps", "0.25 ps is not a positive whole multiple of "
                  "the frame interval 0.1 ps"], id="lag-not-whole-frames"),
    pytest.param(lambda c: toy(c)["koopman"].update(tau_star_ps=5),
                 ["systems.toy.koopman.tau_star_ps", "5 ps was never trained for gdynet"],
                 id="tau-star-never-trained"),
    pytest.param(lambda c: toy(c)["koopman"].update(ck_steps=11),
                 ["systems.toy.koopman.ck_steps: the CK horizon (2 ps x ck_steps 11) of 220 frames (22 ps) "
                  "is not shorter than the longest 'test' range"], id="ck-horizon-longer-than-test"),
    pytest.param(lambda c: toy(c)["graph"].update(n_neighbors=5000),
                 ["systems.toy.graph.n_neighbors", "5000-th neighbour lies about",
                  "beyond graph.radius_A = 7 Å"], id="too-many-neighbours"),
    pytest.param(lambda c: c["training"].update(memory_budget_gb=1e-5),
                 ["training.memory_budget_gb = 1e-05", "one GDyNet training step needs about",
                  "systems.toy.graph.n_neighbors"], id="memory-budget"),
    pytest.param(lambda c: toy(c)["models"]["vampnet"].update(n_states=[2]),
                 ["systems.toy.analyses lists 'toy'", "models.vampnet.n_states to include 8"],
                 id="toy-needs-its-models"),
    pytest.param(lambda c: toy(c).update(analyses=["toy", "electrolyte"]),
                 ["systems.toy.analyses lists ['toy', 'electrolyte']: a system is one of toy, interface, "
                  "electrolyte"], id="two-system-analyses"),
    pytest.param(lambda c: toy(c)["split"].update(train=0.9, val=0.05, test=0.05),
                 ["systems.toy.models.gdynet.lags_ps: the lag time of 20 frames (2 ps) is not shorter than "
                  "the longest 'val' range (20 frames, 2 ps)"], id="val-split-too-short-for-a-lag"),
]


@pytest.mark.parametrize("mutate, words", TOY_CASES)
def test_a_config_mistake_stops_the_dry_run_naming_the_key(tmp_path, mutate, words):
    config = copy.deepcopy(TINY)
    mutate(config)
    code, out = dry_run(tmp_path, config)
    assert code != 0
    for w in words:
        assert w in out, f"{w!r} not in:\n{out}"
    assert "Traceback" not in out


def test_segments_ci_with_one_trajectory_names_the_key(tmp_path):
    config = files_config(tmp_path, n_files=1)
    config["systems"]["mine"]["koopman"]["ci_scheme"] = "segments"
    code, out = dry_run(tmp_path, config)
    assert code != 0
    assert "systems.mine.koopman.ci_scheme: 'segments' makes one confidence group per test trajectory, " \
           "but the test split has 1" in out


def test_lags_are_checked_against_frame_counts_from_file_headers(tmp_path):
    config = files_config(tmp_path, n_files=2, n_frames=100)  # test ranges of 50 frames = 5 ps
    config["systems"]["mine"]["models"]["gdynet"]["lags_ps"] = [1, 2]  # 2 ps: longer than val (1 ps)
    code, out = dry_run(tmp_path, config)
    assert code != 0
    assert "systems.mine.models.gdynet.lags_ps: the lag time of 20 frames (2 ps) is not shorter than " \
           "the longest 'val' range (10 frames, 1 ps)" in out


def test_several_mistakes_are_listed_together(tmp_path):
    config = copy.deepcopy(TINY)
    toy(config)["koopman"].update(tau_star_ps=5, ck_steps=11)
    code, out = dry_run(tmp_path, config)
    assert code != 0 and "the configuration has problems:" in out
    assert "koopman.tau_star_ps" in out and "koopman.ck_steps" in out


def test_braces_in_a_file_name_are_named(tmp_path):
    config = files_config(tmp_path)
    config["systems"]["mine"]["files"] = [str(tmp_path / "run{1}.npz")]
    code, out = dry_run(tmp_path, config)
    assert code != 0
    assert f"systems.mine.files: '{tmp_path}/run{{1}}.npz' contains braces" in out
    assert "WildcardError" not in out


def test_a_top_level_typo_gets_one_line_and_a_suggestion(tmp_path):
    config = copy.deepcopy(TINY)
    config["trainig"] = config.pop("training")
    code, out = dry_run(tmp_path, config)
    assert code != 0
    lines = [line for line in out.splitlines() if "unknown key" in line]
    assert lines == ["config: the top level: unknown key 'trainig' (did you mean 'training'?); known keys: "
                     "systems, training (see config/README.md)"]
    assert len(out.splitlines()) < 40  # not the 328 lines of schema of a plain jsonschema error


def test_a_nested_typo_names_its_path(tmp_path):
    config = copy.deepcopy(TINY)
    graph = toy(config)["graph"]
    graph["n_neighbours"] = graph.pop("n_neighbors")
    code, out = dry_run(tmp_path, config)
    assert code != 0
    assert "config: systems.toy.graph: unknown key 'n_neighbours' (did you mean 'n_neighbors'?)" in out


def test_schema_defaults_fill_what_the_config_leaves_out(tmp_path):
    """Defaults live in the schema only: a config without them runs, and the jobs see them."""
    config = copy.deepcopy(TINY)
    for key in ("device", "memory_budget_gb", "val_pairs", "precision", "gpus"):
        config["training"].pop(key, None)
    config["training"].pop("vampnet")
    toy(config)["models"].pop("vampnet")
    toy(config)["analyses"] = []
    code, out = dry_run(tmp_path, config)
    assert code == 0, out  # a default missing from the schema would raise a KeyError here
