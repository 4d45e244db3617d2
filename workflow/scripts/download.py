"""Fetch one file of the paper's Materials Cloud record, or verify a copy placed by hand."""

from pathlib import Path

from gdynet import logs
from gdynet.data import download

name = snakemake.wildcards.name
log = logs.to_file(snakemake.log[0], f"download {name}")
p, cfg = snakemake.params, snakemake.params.download
out = Path(snakemake.output[0])

# the checksums: from a listing saved by hand when there is one (works offline), else the API
if Path(p.listing_path).exists():
    log.info("reading the file listing saved at %s", p.listing_path)
    listing = download.load_listing(p.listing_path, cfg["base_url"], cfg["record"])
else:
    log.info("fetching the file listing of record %s from %s", cfg["record"], cfg["base_url"])
    listing = download.fetch_listing(cfg["base_url"], cfg["record"])  # one try, short timeout
entry = download.entry_for(listing, name)

if Path(p.manual_path).exists():
    log.info("%s was placed by hand: checking it against %s", p.manual_path, entry.checksum)
    download.install_verified(p.manual_path, entry, out)
else:
    download.download(entry, out, timeout=tuple(cfg["timeout_s"]), retries=cfg["retries"])
