"""Download the paper's data from the Materials Cloud archive, verified and resumable.

The data of Xie et al. (2019) is Materials Cloud archive entry 2019.0017, DOI
10.24435/materialscloud:2019.0017/v1. The archive runs InvenioRDM; the entry's current
record id is ``gbzya-fbr45`` and its file listing, with the published size and checksum
of every file, is ``GET <base>/api/records/<record>/files``::

    {"entries": [{"key": "li2s-traj.npz", "size": 123, "checksum": "md5:<hex>",
                  "links": {"content": "<base>/api/records/<record>/files/li2s-traj.npz/content"}},
                 ...]}

(Older ``<base>/file/2019.0017/v1/<name>`` links are not used: they publish no checksums.)

Guarantees:

- a file is at ``dest`` only after its size and checksum matched the listing; a file
  placed by hand is copied (never linked), so later edits of the original cannot reach
  the verified copy;
- bytes are written to ``<dest>.part`` as they arrive and resumed from there with an HTTP
  Range request after a cut connection, a timeout, a trickle below a minimum rate, a 5xx
  answer or a killed job;
- connection errors, timeouts, trickles and 5xx are retried with exponential backoff;
  4xx answers (404, 403, ...) and redirect loops fail at once, naming the URL;
- the listing's checksums are checked when it is read: a missing checksum or an
  algorithm outside :data:`SUPPORTED_ALGORITHMS` fails there, naming the file;
- an unreachable archive fails fast with :data:`OFFLINE_HELP`, which names the
  alternatives (toy simulation, files placed by hand, own trajectories).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urljoin

import requests
import urllib3

from gdynet import io, logs

ARCHIVE_URL = "https://archive.materialscloud.org"
RECORD_ID = "gbzya-fbr45"
DOI = "10.24435/materialscloud:2019.0017/v1"

OFFLINE_HELP = f"""\
The paper's data (Materials Cloud archive, DOI {DOI}) cannot be downloaded now.
Alternatives:
  1. Run the simulated toy system, which needs no download:
       snakemake -c all                      (default config/config.yaml)
  2. Place the files by hand in resources/<system>/download/
     (for example resources/peo/download/peo-traj-a.npz), fetched on a machine that
     is online from
       {ARCHIVE_URL}/records/{RECORD_ID}
     Then only their checksums are checked, against the ones the archive publishes in
     the record's file listing,
       {ARCHIVE_URL}/api/records/{RECORD_ID}/files
     Save that JSON as resources/materialscloud-files.json and the check works offline too.
  3. Import your own trajectories with mdtraj:
       snakemake -c all --configfile config/own-data.yaml
"""

CHUNK_BYTES = 1 << 20  # hash and copy in 1 MiB pieces: flat memory for any file size
READ_BYTES = 1 << 16  # most bytes taken from the socket at once; less is written as it arrives

# Checksum algorithms a listing may use: hashlib's guaranteed ones of fixed digest length.
# shake_128 and shake_256 are left out: their digest length is a parameter that
# "<algorithm>:<hex>" does not carry.
SUPPORTED_ALGORITHMS = tuple(sorted(a for a in hashlib.algorithms_guaranteed
                                    if not a.startswith("shake_")))


class DownloadError(RuntimeError):
    """A download failed; the message names the URL, the cause and what to do."""


class ArchiveUnreachable(DownloadError):
    """The archive could not be reached at all; the message ends with OFFLINE_HELP."""


class ChecksumError(ValueError):
    """A file's size or checksum differs from the published one (expected vs got)."""


