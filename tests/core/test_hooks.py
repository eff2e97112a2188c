"""The pluggy contract: prefixed hooks called through pluggy's caller, isolated per plugin, and
collected in an order that does not depend on how plugins were registered."""

import pytest

from proxx_core import Check, hookimpl
from proxx_core.support.plugins import load_engines
from proxx_engine_ffmpeg.engine import FFmpegEngine


class OldName:
    """A plugin written against contract 1.0 (hook without the proxx_ prefix)."""

    __name__ = "old_name"

    @hookimpl
    def register_engines(self, register):
        register(FFmpegEngine())


class NoArguments:
    """A plugin whose checks hook names none of the arguments: pluggy passes only what it names."""

    __name__ = "no_arguments"

    @hookimpl
    def proxx_clip_checks(self):
        return [Check(name="site.b", expected=1, actual=1, ok=True)]


class Checks:
    __name__ = "checks"

    @hookimpl
    def proxx_clip_checks(self, plan, output_info):
        return [
            Check(
                name="site.a",
                expected="readable",
                actual="missing" if output_info is None else "ok",
                ok=output_info is not None,
            )
        ]


class Raises:
    __name__ = "raises"

    @hookimpl
    def proxx_clip_checks(self, plan):
        raise RuntimeError("rule file missing")

    @hookimpl
    def proxx_job_finished(self, result):
        raise OSError("share offline")


class Sink:
    __name__ = "sink"

    def __init__(self):
        self.seen = []

    @hookimpl
    def proxx_job_finished(self, result):
        self.seen.append(result)


def test_the_1_0_hook_name_still_registers_engines():
    with pytest.warns(DeprecationWarning, match="rename it proxx_register_engines"):
        loaded = load_engines([OldName()], entry_points=False)
    assert loaded.names == ("ffmpeg",) and not loaded.failures


def test_checks_are_collected_from_every_plugin_sorted_and_isolated():
    orders = [[Checks(), NoArguments(), Raises()], [Raises(), NoArguments(), Checks()]]
    results = [load_engines(plugins, entry_points=False).clip_checks(plan=None, output_info=None) for plugins in orders]
    assert results[0] == results[1]
    names = [c.name for c in results[0]]
    assert names == ["plugin:raises", "site.a", "site.b"]
    by_name = {c.name: c for c in results[0]}
    assert not by_name["plugin:raises"].ok and "RuntimeError: rule file missing" in by_name["plugin:raises"].actual
    assert not by_name["site.a"].ok and by_name["site.b"].ok


def test_a_raising_result_sink_never_stops_the_others():
    sink = Sink()
    engines = load_engines([Raises(), sink], entry_points=False)
    errors = engines.job_finished(result="the result")
    assert sink.seen == ["the result"]
    assert errors == ("plugin 'raises': proxx_job_finished raised OSError: share offline",)


def test_a_manager_without_observers_adds_nothing():
    engines = load_engines([], entry_points=False)
    assert engines.clip_checks(plan=None, output_info=None) == ()
    assert engines.job_finished(result=None) == ()


class BrokenDetection(FFmpegEngine):
    name = "broken"

    def capabilities(self):
        raise ModuleNotFoundError("No module named 'imageio_ffmpeg'")

    def identity(self):
        raise ModuleNotFoundError("No module named 'imageio_ffmpeg'")


class RegistersBroken:
    __name__ = "registers_broken"

    @hookimpl
    def proxx_register_engines(self, register):
        register(BrokenDetection())


def test_an_engine_whose_detection_raises_is_reported_unavailable_not_fatal():
    engines = load_engines([RegistersBroken()], entry_points=False)
    caps = engines.capabilities("broken")
    assert not caps.available and "No module named 'imageio_ffmpeg'" in caps.unavailable_reason
    ident = engines.identity("broken")
    assert ident.name == "broken" and "ModuleNotFoundError" in ident.build
