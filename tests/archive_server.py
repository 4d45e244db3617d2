"""A fake InvenioRDM archive on 127.0.0.1 for the download tests: a record listing and
file contents with Range support, misbehaving on chosen requests (cut the connection,
stall, answer short, answer 5xx, ignore Range, serve corrupt bytes)."""

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
        self.requests = []  # (name, Range header or None) for every content request
        self.lock = threading.Lock()
        self.url = ""

    def add(self, name, data, served=None):
        self.files[name] = data
        self.served[name] = data if served is None else served

    def listing(self):
        return {"entries": [
            {"key": name, "size": len(data), "checksum": md5(data),
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
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
