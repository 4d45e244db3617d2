"""The real workflow on a tiny config (.test/config/config.yaml), end to end."""

import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import yaml
from archive_server import RECORD, serve
from synthetic import write_traj

ROOT = Path(__file__).resolve().parents[1]
TINY = ROOT / ".test" / "config" / "config.yaml"

pytestmark = pytest.mark.slow


def snakemake(workdir, *args, config=TINY, check=True):
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"),
           "--directory", str(workdir), "--configfile", str(config), "--cores", "2", *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    if check and result.returncode != 0:
        raise AssertionError(f"snakemake {' '.join(args)} failed:\n{result.stdout}\n{result.stderr}")
    return result


def job_counts(dry_run_output: str) -> dict:
    """The 'Job stats' table of a dry run as {rule: count}."""
    table = dry_run_output.split("Job stats:")[1].split("total")[0]
    return {m[1]: int(m[2]) for m in re.finditer(r"^(\w+)\s+(\d+)$", table, re.M)}


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory):
    workdir = tmp_path_factory.mktemp("workflow")
    snakemake(workdir)
    return workdir


def test_tiny_run_writes_figures_and_validation(finished_run):
    results = finished_run / "results" / "toy"
    koopman = [f"{panel}_{model}_k{k}" for model, k in (("gdynet", 2), ("vampnet", 2), ("vampnet", 8))
               for panel in ("koopman_timescales", "koopman_eigenvectors", "koopman_ck",
                             "populations", "training")]
    for name in ("fig2b_timescales", "fig2c_states", "fig2d_ck", "supp_fig1_vampnet8_timescales",
                 *koopman):
        for ext, magic in ((".png", b"\x89PNG"), (".pdf", b"%PDF")):
            assert (results / "figures" / f"{name}{ext}").read_bytes()[:4] == magic
    validation = json.loads((results / "analysis" / "validation.json").read_text())
    for key in ("state_agreement", "timescale_ps", "reference_timescale_ps", "tau_star_ps",
                "global_from_local_timescale_ps", "global_counted_timescale_ps"):
        assert key in validation
    assert validation["tau_star_ps"] in (1.0, 2.0)  # one of the trained lags
    # the test-set states cover every test frame, and are probabilities
    chi = np.load(results / "gdynet" / "k2" / "tau1ps" / "chi_test.npy")
    splits = json.loads((results / "splits.json").read_text())
    assert chi.shape == (sum(b - a for a, b in splits["test"]), 1, 2)
    np.testing.assert_allclose(chi.sum(axis=-1), 1, atol=1e-5)
    for log in ("simulate.log", "featurize.log", "train/gdynet_k2_tau1ps.log"):
        assert (finished_run / "logs" / "toy" / log).stat().st_size > 0


def test_report_holds_the_figures(finished_run):
    snakemake(finished_run, "--report", "report.html")
    html = (finished_run / "report.html").read_text(errors="replace")
    assert "fig2b_timescales.png" in html and "validation.json" in html
    assert "config.json" in html and "summary.csv" in html  # the run's config and the tables


def test_second_run_does_nothing(finished_run):
    out = snakemake(finished_run, "--dry-run")
    assert "Nothing to be done" in out.stdout + out.stderr


def test_new_lag_reruns_only_the_jobs_it_touches(finished_run, tmp_path):
    config = yaml.safe_load(TINY.read_text())
    config["systems"]["toy"]["models"]["gdynet"]["lags_ps"] = [1, 2, 3]
    changed = tmp_path / "config.yaml"
    changed.write_text(yaml.safe_dump(config))
    out = snakemake(finished_run, "--dry-run", config=changed)
    assert job_counts(out.stdout) == {
        "train": 1, "predict": 1, "koopman": 1,  # the new model at 3 ps
        "select_tau": 1, "validate_toy": 1,  # everything that chooses among GDyNet lags
        "fig2b_timescales": 1, "fig2c_states": 1, "fig2d_ck": 1, "all": 1,
        # GDyNet's system-independent outputs, and the config record of the report
        "koopman_summary": 1, "koopman_timescales": 1, "koopman_eigenvectors": 1,
        "koopman_ck": 1, "koopman_populations": 1, "koopman_training": 1, "config_record": 1,
    }


