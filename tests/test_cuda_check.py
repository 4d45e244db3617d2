"""benchmarks/cuda_check.py, the one-command GPU check, runs end to end.

Without a GPU it compares the CPU with itself (`--device cpu`), which checks the script
and its training runs, not CUDA; on a GPU machine run it with the default `--device cuda`.
"""

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_cuda_check_script_runs_and_its_checks_pass_on_the_cpu():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "cuda_check.py"), "--quick", "--device", "cpu"],
                         capture_output=True, text=True)
    rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
    checks = {r["check"]: r for r in rows if "check" in r}
    assert out.returncode == 0, out.stdout + out.stderr
    assert checks["cpu_states_match_the_hidden_states"]["ok"]  # the small system is learnable
    assert {"first_step_gradient_rel_diff", "predict_cuda_vs_cpu_max_abs_diff"} <= set(checks)
