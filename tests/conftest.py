"""Shared fixtures: real tiny media made with the pinned ffmpeg, job files, and a CLI runner."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from proxx_engine_ffmpeg.testmedia import make_source
from proxxtest import run_cli


@pytest.fixture
def media(tmp_path):
    """make(name, **kw) -> absolute Path of a real media file in tmp/media."""
    root = tmp_path / "media"
    root.mkdir()

    def make(name: str, **kw) -> Path:
        kw.setdefault("size", "96x54")
        kw.setdefault("frames", 6)
        return make_source(root / name, **kw)

    return make


@pytest.fixture
def outdir(tmp_path):
    d = tmp_path / "out"
    d.mkdir()
    return d


@pytest.fixture
def write_job(tmp_path):
    counter = iter(range(1, 10_000))

    def write(doc, name: str | None = None) -> Path:
        path = tmp_path / (name or f"job{next(counter)}.json")
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        return path

    return write


@pytest.fixture
def proxx():
    return run_cli


@pytest.fixture
def webhook():
    """A real HTTP server on loopback, as a JSON webhook (proxx-notify); yields (Apprise URL, list of
    received JSON payloads)."""
    received: list[dict] = []

    class Hook(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            data = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append(json.loads(data))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"json://127.0.0.1:{server.server_address[1]}/hook", received
    server.shutdown()
    server.server_close()