def dry_run_jobs(workdir, mutate):
    """The jobs a dry run after `mutate(config)` of the tiny config would run."""
    config = yaml.safe_load(TINY.read_text())
    mutate(config)
    changed = workdir.parent / f"changed-{abs(hash(repr(config)))}.yaml"
    changed.write_text(yaml.safe_dump(config))
    out = snakemake(workdir, "--dry-run", config=changed)
    return {} if "Nothing to be done" in out.stdout + out.stderr else job_counts(out.stdout)


def test_settings_that_do_not_define_a_model_retrain_nothing(finished_run):
    # the CK horizon belongs to the Koopman analysis, the device to where a job runs
    jobs = dry_run_jobs(finished_run, lambda c: c["systems"]["toy"]["koopman"].update(ck_steps=3))
    assert "train" not in jobs and "predict" not in jobs and jobs["koopman"] == 4
    # (only the record of the config in the report is written again)
    assert dry_run_jobs(finished_run, lambda c: c["training"].update(device="cpu")) == {
        "config_record": 1, "all": 1}


def test_a_lost_model_is_made_again(finished_run, tmp_path):
    """A failed forced training job deletes its outputs; the next run must notice."""
    model = finished_run / "results" / "toy" / "gdynet" / "k2" / "tau2ps" / "model.pt"
    kept = tmp_path / "model.pt"
    model.rename(kept)
    try:
        jobs = dry_run_jobs(finished_run, lambda c: None)
        assert jobs.get("train") == 1
    finally:
        kept.rename(model)


def test_a_forced_rerun_trains_afresh(finished_run):
    log = finished_run / "logs" / "toy" / "train" / "vampnet_k8_tau1ps.log"
    model_dir = finished_run / "results" / "toy" / "vampnet" / "k8" / "tau1ps"
    before = (model_dir / "metrics.csv").read_text()
    target = "results/toy/vampnet/k8/tau1ps/model.pt"
    snakemake(finished_run, target, "--forcerun", target)
    text = log.read_text()
    assert "resuming" not in text and "epoch 2/2" in text
    assert not (model_dir / "checkpoint.pt").exists()  # removed once the model was saved
    after = (model_dir / "metrics.csv").read_text()
    strip = lambda t: [line.rsplit(",", 1)[0] for line in t.splitlines()]  # drop the seconds
    assert strip(after) == strip(before)  # same seed, same data: the same model again


def test_config_error_names_the_key(tmp_path):
    config = yaml.safe_load(TINY.read_text())
    config["systems"]["toy"]["graph"]["n_neighbours"] = config["systems"]["toy"]["graph"].pop("n_neighbors")
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(config))
    out = snakemake(tmp_path, "--dry-run", config=bad, check=False)
    assert out.returncode != 0
    assert "n_neighbours" in out.stdout + out.stderr


def test_bad_trajectory_stops_the_run_and_leaves_no_output(tmp_path):
    simulated = tmp_path / "resources" / "toy" / "simulated"
    simulated.mkdir(parents=True)
    coords = np.random.default_rng(0).uniform(0, 6.5, (50, 5, 3))
    coords[17, 2, 0] = np.nan
    np.savez(simulated / "walker-000.npz", traj_coords=coords,
             lattices=np.broadcast_to(6.5 * np.eye(3), (50, 3, 3)),
             atom_types=np.array([3, 16, 16, 16, 16]), target_index=np.array([0]))
    out = snakemake(tmp_path, "results/toy/frames/meta.json", check=False)
    assert out.returncode != 0
    log = (tmp_path / "logs" / "toy" / "prepare_frames.log").read_text()
    assert "walker-000.npz" in log and "traj_coords" in log and "NaN" in log
    assert "Traceback" in log  # the whole story is in the rule's log
    # and the console shows the error itself in one line, pointing at the log
    console = [line for line in out.stderr.splitlines() if line.startswith("Error in prepare_frames toy:")]
    assert len(console) == 1 and "TrajectoryError" in console[0] and "walker-000.npz" in console[0]
    assert not (tmp_path / "results" / "toy" / "frames" / "coords.npy").exists()
    assert not list((tmp_path / "results" / "toy" / "frames").glob("*.npy"))


def test_lint_is_clean(tmp_path):
    out = snakemake(tmp_path, "--lint", config=ROOT / "config" / "config.yaml")
    assert "Congratulations" in out.stdout + out.stderr


