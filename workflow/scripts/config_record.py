"""The configuration of this run, defaults filled in, as one YAML file for the report."""

import yaml

from gdynet import io, logs

log = logs.to_file(snakemake.log[0], "config_record")
with io.atomic_path(snakemake.output[0]) as tmp:
    with open(tmp, "w") as fh:
        yaml.safe_dump(snakemake.params.config, fh, sort_keys=True)
log.info("config written to %s", snakemake.output[0])