@dataclass(frozen=True)
class FileEntry:
    """One file of an archive record.

    name: file name (the listing's ``key``); size: bytes; checksum: ``"<algo>:<hex>"``
    with an algorithm of :data:`SUPPORTED_ALGORITHMS` (InvenioRDM publishes ``md5``);
    url: where its content is served.

    Raises ValueError naming the file when the checksum is missing (None), malformed,
    of an unsupported algorithm or of the wrong length for its algorithm.
    """

    name: str
    size: int
    checksum: str
    url: str

    def __post_init__(self):
        what = f"file '{self.name}'"
        if not isinstance(self.checksum, str) or not self.checksum.strip():
            raise ValueError(
                f"{what} has no checksum (checksum: {json.dumps(self.checksum)}), so it cannot "
                "be verified; the archive may still be processing the record: try again later")
        if not re.fullmatch(r"[0-9a-f]+", self.digest):
            raise ValueError(
                f"{what}: checksum {self.checksum!r} is not of the form '<algorithm>:<hex digest>' "
                "(e.g. 'md5:9e107d9d372bb6826bd81d3542a419d6')")
        if self.algorithm not in SUPPORTED_ALGORITHMS:
            shake = (" (shake_128 and shake_256 are not: their digest length is not part of the "
                     "checksum)" if self.algorithm.startswith("shake_") else "")
            raise ValueError(
                f"{what}: checksum algorithm '{self.algorithm}' of {self.checksum!r} is not "
                f"supported; supported are {', '.join(SUPPORTED_ALGORITHMS)}{shake}")
        n_hex = 2 * hashlib.new(self.algorithm).digest_size
        if len(self.digest) != n_hex:
            raise ValueError(
                f"{what}: checksum {self.checksum!r} has {len(self.digest)} hex digits, but "
                f"{self.algorithm} digests have {n_hex}; the listing is damaged: fetch it again")
        if self.size < 0:
            raise ValueError(f"{what}: size {self.size} is negative")

    @property
    def algorithm(self) -> str:
        return self.checksum.partition(":")[0].lower()

    @property
    def digest(self) -> str:
        return self.checksum.partition(":")[2].lower()


# ---------------------------------------------------------------------------------------
# the listing


def listing_url(base_url: str = ARCHIVE_URL, record: str = RECORD_ID) -> str:
    """The InvenioRDM file-listing endpoint of `record` on the archive at `base_url`."""
    return f"{base_url.rstrip('/')}/api/records/{quote(record, safe='')}/files"


def parse_listing(data: dict, source: str, base_url: str | None = None) -> dict[str, FileEntry]:
    """Turn an InvenioRDM file listing (parsed JSON) into {name: FileEntry}.

    `source` is the URL or path the listing came from; errors name it. Relative content
    links are resolved against `base_url` (default: `source`). Raises DownloadError naming
    `source` and the file for a malformed entry, a missing checksum or an unsupported
    checksum algorithm.
    """
    base_url = base_url or source
    entries = data.get("entries") if isinstance(data, dict) else None
    if not isinstance(entries, list):
        raise DownloadError(
            f"{source}: not an InvenioRDM file listing (no 'entries' list); "
            "check the archive URL and record id"
        )
    out = {}
    for i, item in enumerate(entries):
        try:
            name = item["key"]
            if not isinstance(name, str) or not name:
                raise ValueError(f"'key' {name!r} is not a file name")
            link = (item.get("links") or {}).get("content")
            url = urljoin(base_url, link) if link else f"{base_url.rstrip('/')}/{quote(name)}/content"
            size = int(item["size"])
        except (KeyError, TypeError, ValueError, AttributeError) as err:
            raise DownloadError(
                f"{source}: entry {i} of the listing lacks or has a bad 'key' or 'size' "
                f"({err!r}); the archive record may still be processing, try later"
            ) from err
        try:
            out[name] = FileEntry(name=name, size=size, checksum=item.get("checksum"), url=url)
        except ValueError as err:
            raise DownloadError(f"{source}: {err}") from None
    return out