def test_paper_config_dry_run_lists_every_job_offline(tmp_path):
    out = snakemake(tmp_path, "--dry-run", config=ROOT / "config" / "paper.yaml")
    counts = job_counts(out.stdout)
    paper = yaml.safe_load((ROOT / "config" / "paper.yaml").read_text())["systems"]
    n_models = sum(len(m["n_states"]) * len(m["lags_ps"])
                   for s in paper.values() for m in s["models"].values())
    assert counts["download"] == sum(len(s["download"]["files"]) for s in paper.values()) == 7
    assert counts["prepare_frames"] == counts["featurize"] == counts["split"] == 3
    assert counts["train"] == counts["predict"] == counts["koopman"] == n_models
    assert counts["select_tau"] == sum(len(m["n_states"]) for s in paper.values()
                                       for m in s["models"].values())
    assert "simulate_toy" not in counts  # the quickstart config is not merged in


def write_xtc_run(path, topology, n_frames, seed):
    """A small trajectory in GROMACS xtc: a Li random walk in a frozen FCC S cell."""
    import mdtraj

    rng = np.random.default_rng(seed)
    a_nm = 0.65
    sulfur = np.array([[0, 0, 0], [0, 0.5, 0.5], [0.5, 0, 0.5], [0.5, 0.5, 0]]) * a_nm
    li = (0.3 + np.cumsum(rng.normal(0, 0.01, (n_frames, 3)), axis=0)) % a_nm
    xyz = np.concatenate([li[:, None], np.broadcast_to(sulfur, (n_frames, 4, 3))], axis=1)
    traj = mdtraj.Trajectory(xyz, topology, time=np.arange(n_frames) * 0.1,
                             unitcell_lengths=np.full((n_frames, 3), a_nm),
                             unitcell_angles=np.full((n_frames, 3), 90.0))
    traj.save_xtc(str(path))
    return traj


def test_own_trajectories_run_through_import(tmp_path):
    import mdtraj

    top = mdtraj.Topology()
    chain = top.add_chain()
    for name, element in [("LI", "Li")] + [("S", "S")] * 4:
        top.add_atom(name, mdtraj.element.get_by_symbol(element), top.add_residue(name, chain))
    first = write_xtc_run(tmp_path / "run1.xtc", top, 300, seed=0)
    write_xtc_run(tmp_path / "run2.xtc", top, 300, seed=1)
    first[0].save_pdb(str(tmp_path / "system.pdb"))

    config = yaml.safe_load((ROOT / "config" / "own-data.yaml").read_text())
    system = config["systems"].pop("my_system")
    system["import"].update(trajectories=[str(tmp_path / "run1.xtc"), str(tmp_path / "run2.xtc")],
                            topology=str(tmp_path / "system.pdb"), selection="element Li")
    system.update(frame_interval_ps=0.1, graph={"n_neighbors": 12, "radius_A": 7.0},
                  models={"gdynet": {"n_states": [2], "lags_ps": [0.5]}})
    system["koopman"].update(lags_ps=[0.1, 0.5], ck_steps=2)
    config["systems"] = {"mine": system}
    config["training"].update(epochs=1, steps_per_epoch=2, batch_pairs=16)
    config["training"]["gdynet"].update(atom_fea_len=4, n_conv=1)
    path = tmp_path / "mine.yaml"
    path.write_text(yaml.safe_dump(config))

    snakemake(tmp_path / "work", config=path)
    imported = np.load(tmp_path / "work" / "resources" / "mine" / "imported" / "run1.npz")
    np.testing.assert_allclose(imported["traj_coords"], first.xyz * 10, atol=1e-3)  # nm -> Å
    meta = json.loads((tmp_path / "work" / "results" / "mine" / "frames" / "meta.json").read_text())
    assert [s["name"] for s in meta["segments"]] == ["run1", "run2"]
    assert (tmp_path / "work" / "results" / "mine" / "gdynet" / "k2" / "tau_star.json").exists()


