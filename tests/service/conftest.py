"""Fixtures for service tests: real uvicorn servers on loopback (a subprocess, so it can be killed with -9, or a
thread for the HTTP layer alone), a local file server for URL inputs, and a short real speech clip."""

from __future__ import annotations

import http.server
import threading
from pathlib import Path

import pytest
from svc_helpers import REPO, ServerProcess

SPEECH_CANDIDATES = [
    REPO / "tests" / "data" / "speech_short.wav",
    Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav"),
]


@pytest.fixture(scope="session")
def speech_wav() -> Path:
    """A short (about 3 s) real English speech recording."""
    for p in SPEECH_CANDIDATES:
        if p.is_file():
            return p
    ravdess = REPO.parent / "shared" / "datasets" / "ravdess_speech" / "audio"
    found = sorted(ravdess.glob("Actor_01/*")) if ravdess.is_dir() else []
    if found:
        return found[0]
    pytest.skip("no short speech clip: add tests/data/speech_short.wav or install pocketsphinx-testdata")


@pytest.fixture(scope="session")
def service(tmp_path_factory) -> ServerProcess:
    """One real service (no API key, private URLs allowed for the local file server) shared by the session."""
    srv = ServerProcess(tmp_path_factory.mktemp("svc")).start()
    yield srv
    srv.stop()


@pytest.fixture(scope="session")
def http_only(tmp_path_factory):
    """The HTTP layer alone (no workers: jobs stay QUEUED), strict URL policy and a 4 kB file limit."""
    from emolens.service.config import ServiceConfig
    from emolens.service.embedded import EmbeddedService

    cfg = ServiceConfig(data_dir=tmp_path_factory.mktemp("httponly"), max_file_bytes=4096, idle_timeout_s=1.0)
    svc = EmbeddedService(cfg, start_workers=False).start()
    yield svc
    svc.stop()


class _Handler(http.server.SimpleHTTPRequestHandler):
    received: list[dict] = []

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        if self.path.startswith("/redirect-loop"):
            self.send_response(302)
            self.send_header("Location", "/redirect-loop")
            self.end_headers()
            return
        if self.path.startswith("/to/"):
            self.send_response(302)
            self.send_header("Location", "/" + self.path[len("/to/"):])
            self.end_headers()
            return
        super().do_GET()

    def do_POST(self) -> None:
        import json

        n = int(self.headers.get("content-length", 0))
        _Handler.received.append({"path": self.path, "body": json.loads(self.rfile.read(n) or b"null")})
        self.send_response(200)
        self.end_headers()


@pytest.fixture(scope="session")
def file_server(tmp_path_factory, speech_wav):
    """A loopback HTTP server over a folder holding speech.wav and hello.txt; POSTs are recorded in .received."""
    root = tmp_path_factory.mktemp("www")
    (root / "speech.wav").write_bytes(speech_wav.read_bytes())
    (root / "hello.txt").write_text("I am thrilled with how this turned out. Thank you all!", encoding="utf-8")
    handler = lambda *a, **k: _Handler(*a, directory=str(root), **k)  # noqa: E731
    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.received = _Handler.received
    yield httpd
    httpd.shutdown()