def load_listing(path: str | os.PathLike, base_url: str = ARCHIVE_URL,
                 record: str = RECORD_ID) -> dict[str, FileEntry]:
    """Read a listing saved by hand (the JSON of :func:`listing_url`); no network."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError) as err:
        raise DownloadError(
            f"{path}: cannot read the saved file listing ({err}); save the JSON of "
            f"{listing_url(base_url, record)} there again, or delete the file to fetch it online"
        ) from err
    # relative links in a saved copy still refer to the archive, not to the local path
    return parse_listing(data, str(path), base_url=listing_url(base_url, record))


def fetch_listing(base_url: str = ARCHIVE_URL, record: str = RECORD_ID, *,
                  timeout: float | tuple[float, float] = (5.0, 30.0)) -> dict[str, FileEntry]:
    """Fetch {name: FileEntry} of `record` from the archive's API.

    One attempt only: the listing is the first contact with the archive, so when it is
    unreachable (offline, DNS failure, connect timeout) this fails within the connect
    timeout with :class:`ArchiveUnreachable`, whose message lists the alternatives,
    instead of a long storm of retries.
    """
    url = listing_url(base_url, record)
    try:
        resp = requests.get(url, timeout=timeout, headers={"Accept": "application/json"})
    except (requests.ConnectionError, requests.Timeout) as err:
        raise ArchiveUnreachable(
            f"cannot reach the archive at {url} ({err}).\n{OFFLINE_HELP}"
        ) from err
    except requests.RequestException as err:  # a redirect loop, a malformed URL, ...
        raise _final_error(url, err, "the file listing") from err
    with resp:
        if resp.status_code == 404:
            raise DownloadError(
                f"{url}: HTTP 404, the archive has no record '{record}'; check the record id "
                f"(the paper's data is record {RECORD_ID}, DOI {DOI})"
            )
        if resp.status_code != 200:
            raise DownloadError(
                f"{url}: HTTP {resp.status_code} {resp.reason} while fetching the file listing; "
                f"try again later.\n{OFFLINE_HELP}"
            )
        try:
            data = resp.json()
        except ValueError as err:
            raise DownloadError(f"{url}: the file listing is not JSON ({err})") from err
    return parse_listing(data, url)


def entry_for(listing: dict[str, FileEntry], name: str) -> FileEntry:
    """The entry called `name`, or a ValueError that lists the names the record has."""
    try:
        return listing[name]
    except KeyError:
        raise ValueError(
            f"the archive record has no file '{name}'; it has {sorted(listing)}. "
            "Fix the file name in the config"
        ) from None


# ---------------------------------------------------------------------------------------
# checking files


def file_digest(path: str | os.PathLike, algorithm: str = "md5") -> str:
    """Hex digest of a file, read in CHUNK_BYTES pieces (flat memory)."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as f:
        while block := f.read(CHUNK_BYTES):
            h.update(block)
    return h.hexdigest()


def _fix(entry: FileEntry) -> str:
    return (f"delete it and download it again from {entry.url} (or let the workflow do so); "
            "the expected values are those the archive publishes in its file listing")


def _check_size(path: Path, size: int, entry: FileEntry) -> None:
    if size != entry.size:
        raise ChecksumError(
            f"{path}: size {size} bytes, but the archive lists {entry.size} bytes for "
            f"'{entry.name}' (truncated or a different file); {_fix(entry)}"
        )


def _check_digest(path: Path, got: str, entry: FileEntry) -> None:
    if got != entry.digest:
        raise ChecksumError(
            f"{path}: checksum mismatch for '{entry.name}': expected "
            f"{entry.algorithm}:{entry.digest}, got {entry.algorithm}:{got}; {_fix(entry)}"
        )


def _require_file(path: Path, entry: FileEntry) -> None:
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such file; expected '{entry.name}' from {entry.url}")


def verify(path: str | os.PathLike, entry: FileEntry) -> Path:
    """Check a file's size and checksum against `entry`; return the path if they match.

    Raises ChecksumError (naming the file, expected and actual values and the fix) if
    not, and FileNotFoundError if the file is missing.
    """
    path = Path(path)
    _require_file(path, entry)
    _check_size(path, path.stat().st_size, entry)  # before hashing gigabytes
    _check_digest(path, file_digest(path, entry.algorithm), entry)
    return path


def install_verified(src: str | os.PathLike, entry: FileEntry, dest: str | os.PathLike) -> Path:
    """Copy `src` (a file placed by hand) to `dest` if it matches `entry`; return `dest`.

    The copy streams in CHUNK_BYTES pieces into a temporary file beside `dest` and is
    hashed on the way, so the bytes checked are the bytes installed; it is renamed onto
    `dest` only when size and checksum match. Never a link: editing or replacing `src`
    later cannot change `dest`. `src` is left in place; the copy needs `entry.size` bytes
    of free disk at `dest`.

    Raises ChecksumError naming `src` (nothing is left at `dest`), FileNotFoundError,
    or io.DiskFullError when `dest`'s disk lacks the room.
    """
    src, dest = Path(src), Path(dest)
    _require_file(src, entry)
    _check_size(src, src.stat().st_size, entry)  # before copying gigabytes
    with io.atomic_path(dest, nbytes=entry.size) as tmp:
        h, copied = hashlib.new(entry.algorithm), 0
        with open(src, "rb") as fin, open(tmp, "wb") as fout:
            while block := fin.read(CHUNK_BYTES):
                h.update(block)
                fout.write(block)
                copied += len(block)
        _check_size(src, copied, entry)  # `src` changed while it was copied
        _check_digest(src, h.hexdigest(), entry)
    logs.get().info("%s: checksum verified (%s); copied to %s", src, entry.checksum, dest)
    return dest


