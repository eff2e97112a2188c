"""Delivery tests: sidecars read back with OpenTimelineIO and checked with the ASC's ascmhl tool."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest


@pytest.fixture
def ascmhl() -> Path:
    """The directory holding the ``ascmhl`` and ``ascmhl-debug`` tools, in their own environment:
    PROXX_ASCMHL, else the repository's .venv-ascmhl (constraints-ascmhl.txt), else PATH. Missing:
    the test is skipped locally and fails in CI."""
    local = Path(__file__).resolve().parents[2] / ".venv-ascmhl" / "bin" / "ascmhl"
    exe = os.environ.get("PROXX_ASCMHL") or (str(local) if local.is_file() else None) or shutil.which("ascmhl")
    if not exe or not os.path.isfile(exe):
        if os.environ.get("CI"):
            pytest.fail("ascmhl is not installed: CI must install it in its own venv and set PROXX_ASCMHL")
        pytest.skip("ascmhl not found (set PROXX_ASCMHL; see docs/delivery.md)")
    return Path(exe).parent


@pytest.fixture
def mhl_env(ascmhl) -> dict[str, str]:
    return {"PROXX_ASCMHL": str(ascmhl / "ascmhl")}
