"""Helpers for the status-page tests: a dashboard subprocess on a free loopback port, watch
processes, and a headless Chromium driven by selenium (Debian's chromium + chromium-driver)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "watch"))
# the watch tests' own helpers: a watch subprocess, dropping a job safely, waiting for a condition
from watchhelp import drop, start_watch, wait_for  # noqa: E402,F401

PROXX = str(Path(sys.executable).with_name("proxx"))
CHROMEDRIVER = "/usr/bin/chromedriver"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url: str, headers: dict | None = None, timeout: float = 5) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def start_dashboard(folder: Path, *args: str, env: dict | None = None) -> tuple[subprocess.Popen, str]:
    """`proxx dashboard folder` on a free port; returns the process and its base URL once it answers."""
    port = free_port()
    proc = subprocess.Popen(
        [PROXX, "dashboard", str(folder), "--port", str(port), *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    base = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"dashboard exited {proc.returncode}: {proc.stderr.read()}")
        try:
            get(base + "metrics", timeout=1)
            return proc, base
        except OSError:
            time.sleep(0.1)
    proc.kill()
    raise AssertionError("dashboard did not answer within 20 s")


def chrome(tmp_path: Path):
    """A headless Chromium with a fresh profile, console logging on."""
    if not (shutil.which("chromium") and os.path.exists(CHROMEDRIVER)):
        pytest.fail(
            "chromium and chromium-driver are needed (apt-get install chromium chromium-driver; "
            ".ci/system-packages installs them)"
        )
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "chromium"
    for arg in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
        "--window-size=1400,1000",
        f"--user-data-dir={tmp_path / 'chrome-profile'}",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def keep_screenshot(driver, tmp_path: Path, name: str) -> Path:
    """Save a screenshot under the test's tmp dir, and copy it to $PROXX_TEST_ARTIFACTS if set."""
    path = tmp_path / "screenshots" / name
    path.parent.mkdir(exist_ok=True)
    assert driver.save_screenshot(str(path)), f"could not save {path}"
    artifacts = os.environ.get("PROXX_TEST_ARTIFACTS")
    if artifacts:
        os.makedirs(artifacts, exist_ok=True)
        shutil.copy(path, os.path.join(artifacts, name))
    return path


@contextlib.contextmanager
def serve_in_thread(app):
    """Serve a Starlette app with uvicorn on a free loopback port in this process; yields its base URL."""
    import uvicorn

    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started and time.monotonic() < deadline:
            time.sleep(0.02)
        assert server.started, "uvicorn did not start"
        yield f"http://127.0.0.1:{server.servers[0].sockets[0].getsockname()[1]}/"
    finally:
        server.should_exit = True
        thread.join(timeout=5)