# ---------------------------------------------------------------------------------------
# downloading


class _Retry(Exception):
    """One attempt failed in a way that a later attempt (resuming the .part) may fix."""


ProgressFn = Callable[[int, int, float], None]


def _log_progress(name: str) -> ProgressFn:
    """A progress callback that logs 'name: done/total MB (p %) at r MB/s'."""
    log = logs.get()

    def report(done: int, total: int, rate: float) -> None:
        pct = 100.0 * done / total if total else 100.0
        log.info("%s: %.1f / %.1f MB (%.0f %%) at %.2f MB/s",
                 name, done / 1e6, total / 1e6, pct, rate / 1e6)

    return report


def _final_error(url: str, err: requests.RequestException, what: str) -> DownloadError:
    """A DownloadError for a request failure that another attempt cannot fix."""
    if isinstance(err, requests.TooManyRedirects):
        last = err.request.url if err.request is not None else url
        return DownloadError(
            f"{url}: the server redirects in a loop ({str(err).rstrip('.')}; the last request "
            f"went to {last}), so {what} cannot be downloaded (not retried). Check the archive "
            "URL and record id; if they are right, the archive is misconfigured: try again "
            "later, or place the file by hand (see the README)")
    return DownloadError(f"{url}: {type(err).__name__}: {err}; {what} cannot be downloaded "
                         "(not retried). Check the archive URL in the config")


