"""A fake InvenioRDM archive on 127.0.0.1 for the download tests: a record listing and
file contents with Range support, misbehaving on chosen requests (cut the connection,
stall, drip, hold after some bytes, answer short, answer 5xx, ignore Range, serve corrupt
bytes), or on all of them (redirect in a loop, publish a chosen checksum)."""

import contextlib
import hashlib
import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RECORD = "test-rec"


def md5(data: bytes) -> str:
    return "md5:" + hashlib.md5(data).hexdigest()


class Archive:
    """State of the fake archive: its files, a request log and planned misbehaviour."""

    def __init__(self):
        self.files = {}  # name -> bytes the listing describes
        self.served = {}  # name -> bytes actually sent (differs for a corrupt file)
        self.actions = []  # one per content request, consumed in order; then normal
        self.ignore_range = False
        self.redirect_loop = False  # every request answers 302 to itself
        self.checksums = {}  # name -> checksum to publish instead of the true md5 (may be None)
        self.release = threading.Event()  # ends a "hold"
        self.gave_up = []  # names whose transfer the client abandoned mid-body
        self.requests = []  # (name, Range header or None) for every content request
        self.lock = threading.Lock()
        self.url = ""

    def add(self, name, data, served=None):
        self.files[name] = data
        self.served[name] = data if served is None else served

    def listing(self):
        return {"entries": [
            {"key": name, "size": len(data), "checksum": self.checksums.get(name, md5(data)),
             "links": {"content": f"{self.url}/api/records/{RECORD}/files/{name}/content"}}
            for name, data in self.files.items()
        ]}


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive and Content-Length, like a real server

    def log_message(self, *args):  # keep pytest output clean
        pass

    def do_GET(self):
        try:
            self._get()
        except OSError:  # the client gave up (timeout test): nothing to answer
            self.close_connection = True

    def _send(self, code, body=b"", headers=()):
        self.send_response(code)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _get(self):
        archive: Archive = self.server.archive
        if archive.redirect_loop:  # every request, the listing's too
            with archive.lock:
                archive.requests.append((self.path, None))
            return self._send(302, b"", [("Location", self.path)])
        if self.path == f"/api/records/{RECORD}/files":
            body = json.dumps(archive.listing()).encode()
            return self._send(200, body, [("Content-Type", "application/json")])
        m = re.fullmatch(rf"/api/records/{RECORD}/files/([^/]+)/content", self.path)
        if not m:
            return self._send(404, b"not found")
        name, rng = m.group(1), self.headers.get("Range")
        with archive.lock:
            archive.requests.append((name, rng))
            action = archive.actions.pop(0) if archive.actions else {}
        if name not in archive.served:
            return self._send(404, b"not found")
        data = archive.served[name]

        if "stall" in action:  # no answer for longer than the client's read timeout
            time.sleep(action["stall"])
        if "status" in action:
            return self._send(action["status"], b"server error")

        start = 0
        if rng and not archive.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", rng).group(1))
            if start >= len(data):
                return self._send(416, b"", [("Content-Range", f"bytes */{len(data)}")])
        body = data[start:]
        self.send_response(206 if start else 200)
        if start:
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        if "short" in action:  # a well-formed answer that is simply too short
            body = body[: action["short"]]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if "cut" in action:  # promise the whole body, send part of it, hang up
            self.wfile.write(body[: action["cut"]])
            self.wfile.flush()
            self.close_connection = True
            return
        if "drip" in action:  # one byte every action["drip"] s, for at most action["for"] s
            t_end = time.monotonic() + action["for"]
            try:
                for i in range(len(body)):
                    if time.monotonic() > t_end:
                        break
                    self.wfile.write(body[i:i + 1])
                    self.wfile.flush()
                    time.sleep(action["drip"])
            except OSError:
                archive.gave_up.append(name)
            self.close_connection = True
            return
        if "hold" in action:  # the first action["hold"] bytes, then silence until released
            self.wfile.write(body[: action["hold"]])
            self.wfile.flush()
            archive.release.wait(timeout=30)
            self.close_connection = True
            return
        if "stall_mid" in action:  # half the body, then silence past the read timeout
            half = len(body) // 2
            self.wfile.write(body[:half])
            self.wfile.flush()
            time.sleep(action["stall_mid"])
            body = body[half:]
        self.wfile.write(body)


@contextlib.contextmanager
def serve():
    """Run an empty archive on a free port of 127.0.0.1; yields its state (`.url`, `.add`)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.archive = state = Archive()
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield state
    finally:
        state.release.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
