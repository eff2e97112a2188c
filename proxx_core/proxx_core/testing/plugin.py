"""Optional pytest plugin for engine test suites. Opt in (never auto-loaded)::

    pytest_plugins = ["proxx_core.testing.plugin"]

It adds a report header naming proxx-core and the engine contract version, and two fixtures:
``proxx_no_entry_points`` (no installed plugin leaks into a test: ``PROXX_LOAD_PLUGINS=""``) and
``proxx_engine_set`` (``proxx_engine_set(engine, ...)`` -> an EngineSet loaded through the core).
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from ..contract.engine import ENGINE_CONTRACT_VERSION
from ..pipeline.results import proxx_version
from ..support.plugins import EngineSet
from .support import engine_set


def pytest_report_header(config: pytest.Config) -> str:
    return f"proxx-core {proxx_version()}, engine contract {ENGINE_CONTRACT_VERSION}"


@pytest.fixture
def proxx_no_entry_points(monkeypatch: pytest.MonkeyPatch) -> None:
    """Make load_engines() see no installed entry points for the duration of the test."""
    monkeypatch.setenv("PROXX_LOAD_PLUGINS", "")


@pytest.fixture
def proxx_engine_set() -> Callable[..., EngineSet]:
    """Factory: load the given engine instances through the core's plugin manager."""
    return engine_set
