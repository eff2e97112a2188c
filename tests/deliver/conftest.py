"""Delivery tests: sidecars read back with OpenTimelineIO and checked with the ASC's ascmhl tool."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def ascmhl() -> Path:
    """The directory holding the ``ascmhl`` and ``ascmhl-debug`` tools, in their own environment:
    PROXX_ASCMHL, else ascmhl on PATH, else the repository's .venv-ascmhl, which this fixture builds
    (pinned by constraints-ascmhl.txt) the first time, so the README's test command runs these tests
    on a fresh machine too (ascmhl pins a Click that proxx-fleet's Celery refuses: it cannot share
    the test venv; see docs/delivery.md)."""
    local = ROOT / ".venv-ascmhl" / "bin" / "ascmhl"
    exe = os.environ.get("PROXX_ASCMHL") or shutil.which("ascmhl")
    if not exe and not local.is_file():
        venv = ROOT / ".venv-ascmhl"
        built = subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], capture_output=True, text=True)
        if built.returncode == 0:
            built = subprocess.run(
                [str(venv / "bin" / "pip"), "install", "-q", "-c", str(ROOT / "constraints-ascmhl.txt"), "ascmhl"],
                capture_output=True,
                text=True,
            )
        if built.returncode != 0:
            pytest.fail(f"could not build .venv-ascmhl for the ASC MHL tool: {built.stderr[-1500:]}")
    exe = exe or str(local)
    if not os.path.isfile(exe):
        pytest.fail(f"the ASC MHL tool is not at {exe}")
    return Path(exe).parent


@pytest.fixture
def mhl_env(ascmhl) -> dict[str, str]:
    return {"PROXX_ASCMHL": str(ascmhl / "ascmhl")}
