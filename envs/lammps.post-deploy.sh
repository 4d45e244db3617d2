#!/usr/bin/env bash
# Snakemake runs this once, inside the new environment: install the workflow's own library,
# the package gdynet, from the folder the Snakefile names in GDYNET_SOURCE.
set -euo pipefail
python -m pip install --quiet --no-deps --editable "${GDYNET_SOURCE:?set by the Snakefile}"
