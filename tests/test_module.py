"""The workflow as a Snakemake module of another workflow, from a local path.

A user's Snakefile imports every rule with a prefix and passes its own config; the real
rules then run the tiny config end to end in the user's directory.
"""

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.slow

USER_SNAKEFILE = f'''
configfile: "config.yaml"


module gdynet:
    snakefile:
        "{ROOT}/workflow/Snakefile"
    config:
        config


use rule * from gdynet as gdynet_*


rule all:
    input:
        rules.gdynet_all.input,
    default_target: True
'''


def test_workflow_runs_as_a_module_from_a_local_path(tmp_path):
    (tmp_path / "Snakefile").write_text(USER_SNAKEFILE)
    (tmp_path / "config.yaml").write_text((ROOT / ".test" / "config" / "config.yaml").read_text())
    result = subprocess.run([sys.executable, "-m", "snakemake", "--cores", "2"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "gdynet_train" in result.stdout + result.stderr  # the module's rules ran, renamed
    figures = tmp_path / "results" / "toy" / "figures"
    assert (figures / "fig2b_timescales.png").read_bytes()[:4] == b"\x89PNG"
    assert (tmp_path / "results" / "toy" / "analysis" / "validation.json").stat().st_size > 0
