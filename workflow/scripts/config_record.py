"""The configuration of this run, defaults filled in, as one JSON file for the report."""

from gdynet import io, logs

log = logs.to_file(snakemake.log[0], "config_record")
io.save_json(snakemake.output[0], snakemake.params.config)
log.info("config written to %s", snakemake.output[0])
