"""The conda environments install the workflow's library, as setup.sh does for .venv/.

conda itself is not available here, so the post-deploy script that Snakemake runs inside
each new environment is run in a fresh virtual environment instead: afterwards the
package `gdynet` imports there, from this checkout.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ENVS = sorted((ROOT / "envs").glob("*.yaml"))


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.stem)
def test_every_env_has_a_post_deploy_script_that_installs_the_library(env):
    script = env.with_suffix(".post-deploy.sh")
    assert script.is_file() and os.access(script, os.X_OK)
    assert "pip install" in script.read_text() and "GDYNET_SOURCE" in script.read_text()
    assert "  - pip\n" in env.read_text()  # the script's pip comes from the env


@pytest.mark.slow
def test_post_deploy_script_makes_gdynet_importable_in_a_fresh_environment(tmp_path):
    venv = tmp_path / "env"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    env.update(PATH=f"{venv / 'bin'}{os.pathsep}{os.environ['PATH']}", GDYNET_SOURCE=str(ROOT))
    subprocess.run(["bash", str(ROOT / "envs" / "analysis.post-deploy.sh")], env=env, check=True,
                   cwd=tmp_path)
    out = subprocess.run([str(venv / "bin" / "python"), "-c", "import gdynet; print(gdynet.__file__)"],
                         env=env, cwd=tmp_path, capture_output=True, text=True, check=True)
    assert Path(out.stdout.strip()) == ROOT / "workflow" / "gdynet" / "__init__.py"
