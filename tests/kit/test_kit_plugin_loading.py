"""Plugin loading as an engine author meets it: broken plugins are isolated and reported, an engine
built for another contract major is refused with a clear message, entry points load by name."""

import importlib.metadata
from pathlib import Path

import pytest

from proxx_core import ENGINE_CONTRACT_VERSION, hookimpl
from proxx_core.support.plugins import load_engines
from proxx_core.testing import engine_set
from proxx_engine_ffmpeg.engine import FFmpegEngine

pytest_plugins = ["proxx_core.testing.plugin"]

BROKEN_DIST = Path(__file__).parent / "data" / "broken-plugin"


class Good:
    __name__ = "good"

    @hookimpl
    def proxx_register_engines(self, register):
        register(FFmpegEngine())


class RaisesInHook:
    __name__ = "raises_in_hook"

    @hookimpl
    def proxx_register_engines(self, register):
        raise RuntimeError("cannot find my SDK")


class WrongHookArgument:
    __name__ = "wrong_hook_argument"

    @hookimpl
    def proxx_register_engines(self, engines):  # not the hookspec's argument name
        pass


class FutureEngine(FFmpegEngine):
    name = "future"
    contract_version = "2.0"


class RegistersFuture:
    __name__ = "registers_future"

    @hookimpl
    def proxx_register_engines(self, register):
        register(FutureEngine())


def test_a_plugin_that_raises_is_reported_and_the_others_load(proxx_no_entry_points):
    loaded = load_engines([RaisesInHook(), Good()], entry_points=True)
    assert loaded.names == ("ffmpeg",)
    (failure,) = loaded.failures
    assert failure.plugin == "raises_in_hook"
    assert "RuntimeError: cannot find my SDK" in failure.reason


def test_a_plugin_with_a_wrong_hook_signature_is_reported(proxx_no_entry_points):
    loaded = load_engines([WrongHookArgument(), Good()], entry_points=True)
    assert loaded.names == ("ffmpeg",)
    (failure,) = loaded.failures
    assert failure.plugin == "wrong_hook_argument" and "not a valid proxx plugin" in failure.reason


def test_an_engine_for_another_contract_major_is_refused_with_a_clear_message():
    loaded = load_engines([RegistersFuture(), Good()], entry_points=False)
    assert loaded.names == ("ffmpeg",)
    (failure,) = loaded.failures
    assert "written for engine contract 2.0" in failure.reason
    assert f"this Proxx speaks {ENGINE_CONTRACT_VERSION}" in failure.reason
    assert "built for contract 1.x" in failure.reason
    with pytest.raises(AssertionError, match="written for engine contract 2.0"):
        engine_set(FutureEngine())


def test_duplicate_engine_names_are_refused():
    loaded = load_engines([Good(), type("Again", (Good,), {"__name__": "again"})()], entry_points=False)
    assert loaded.names == ("ffmpeg",)
    (failure,) = loaded.failures
    assert "already registered" in failure.reason


def test_a_distribution_whose_module_fails_to_import_is_reported(monkeypatch):
    monkeypatch.syspath_prepend(str(BROKEN_DIST))
    real = importlib.metadata.entry_points

    def entry_points(**kw):
        found = list(real(**kw))
        # (an in-tree build by .ci/isolation.sh leaves egg-info in BROKEN_DIST, which then is a real one)
        if kw.get("group") == "proxx" and not any(ep.name == "broken" for ep in found):
            found.append(importlib.metadata.EntryPoint(name="broken", value="proxx_engine_broken", group="proxx"))
        return found

    monkeypatch.setattr(importlib.metadata, "entry_points", entry_points)
    monkeypatch.setenv("PROXX_PLUGIN_INDEX", "0")  # asked of importlib.metadata, not of the plugin index
    monkeypatch.setenv("PROXX_LOAD_PLUGINS", "broken,ffmpeg")
    loaded = load_engines()
    assert loaded.names == ("ffmpeg",)
    (failure,) = loaded.failures
    assert failure.plugin == "broken"
    assert "import failed: RuntimeError: proxx-engine-broken: libbroken.so.1 not found" in failure.reason


def test_the_example_engine_loads_from_its_entry_point(monkeypatch):
    pytest.importorskip("proxx_engine_imageseq", reason="install ./examples/proxx-engine-imageseq")
    monkeypatch.setenv("PROXX_LOAD_PLUGINS", "imageseq")
    loaded = load_engines()
    assert loaded.names == ("imageseq",) and not loaded.failures
    assert loaded.loaded["imageseq"].distribution == "proxx-engine-imageseq 1.1.0"
    assert loaded.loaded["imageseq"].plugin == "imageseq"
