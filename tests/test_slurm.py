"""The SLURM profile asks for what each job needs: the workflow submitted through stand-ins.

tests/slurm/ holds stand-ins for sbatch, srun, sacct, ... that record every call and run the
job at once on this machine. The tiny config runs under `--profile profiles/slurm`, and the
recorded sbatch lines of a training, a featurize and a plot job are checked option by option:
partition, GPUs, CPUs (the rule's threads), memory, time limit and log path.
"""

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]
SHIMS = ROOT / "tests" / "slurm"

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def submitted(tmp_path_factory):
    work = tmp_path_factory.mktemp("slurm")
    config = yaml.safe_load((ROOT / ".test" / "config" / "config.yaml").read_text())
    config["training"].update(gpus=1, threads=2)
    (work / "config.yaml").write_text(yaml.safe_dump(config))
    env = dict(os.environ, PATH=f"{SHIMS}{os.pathsep}{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
               SHIM_LOG=str(work / "calls.jsonl"))
    cmd = [sys.executable, "-m", "snakemake", "--snakefile", str(ROOT / "Snakefile"), "--directory", str(work),
           "--configfile", str(work / "config.yaml"), "--profile", str(ROOT / "profiles" / "slurm"),
           "results/toy/graphs/nbr_idx.npy", "results/toy/figures/supp_fig1_vampnet8_timescales.png"]
    result = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    calls = [json.loads(line) for line in (work / "calls.jsonl").read_text().splitlines()]
    jobs = {}
    for call in calls:
        if call["tool"] == "sbatch":
            argv = [a for a in call["argv"] if not a.startswith("--wrap")]
            rule = argv[argv.index("--comment") + 1].split("_wildcards_")[0].removeprefix("rule_")
            jobs.setdefault(rule, []).append(argv)
    return work, jobs


def options(argv):
    """sbatch's options as {flag: value} ('--gpus=1' and '-p gpu' alike)."""
    out, i = {}, 0
    while i < len(argv):
        a = argv[i]
        if "=" in a:
            k, v = a.split("=", 1)
            out[k] = v
        elif i + 1 < len(argv) and not argv[i + 1].startswith("-"):
            out[a] = argv[i + 1]
            i += 1
        else:
            out[a] = True
        i += 1
    return out


def test_training_job_asks_for_its_gpu_threads_memory_and_time(submitted):
    work, jobs = submitted
    [train] = jobs["train"]
    o = options(train)
    # tiny config: 2 epochs x 3 steps x 32 frame pairs of 5 atoms x 12 neighbours, 1 conv of
    # width 8: a few seconds of work, so the 15-minute floor plus one (workflow/rules/common.smk)
    assert (o["-p"], o["--gpus"], o["--cpus-per-task"], o["--mem"], o["-t"], o["--nodes"]) == (
        "gpu", "1", "2", "3000", "16", "1")
    assert o["--output"] == f"{work}/.snakemake/slurm_logs/rule_train/toy_vampnet_8_1/%j.log"
    assert o["-A"] == "testaccount"  # found with sacctmgr, as on a real cluster


def test_featurize_job_asks_for_two_cpus_and_its_time(submitted):
    work, jobs = submitted
    [featurize] = jobs["featurize"]
    o = options(featurize)
    # 4 walkers x 400 frames x 5 atoms at 4e5 atom-frames/s: the 10-minute floor plus one
    assert (o["-p"], o["--cpus-per-task"], o["--mem"], o["-t"]) == ("cpu", "2", "4000", "11")
    assert "--gpus" not in o
    assert o["--output"] == f"{work}/.snakemake/slurm_logs/rule_featurize/toy/%j.log"


def test_plot_job_runs_on_one_cpu_of_the_cpu_partition(submitted):
    work, jobs = submitted
    [plot] = jobs["supp_fig1"]
    o = options(plot)
    assert (o["-p"], o["--cpus-per-task"], o["--ntasks"]) == ("cpu", "1", "1")
    assert "--gpus" not in o and "-t" not in o  # the partition's default time limit
    assert o["--output"] == f"{work}/.snakemake/slurm_logs/rule_supp_fig1/toy/%j.log"
    assert (work / "results" / "toy" / "figures" / "supp_fig1_vampnet8_timescales.png").read_bytes()[:4] == b"\x89PNG"


def test_every_sbatch_line_parses():
    line = "sbatch --parsable -p gpu -t 16 --mem 3000 --gpus=1"
    assert options(shlex.split(line)[1:]) == {"--parsable": True, "-p": "gpu", "-t": "16", "--mem": "3000",
                                                "--gpus": "1"}
