"""Fetch one file of the paper's Materials Cloud record, or verify a copy placed by hand."""

import sys
from pathlib import Path

from gdynet import logs
from gdynet.data import download

log = logs.to_file(snakemake.log[0])
p = snakemake.params
out = Path(snakemake.output[0])
timeout = p.get("timeout", (10.0, 60.0))
timeout = tuple(timeout) if isinstance(timeout, (list, tuple)) else float(timeout)

try:
    # the checksums: from a listing saved by hand when there is one (works offline), else the API
    saved = p.get("listing_path")
    if saved and Path(saved).exists():
        log.info("reading the file listing saved at %s", saved)
        listing = download.load_listing(saved, p.base_url, p.record)
    else:
        log.info("fetching the file listing of record %s from %s", p.record, p.base_url)
        listing = download.fetch_listing(p.base_url, p.record)  # one try, short connect timeout
    entry = download.entry_for(listing, p.name)

    manual = p.get("manual_path")
    if manual and Path(manual).exists():
        log.info("%s was placed by hand: checking it against %s", manual, entry.checksum)
        download.install_verified(manual, entry, out)
    else:
        download.download(entry, out, timeout=timeout, retries=int(p.get("retries", 5)))
except (download.DownloadError, ValueError, OSError) as err:  # ChecksumError is a ValueError
    log.error("%s", err)  # the whole story, in the log file too; no traceback needed
    sys.exit(1)