def download_config(tmp_path, base_url, files):
    config = yaml.safe_load(TINY.read_text())
    system = config["systems"].pop("toy")
    system.update(source="download", download={"files": files, "base_url": base_url,
                                                "record": RECORD}, analyses=[])
    del system["simulate"]
    system["models"] = {"gdynet": {"n_states": [2], "lags_ps": [0.5]}}
    config["systems"] = {"paper": system}
    path = tmp_path / "download.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


def test_download_rule_fetches_verifies_and_refuses_corrupt_files(tmp_path):
    good = write_traj(tmp_path / "a.npz", n_frames=100).read_bytes()
    bad = write_traj(tmp_path / "b.npz", n_frames=100).read_bytes()
    with serve() as archive:
        archive.add("traj-a.npz", good)
        archive.add("traj-b.npz", bad, served=bad[:-10] + b"0123456789")  # corrupt on the wire
        config = download_config(tmp_path, archive.url, ["traj-a.npz", "traj-b.npz"])
        work = tmp_path / "work"
        ok = snakemake(work, "resources/paper/verified/traj-a.npz", config=config)
        assert (work / "resources" / "paper" / "verified" / "traj-a.npz").read_bytes() == good
        out = snakemake(work, "results/paper/frames/meta.json", config=config, check=False)
    assert ok.returncode == 0 and out.returncode != 0
    log = (work / "logs" / "paper" / "download" / "traj-b.npz.log").read_text()
    assert "traj-b.npz" in log and "checksum" in log.lower()
    assert not list((work / "resources" / "paper" / "verified").glob("traj-b*"))
    assert not (work / "results" / "paper" / "frames").exists()


def test_files_placed_by_hand_are_checked_offline(tmp_path):
    data = write_traj(tmp_path / "a.npz", n_frames=100).read_bytes()
    with serve() as archive:  # only to write the listing a user would save
        archive.add("traj-a.npz", data)
        listing = archive.listing()
        offline_url = archive.url
    work = tmp_path / "work"
    (work / "resources" / "paper" / "download").mkdir(parents=True)
    (work / "resources" / "paper" / "download" / "traj-a.npz").write_bytes(data)
    (work / "resources" / "materialscloud-files.json").write_text(json.dumps(listing))
    config = download_config(tmp_path, offline_url, ["traj-a.npz"])  # nothing listens there now
    snakemake(work, "results/paper/frames/meta.json", config=config)
    meta = json.loads((work / "results" / "paper" / "frames" / "meta.json").read_text())
    assert meta["segments"] == [{"name": "traj-a", "start": 0, "stop": 100}]


def test_a_run_killed_while_training_resumes_to_the_same_results(tmp_path):
    """Kill the whole workflow mid-training (SIGKILL: no clean-up), run it again: the model
    resumes from its checkpoint and every result is bit-identical to a clean run."""
    import os
    import signal
    import time

    import torch

    config = yaml.safe_load(TINY.read_text())
    toy = config["systems"]["toy"]
    toy.update(analyses=[], models={"gdynet": {"n_states": [2], "lags_ps": [1]}})
    config["training"].update(epochs=3, steps_per_epoch=300)  # a few seconds of training
    path = tmp_path / "kill.yaml"
    path.write_text(yaml.safe_dump(config))
    model_dir = Path("results/toy/gdynet/k2/tau1ps")

    snakemake(tmp_path / "clean", config=path)

    killed = tmp_path / "killed"
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory",
           str(killed), "--configfile", str(path), "--cores", "1"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    checkpoint = killed / model_dir / "checkpoint.pt"
    deadline = time.monotonic() + 300
    while not checkpoint.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    assert checkpoint.exists() and not (killed / model_dir / "model.pt").exists()

    snakemake(killed, "--unlock", config=path)
    snakemake(killed, config=path)
    assert "resuming from" in (killed / "logs/toy/train/gdynet_k2_tau1ps.log").read_text()
    for name in ("chi_test.npy", "timescales.csv", "ck_test.csv", "koopman.json"):
        assert (killed / model_dir / name).read_bytes() == (tmp_path / "clean" / model_dir / name).read_bytes()
    a, b = (torch.load(d / model_dir / "model.pt", weights_only=True) for d in (killed, tmp_path / "clean"))
    for key in a["state_dict"]:
        torch.testing.assert_close(a["state_dict"][key], b["state_dict"][key], rtol=0, atol=0)
    assert not list(killed.rglob(".*.tmp-*"))  # no temporary file left behind
