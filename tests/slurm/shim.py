#!/usr/bin/env python3
"""A stand-in for the SLURM commands, for tests/test_slurm.py: it records every call and runs
the submitted jobs at once, on this machine, as if a cluster had scheduled them.

Installed under the names sbatch, srun, sacct, squeue, sinfo, sacctmgr, sshare and scontrol
(links to this file). Each call appends {"tool", "argv", "stdin"} as one JSON line to
$SHIM_LOG. sbatch runs the job script to completion before it answers with the job id,
so sacct can report every job as COMPLETED (or FAILED, by its exit code).
"""

import json
import os
import subprocess
import sys
from pathlib import Path

tool, argv = Path(sys.argv[0]).name, sys.argv[1:]
log = Path(os.environ["SHIM_LOG"])
state = log.with_suffix(".jobs.json")
stdin = sys.stdin.read() if tool in ("sbatch",) and not sys.stdin.isatty() else ""
with log.open("a") as f:
    f.write(json.dumps({"tool": tool, "argv": argv, "stdin": stdin}) + "\n")


def option(name):
    """The value of `--name value`, `--name=value` or the short form `-n value`."""
    for i, a in enumerate(argv):
        if a == name and i + 1 < len(argv):
            return argv[i + 1]
        if a.startswith(name + "="):
            return a.split("=", 1)[1]
    return None


if tool == "sbatch":
    jobs = json.loads(state.read_text()) if state.exists() else {}
    job_id = str(1000 + len(jobs))
    env = dict(os.environ, SLURM_JOB_ID=job_id, SLURM_JOB_NODELIST="localhost", SLURM_NNODES="1",
               SLURM_CPUS_PER_TASK=option("--cpus-per-task") or "1")
    out = (option("--output") or os.devnull).replace("%j", job_id)
    Path(out).parent.mkdir(parents=True, exist_ok=True)
    wrap = option("--wrap")
    command = ["sh", "-c", wrap] if wrap else ["sh", "-s"]
    with open(out, "w") as f:
        code = subprocess.run(command, input=None if wrap else stdin, text=True, stdout=f,
                              stderr=subprocess.STDOUT, env=env, cwd=option("-D") or None).returncode
    jobs[job_id] = {"name": option("--job-name"), "state": "COMPLETED" if code == 0 else "FAILED"}
    state.write_text(json.dumps(jobs))
    print(job_id)
elif tool == "srun":  # srun [options] command...: run the command here
    i = 0
    while i < len(argv) and argv[i].startswith("-"):
        i += 1 if "=" in argv[i] or argv[i] in ("-n1",) else 2
    command = argv[i:]
    sys.exit(subprocess.run(command, stdin=sys.stdin).returncode)
elif tool == "sacct" and "--format=JobIdRaw,State" in argv:
    jobs = json.loads(state.read_text()) if state.exists() else {}
    name = option("--name")
    for job_id, job in jobs.items():
        if name in (None, job["name"]):
            print(f"{job_id}|{job['state']}")
elif tool == "sacct" or tool in ("sacctmgr", "sshare"):
    print("testaccount")
elif tool == "scontrol":
    print("localhost")
# squeue, sinfo: nothing running, nothing to say
