"""Downloads from a fake InvenioRDM archive on 127.0.0.1: listing, resume, checksums, failures.

The server is started and stopped by the `archive` fixture. It serves a record listing
and file contents with Range support, and can misbehave on chosen requests (cut the
connection, stall, drip, hold, answer short, answer 5xx, ignore Range, serve corrupt
bytes, redirect in a loop, publish bad checksums).
Expected checksums come from hashlib on the fixture bytes, not from the code under test.
"""

import hashlib
import json
import logging
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from archive_server import RECORD, md5, serve

from gdynet.data import download as dl

FAST = {"timeout": (1.0, 0.3), "backoff_s": 0.01, "chunk_bytes": 16_384}


@pytest.fixture
def archive():
    with serve() as state:
        rng = np.random.default_rng(0)
        state.add("traj.npz", rng.bytes(300_000))
        state.add("small.npz", rng.bytes(1_000))
        yield state


def entry(archive, name="traj.npz"):
    return dl.fetch_listing(archive.url, RECORD, timeout=(1.0, 1.0))[name]


def closed_port():
    """A port on 127.0.0.1 where nothing listens (bound, then released)."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ---- normal operation -------------------------------------------------------------------

def test_listing_and_normal_download_verify_against_published_checksum(archive, tmp_path):
    listing = dl.fetch_listing(archive.url, RECORD, timeout=(1.0, 1.0))
    data = archive.files["traj.npz"]
    assert set(listing) == {"traj.npz", "small.npz"}
    e = listing["traj.npz"]
    assert (e.size, e.checksum) == (len(data), md5(data))
    assert e.url == f"{archive.url}/api/records/{RECORD}/files/traj.npz/content"

    calls = []
    out = dl.download(e, tmp_path / "traj.npz", progress=lambda *a: calls.append(a), **FAST)
    assert out.read_bytes() == data
    assert not (tmp_path / "traj.npz.part").exists()
    assert archive.requests == [("traj.npz", None)]
    done = [c[0] for c in calls]
    assert done == sorted(done) and done[-1] == len(data) and calls[-1][1] == len(data)
    assert len(calls) <= 21  # about every 5 %, not every chunk


def test_progress_is_logged_with_bytes_and_rate(archive, tmp_path, caplog):
    with caplog.at_level(logging.INFO, logger="gdynet"):
        dl.download(entry(archive), tmp_path / "traj.npz", **FAST)
    assert re.search(r"traj\.npz: 0\.3 / 0\.3 MB \(100 %\) at [\d.]+ MB/s", caplog.text)


def test_verified_file_at_dest_is_not_downloaded_again(archive, tmp_path):
    dest = tmp_path / "traj.npz"
    dest.write_bytes(archive.files["traj.npz"])
    dl.download(entry(archive), dest, **FAST)
    assert archive.requests == []


def test_relative_content_links_resolve_against_the_listing_url():
    data = {"entries": [{"key": "a.npz", "size": 3, "checksum": "md5:" + "0" * 32,
                         "links": {"content": "/api/records/r/files/a.npz/content"}}]}
    e = dl.parse_listing(data, "https://example.org/api/records/r/files")["a.npz"]
    assert e.url == "https://example.org/api/records/r/files/a.npz/content"


@pytest.mark.parametrize("data, words", [
    ({"hits": []}, "no 'entries' list"),
    ({"entries": [{"size": 3}]}, "entry 0"),
    ({"entries": [{"key": "a.npz", "size": 3}]}, "file 'a.npz' has no checksum"),
    ({"entries": [{"key": "a.npz", "size": 3, "checksum": "crc:zz"}]},
     "file 'a.npz': checksum 'crc:zz' is not of the form"),
    ({"entries": [{"key": "a.npz", "size": 3, "checksum": "md5:abc"}]},
     "'md5:abc' has 3 hex digits, but md5 digests have 32"),
])
def test_malformed_listing_is_rejected_with_its_source(data, words):
    with pytest.raises(dl.DownloadError, match=words) as err:
        dl.parse_listing(data, "https://example.org/listing")
    assert "https://example.org/listing" in str(err.value)


def test_null_checksum_names_the_file_and_the_listing(archive, tmp_path):
    archive.checksums["traj.npz"] = None  # "checksum": null, as a record still processing shows
    listing_url = f"{archive.url}/api/records/{RECORD}/files"
    with pytest.raises(dl.DownloadError) as err:
        dl.fetch_listing(archive.url, RECORD, timeout=(1.0, 1.0))
    assert str(err.value) == (
        f"{listing_url}: file 'traj.npz' has no checksum (checksum: null), so it cannot be "
        "verified; the archive may still be processing the record: try again later")

    saved = tmp_path / "files.json"  # a listing saved by hand: the message names that file
    saved.write_text(json.dumps(archive.listing()))
    with pytest.raises(dl.DownloadError, match="file 'traj.npz' has no checksum") as err:
        dl.load_listing(saved)
    assert str(err.value).startswith(f"{saved}: ")


@pytest.mark.parametrize("checksum", ["shake_128:" + "ab" * 16, "shake_256:" + "ab" * 32,
                                      "foo:abcd", "SHA3_999:abcd"])
def test_unsupported_checksum_algorithm_lists_the_supported_ones(archive, checksum):
    archive.checksums["traj.npz"] = checksum
    with pytest.raises(dl.DownloadError) as err:
        dl.fetch_listing(archive.url, RECORD, timeout=(1.0, 1.0))
    msg = str(err.value)
    algorithm = checksum.partition(":")[0].lower()
    assert msg.startswith(f"{archive.url}/api/records/{RECORD}/files: file 'traj.npz': checksum "
                          f"algorithm '{algorithm}' of {checksum!r} is not supported; supported are ")
    for name in ("md5", "sha1", "sha256", "sha512", "blake2b"):  # hashlib's guaranteed, fixed length
        assert name in msg
    assert ("digest length is not part of the checksum" in msg) == algorithm.startswith("shake_")


@pytest.mark.parametrize("algorithm", ["sha256", "sha3_256", "blake2b"])
def test_other_fixed_length_algorithms_verify(archive, tmp_path, algorithm):
    data = archive.files["small.npz"]
    archive.checksums["small.npz"] = f"{algorithm}:{hashlib.new(algorithm, data).hexdigest()}"
    out = dl.download(entry(archive, "small.npz"), tmp_path / "small.npz", **FAST)
    assert out.read_bytes() == data


def test_redirect_loop_fails_at_once_naming_the_url(archive, tmp_path):
    e = entry(archive)
    archive.redirect_loop = True
    with pytest.raises(dl.DownloadError) as err:
        dl.download(e, tmp_path / "traj.npz", retries=5, **FAST)
    msg = str(err.value)
    assert msg.startswith(f"{e.url}: the server redirects in a loop (Exceeded 30 redirects; the last request went to {e.url})")
    assert "not retried" in msg
    assert len(archive.requests) == 31  # requests' limit of 30 redirects, once: no retry
    with pytest.raises(dl.DownloadError, match="redirects in a loop") as err:
        dl.fetch_listing(archive.url, RECORD, timeout=(1.0, 1.0))
    assert str(err.value).startswith(f"{archive.url}/api/records/{RECORD}/files: ")
    assert list(tmp_path.iterdir()) == []


def test_unknown_file_name_lists_the_record_files(archive):
    listing = dl.fetch_listing(archive.url, RECORD, timeout=(1.0, 1.0))
    with pytest.raises(ValueError, match=r"no file 'peo.npz'.*'small.npz', 'traj.npz'"):
        dl.entry_for(listing, "peo.npz")


# ---- interrupted transfers ---------------------------------------------------------------

def test_connection_cut_mid_file_is_resumed_with_range(archive, tmp_path):
    archive.actions = [{"cut": 100_000}]
    data = archive.files["traj.npz"]
    out = dl.download(entry(archive), tmp_path / "traj.npz", **FAST)
    assert out.read_bytes() == data
    assert len(archive.requests) == 2 and archive.requests[0][1] is None
    start = int(re.fullmatch(r"bytes=(\d+)-", archive.requests[1][1]).group(1))
    assert 0 < start <= 100_000  # resumed from what arrived, not from byte 0


def test_well_formed_but_short_answer_is_detected_and_resumed(archive, tmp_path):
    archive.actions = [{"short": 50_000}]
    out = dl.download(entry(archive), tmp_path / "traj.npz", **FAST)
    assert out.read_bytes() == archive.files["traj.npz"]
    assert [r for _, r in archive.requests] == [None, "bytes=50000-"]


def test_truncated_every_time_fails_cleanly_then_a_later_run_resumes(archive, tmp_path):
    data = archive.files["traj.npz"]
    archive.actions = [{"cut": 40_000}] * 3
    dest = tmp_path / "traj.npz"
    with pytest.raises(dl.DownloadError, match="after 3 attempts") as err:
        dl.download(entry(archive), dest, retries=2, **FAST)
    assert "resumes from there" in str(err.value)
    assert not dest.exists()
    part = tmp_path / "traj.npz.part"
    kept = part.read_bytes()
    assert 0 < len(kept) < len(data) and data.startswith(kept)
    assert len(archive.requests) == 3

    dl.download(entry(archive), dest, **FAST)  # e.g. the job rerun later
    assert dest.read_bytes() == data and not part.exists()
    assert archive.requests[-1][1] == f"bytes={len(kept)}-"


@pytest.mark.parametrize("action", [{"stall": 1.0}, {"stall_mid": 1.0}])
def test_stalled_server_times_out_then_retry_succeeds(archive, tmp_path, action):
    archive.actions = [action]
    t0 = time.monotonic()
    out = dl.download(entry(archive), tmp_path / "traj.npz", **FAST)
    assert time.monotonic() - t0 < 0.95  # gave up on the stall, did not wait it out
    assert out.read_bytes() == archive.files["traj.npz"]
    assert len(archive.requests) == 2
    if "stall_mid" in action:
        assert archive.requests[1][1].startswith("bytes=")


def test_dripping_server_falls_below_the_minimum_rate_and_is_resumed(archive, tmp_path, caplog):
    # one byte every 10 ms (100 bytes/s): each byte arrives well within the 0.3 s read
    # timeout, so only the rate check can end the attempt
    archive.actions = [{"drip": 0.01, "for": 20.0}]
    data = archive.files["traj.npz"]
    with caplog.at_level(logging.WARNING, logger="gdynet"):
        out = dl.download(entry(archive), tmp_path / "traj.npz", min_rate=5_000, rate_window_s=0.3,
                          **FAST)
    assert out.read_bytes() == data
    assert re.search(r"bytes/s over 0\.\d s, below the minimum of 5000 bytes/s", caplog.text)
    # the dripped bytes were kept and resumed from
    assert len(archive.requests) == 2 and archive.requests[0][1] is None
    start = int(re.fullmatch(r"bytes=(\d+)-", archive.requests[1][1]).group(1))
    assert 0 < start < 1_000
    deadline = time.monotonic() + 5
    while not archive.gave_up and time.monotonic() < deadline:  # the server notices the hang-up
        time.sleep(0.01)
    assert archive.gave_up == ["traj.npz"]  # the client hung up; the drip did not just end


def test_killed_download_keeps_the_bytes_received_and_a_rerun_resumes(archive, tmp_path):
    """A child process downloads; the server sends 100,000 bytes and then waits. The child is
    killed (SIGKILL: no cleanup runs) and the .part must hold exactly those bytes."""
    data, e, dest = archive.files["traj.npz"], entry(archive), tmp_path / "traj.npz"
    part = tmp_path / "traj.npz.part"
    archive.actions = [{"hold": 100_000}]
    package_root = Path(dl.__file__).parents[2]  # the folder that holds gdynet
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(package_root), os.environ.get("PYTHONPATH", "")])}
    child = subprocess.Popen([sys.executable, "-c", (
        "from gdynet.data import download as dl\n"
        f"dl.download(dl.FileEntry({e.name!r}, {e.size}, {e.checksum!r}, {e.url!r}), {str(dest)!r})\n"
    )], env=env)
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and child.poll() is None:
            if part.exists() and part.stat().st_size >= 100_000:
                break
            time.sleep(0.02)
        size = part.stat().st_size if part.exists() else 0
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
    assert size == 100_000, f".part holds {size} of the 100000 bytes the server sent"
    assert part.read_bytes() == data[:100_000] and not dest.exists()

    out = dl.download(e, dest, **FAST)  # the rerun
    assert out.read_bytes() == data and not part.exists()
    assert archive.requests[-1] == ("traj.npz", "bytes=100000-")


def test_too_little_free_disk_fails_before_the_first_request(archive, tmp_path, monkeypatch):
    from gdynet import io
    e = entry(archive)
    (tmp_path / "traj.npz.part").write_bytes(archive.files["traj.npz"][:100_000])
    real = io.shutil.disk_usage
    monkeypatch.setattr(io.shutil, "disk_usage", lambda p: real(p)._replace(free=150_000))
    with pytest.raises(io.DiskFullError) as err:
        dl.download(e, tmp_path / "traj.npz", **FAST)
    assert (err.value.needed, err.value.free) == (200_000, 150_000)  # the rest of the file
    assert "the rest of 'traj.npz'" in str(err.value) and "free at least 50 kB" in str(err.value)
    assert archive.requests == []
    assert (tmp_path / "traj.npz.part").stat().st_size == 100_000  # kept for the rerun


def test_server_errors_are_retried(archive, tmp_path):
    archive.actions = [{"status": 503}, {"status": 500}]
    out = dl.download(entry(archive), tmp_path / "traj.npz", **FAST)
    assert out.read_bytes() == archive.files["traj.npz"]
    assert len(archive.requests) == 3


def test_server_that_ignores_range_restarts_from_zero(archive, tmp_path):
    data = archive.files["traj.npz"]
    (tmp_path / "traj.npz.part").write_bytes(data[:70_000])
    archive.ignore_range = True
    out = dl.download(entry(archive), tmp_path / "traj.npz", **FAST)
    assert out.read_bytes() == data
    assert archive.requests == [("traj.npz", "bytes=70000-")]


@pytest.mark.parametrize("stale", ["full_length_garbage", "longer_than_file"])
def test_bad_part_from_an_earlier_run_is_replaced(archive, tmp_path, stale):
    data = archive.files["traj.npz"]
    n = len(data) if stale == "full_length_garbage" else len(data) + 10
    (tmp_path / "traj.npz.part").write_bytes(b"\0" * n)
    out = dl.download(entry(archive), tmp_path / "traj.npz", **FAST)
    assert out.read_bytes() == data
    assert archive.requests == [("traj.npz", None)]  # fresh download, no Range


# ---- failures that must not leave files --------------------------------------------------

def test_server_file_shorter_than_listed_fails_cleanly(archive, tmp_path):
    good = archive.files["traj.npz"]
    archive.add("traj.npz", good, served=good[:200_000])  # listing says 300 kB, server has 200
    with pytest.raises(dl.DownloadError, match="after 3 attempts"):
        dl.download(entry(archive), tmp_path / "traj.npz", retries=2, **FAST)
    assert not (tmp_path / "traj.npz").exists()
    # short body -> resume at its end -> 416 (not a prefix) -> start over
    assert [r for _, r in archive.requests] == [None, "bytes=200000-", None]


def test_corrupt_file_raises_checksum_error_and_leaves_nothing(archive, tmp_path):
    good = archive.files["traj.npz"]
    bad = bytearray(good)
    bad[123_456] ^= 0xFF
    archive.add("traj.npz", good, served=bytes(bad))
    with pytest.raises(dl.ChecksumError) as err:
        dl.download(entry(archive), tmp_path / "traj.npz", **FAST)
    msg = str(err.value)
    assert md5(good) in msg and md5(bytes(bad)) in msg  # expected and got
    assert list(tmp_path.iterdir()) == []  # no dest, no .part


def test_404_fails_at_once_naming_the_url(archive, tmp_path):
    e = entry(archive)
    missing = dl.FileEntry("gone.npz", e.size, e.checksum, e.url.replace("traj.npz", "gone.npz"))
    t0 = time.monotonic()
    with pytest.raises(dl.DownloadError, match="HTTP 404") as err:
        dl.download(missing, tmp_path / "gone.npz", retries=5, timeout=(1.0, 1.0), backoff_s=1.0)
    assert time.monotonic() - t0 < 0.9  # no backoff sleep: not retried
    assert missing.url in str(err.value)
    assert archive.requests == [("gone.npz", None)]  # asked once, not retried
    assert list(tmp_path.iterdir()) == []


def test_unknown_record_names_the_record(archive):
    with pytest.raises(dl.DownloadError, match="no record 'nope'"):
        dl.fetch_listing(archive.url, "nope", timeout=(1.0, 1.0))


def test_unreachable_archive_fails_fast_with_the_alternatives():
    url = f"http://127.0.0.1:{closed_port()}"
    t0 = time.monotonic()
    with pytest.raises(dl.ArchiveUnreachable) as err:
        dl.fetch_listing(url, RECORD, timeout=(2.0, 2.0))
    assert time.monotonic() - t0 < 1.5
    msg = str(err.value)
    assert url in msg and dl.OFFLINE_HELP in msg
    for alternative in ("snakemake -c all", "resources/<system>/download/",
                        "config/own-data.yaml", "checksum"):
        assert alternative in msg


def test_download_from_unreachable_archive_gives_up_with_the_alternatives(tmp_path):
    e = dl.FileEntry("a.npz", 10, "md5:" + "0" * 32, f"http://127.0.0.1:{closed_port()}/a.npz")
    with pytest.raises(dl.ArchiveUnreachable, match="after 3 attempts") as err:
        dl.download(e, tmp_path / "a.npz", retries=2, timeout=(1.0, 1.0), backoff_s=0.01)
    assert dl.OFFLINE_HELP in str(err.value)
    assert list(tmp_path.iterdir()) == []


# ---- files placed by hand ----------------------------------------------------------------

def test_file_placed_by_hand_is_verified_and_installed(archive, tmp_path):
    data = archive.files["small.npz"]
    manual = tmp_path / "download" / "small.npz"
    manual.parent.mkdir()
    manual.write_bytes(data)
    dest = tmp_path / "verified" / "small.npz"
    dl.install_verified(manual, entry(archive, "small.npz"), dest)
    assert dest.read_bytes() == data and manual.exists()
    assert archive.requests == []
    assert [p.name for p in dest.parent.iterdir()] == ["small.npz"]  # no temporary left


def test_editing_a_file_placed_by_hand_later_cannot_change_the_verified_copy(archive, tmp_path):
    data = archive.files["small.npz"]
    manual = tmp_path / "download" / "small.npz"
    manual.parent.mkdir()
    manual.write_bytes(data)
    dest = tmp_path / "verified" / "small.npz"
    dl.install_verified(manual, entry(archive, "small.npz"), dest)
    with open(manual, "r+b") as f:  # edit in place: the same inode, as editors and tools may
        f.write(b"EDITED")
    assert dest.read_bytes() == data
    assert manual.stat().st_nlink == 1 and dest.stat().st_ino != manual.stat().st_ino


@pytest.mark.parametrize("content, words", [
    (b"x" * 999, "size 999 bytes, but the archive lists 1000"),
    (b"x" * 1000, "checksum mismatch"),
])
def test_bad_file_placed_by_hand_names_file_and_checksums(archive, tmp_path, content, words):
    e = entry(archive, "small.npz")
    manual = tmp_path / "small.npz"
    manual.write_bytes(content)
    dest = tmp_path / "verified" / "small.npz"
    with pytest.raises(dl.ChecksumError, match=re.escape(words)) as err:
        dl.install_verified(manual, e, dest)
    msg = str(err.value)
    assert str(manual) in msg and "download it again" in msg
    if words == "checksum mismatch":
        assert md5(archive.files["small.npz"]) in msg and md5(content) in msg
    assert not dest.exists()


def test_saved_listing_works_offline(archive, tmp_path):
    saved = tmp_path / "files.json"
    saved.write_text(json.dumps(archive.listing()))
    listing = dl.load_listing(saved)
    assert listing["traj.npz"].checksum == md5(archive.files["traj.npz"])