def download(
    entry: FileEntry,
    dest: str | os.PathLike,
    *,
    timeout: float | tuple[float, float] = (10.0, 60.0),
    retries: int = 5,
    backoff_s: float = 2.0,
    min_rate: float = 1024.0,
    rate_window_s: float = 60.0,
    progress: ProgressFn | None = None,
    chunk_bytes: int = READ_BYTES,
) -> Path:
    """Download `entry` to `dest`; return `dest` once its size and checksum match.

    timeout: (connect, read) seconds for each request; a read timeout applies to every
        pause in the body, so a stalled server counts as a failed attempt.
    retries: further attempts after the first, on connection errors, timeouts, trickles,
        cut or short bodies and 5xx/408/429 answers; waits backoff_s * 2**i (at most
        2 min) between.
    min_rate, rate_window_s: an attempt whose body arrives at less than `min_rate`
        bytes/s, averaged over each `rate_window_s` seconds from its first byte, counts as
        failed and the next attempt resumes it. This catches a server that drips a byte
        now and then, which never trips the read timeout. The first window is the grace
        period of a slow start. min_rate=0 turns the check off.
    progress: called with (bytes done, bytes total, bytes/s) about every 5 % or 10 s,
        and at the end; default: log lines via the gdynet logger.
    chunk_bytes: most bytes taken from the socket at once; whatever has arrived is
        written and flushed to ``<dest>.part`` at once, so a killed job keeps it.

    Bytes go to ``<dest>.part``; an existing .part (from a cut connection or a killed
    job) is resumed with ``Range: bytes=<size>-``. The server's answer decides: 206 with
    the matching Content-Range appends; 200 means it ignored the Range, so the .part is
    rewritten from byte 0; 416 means the .part is not a prefix of the file, so it is
    deleted and the download restarts. A .part that is longer than the file is deleted.
    A .part from an earlier run that is full length but fails the checksum is deleted and
    downloaded once more from scratch; a fresh download that fails the checksum raises
    ChecksumError and leaves neither ``dest`` nor the .part. Nothing is ever at ``dest``
    unless it verified: the .part is renamed onto it (os.replace) after the check.
    A redirect loop or a malformed URL raises DownloadError at once, naming the URL;
    too little free disk for the rest of the file raises io.DiskFullError before the
    first byte (or when the disk fills up), keeping the .part.

    If `dest` already exists and verifies, nothing is downloaded.
    """
    if retries < 0:
        raise ValueError(f"retries must be >= 0, got {retries}")
    if not (min_rate >= 0 and rate_window_s > 0):
        raise ValueError(f"min_rate must be >= 0 bytes/s and rate_window_s > 0 s, got "
                         f"{min_rate!r} and {rate_window_s!r}")
    dest = Path(dest)
    part = dest.with_suffix(dest.suffix + ".part")
    dest.parent.mkdir(parents=True, exist_ok=True)
    log = logs.get()
    progress = progress or _log_progress(entry.name)

    if dest.exists():
        try:
            verify(dest, entry)
            log.info("%s: already present and verified", dest)
            return dest
        except ChecksumError as err:
            dest.unlink()  # only verified files may sit at dest
            log.warning("%s; deleted it, downloading it again", err)

    # bytes that were in the .part before this call: if the result fails the checksum,
    # they (not the server) may be to blame, so one fresh restart is allowed
    have = part.stat().st_size if part.exists() else 0
    stale_part = have > 0
    io.require_free_space(part, max(entry.size - have, 0), f"the rest of '{entry.name}'")
    failures = 0
    last_error: Exception | None = None
    answered: list[int] = []  # HTTP status of every request that got an answer
    with requests.Session() as session:
        while failures <= retries:  # plus at most one restart for a bad stale .part
            if failures:
                wait = min(backoff_s * 2 ** (failures - 1), 120.0)
                log.warning("%s: attempt %d of %d failed (%s); retrying in %.1f s",
                            entry.name, failures, retries + 1, last_error, wait)
                time.sleep(wait)
            try:
                with io.explain_full_disk(part, entry.size):
                    _one_request(session, entry, part, timeout, progress, chunk_bytes,
                                 min_rate, rate_window_s, answered)
                size = part.stat().st_size
                if size < entry.size:
                    raise _Retry(f"body ended after {size} of {entry.size} bytes")
            except (_Retry, requests.ConnectionError, requests.Timeout,
                    requests.exceptions.ChunkedEncodingError) as err:
                failures, last_error = failures + 1, err
                continue
            except requests.RequestException as err:  # a redirect loop, a bad URL, ...
                raise _final_error(entry.url, err, f"'{entry.name}'") from err

            try:
                verify(part, entry)
            except ChecksumError as err:
                part.unlink(missing_ok=True)
                if stale_part:
                    log.warning("%s: the resumed .part from an earlier run is bad (%s); "
                                "downloading from scratch", entry.name, err)
                    stale_part = False
                    continue
                raise ChecksumError(
                    f"{entry.url}: the downloaded file is corrupt: {err}. Nothing was left at "
                    f"{dest}. Try again later; if it persists, report it to the archive"
                ) from None
            os.replace(part, dest)
            log.info("%s: verified (%s), saved to %s", entry.name, entry.checksum, dest)
            return dest

    kept = (f"; the {part.stat().st_size} bytes received are kept in {part} and the next "
            "run resumes from there") if part.exists() else ""
    msg = f"{entry.url}: download failed after {retries + 1} attempts ({last_error}){kept}"
    if not answered:  # never got an HTTP answer: offline, DNS, refused, connect timeouts
        raise ArchiveUnreachable(f"{msg}.\n{OFFLINE_HELP}") from last_error
    raise DownloadError(msg) from last_error


def _content_range(header: str | None) -> tuple[int | None, int | None]:
    """(first byte, total size) of a 'bytes a-b/total' Content-Range header.

    None where a value is missing or unparsable ('*' total: unknown).
    """
    m = re.fullmatch(r"\s*bytes\s+(\d+)-\d+/(\d+|\*)\s*", header or "")
    if not m:
        return None, None
    return int(m.group(1)), (None if m.group(2) == "*" else int(m.group(2)))


def _arriving(resp: requests.Response, most: int):
    """Yield the body as it arrives: each piece is what the socket holds, at most `most` bytes.

    urllib3's ``read1`` returns as soon as any data is there, so a trickle is seen (and
    written) byte by byte instead of waiting for a full piece. Errors are raised as the
    requests exceptions that ``iter_content`` raises. Without ``read1`` (urllib3 < 2.3)
    this falls back to ``iter_content``, whose pieces wait for `most` bytes.
    """
    raw = resp.raw
    if not hasattr(raw, "read1"):
        yield from resp.iter_content(chunk_size=most)
        return
    try:
        while piece := raw.read1(most, decode_content=True):
            yield piece
    except urllib3.exceptions.ReadTimeoutError as err:
        raise requests.exceptions.ReadTimeout(err) from err
    except urllib3.exceptions.SSLError as err:
        raise requests.exceptions.SSLError(err) from err
    except urllib3.exceptions.ProtocolError as err:
        raise requests.exceptions.ChunkedEncodingError(err) from err
    except urllib3.exceptions.DecodeError as err:
        raise requests.exceptions.ContentDecodingError(err) from err


def _one_request(session, entry: FileEntry, part: Path, timeout, progress: ProgressFn,
                 chunk_bytes: int, min_rate: float, rate_window_s: float,
                 answered: list[int]) -> None:
    """One GET that appends to (or rewrites) `part`; raises _Retry or requests errors."""
    log = logs.get()
    offset = part.stat().st_size if part.exists() else 0
    if offset > entry.size:
        log.warning("%s: %s is longer than the file (%d > %d bytes); starting over",
                    entry.name, part, offset, entry.size)
        part.unlink()
        offset = 0
    if offset == entry.size and offset > 0:
        return  # complete .part from an earlier run: only the checksum is left to check

    # identity: byte ranges and the checksum refer to the stored bytes, not a gzip stream
    headers = {"Accept-Encoding": "identity"}
    if offset:
        headers["Range"] = f"bytes={offset}-"
    with session.get(entry.url, headers=headers, stream=True, timeout=timeout) as resp:
        code = resp.status_code
        answered.append(code)
        if code == 206:
            start, total = _content_range(resp.headers.get("Content-Range"))
            if start != offset or total not in (None, entry.size):
                part.unlink(missing_ok=True)
                raise _Retry(f"server answered Range bytes={offset}- with Content-Range "
                             f"{resp.headers.get('Content-Range')!r}; starting over")
            mode = "ab"
            log.info("%s: resuming at byte %d of %d", entry.name, offset, entry.size)
        elif code == 200:
            if offset:
                log.info("%s: server ignored the Range request; downloading from byte 0",
                         entry.name)
            offset, mode = 0, "wb"
        elif code == 416:
            part.unlink(missing_ok=True)
            raise _Retry(f"HTTP 416: {part} is not a prefix of the file; starting over")
        elif code >= 500 or code in (408, 429):  # other 4xx answers are final
            raise _Retry(f"HTTP {code} {resp.reason}")
        else:
            raise DownloadError(
                f"{entry.url}: HTTP {code} {resp.reason}; the file cannot be downloaded "
                "(not retried). Check the record id and file name in the config, or place "
                "the file by hand (see the README)"
            )

        done, t0 = offset, time.monotonic()
        last_t, last_done = t0, done
        window_t, window_done = t0, done  # the current minimum-rate window
        step = max(entry.size // 20, 1)  # ~5 %
        with open(part, mode) as f:
            for piece in _arriving(resp, chunk_bytes):
                f.write(piece)
                f.flush()  # into the OS now: a killed job keeps every byte received
                done += len(piece)
                if done > entry.size:
                    break  # longer than listed: the size check below rejects it
                now = time.monotonic()
                if done - last_done >= step or now - last_t >= 10.0:
                    progress(done, entry.size, (done - offset) / max(now - t0, 1e-9))
                    last_t, last_done = now, done
                if now - window_t >= rate_window_s:
                    rate = (done - window_done) / (now - window_t)
                    if rate < min_rate:
                        raise _Retry(f"{rate:.0f} bytes/s over {now - window_t:.1f} s, below "
                                     f"the minimum of {min_rate:g} bytes/s")
                    window_t, window_done = now, done
        if done > entry.size:
            part.unlink(missing_ok=True)
            raise ChecksumError(
                f"{entry.url}: the server sent more than the {entry.size} bytes the archive "
                f"lists for '{entry.name}'; nothing was kept. Try again later"
            )
        if done != last_done or done == offset:
            progress(done, entry.size, (done - offset) / max(time.monotonic() - t0, 1e-9))
