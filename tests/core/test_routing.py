"""Routing is a pure function of claims: no load order, host or time; ties are errors."""

from __future__ import annotations

import json
import threading
from pathlib import Path

from proxx_core.contract.engine import (
    Capabilities,
    Claim,
    ClipPlan,
    Command,
    Engine,
    EngineIdentity,
    Refusal,
    Verification,
)
from proxx_core.contract.errors import ProxxError
from proxx_core.contract.hookspecs import hookimpl
from proxx_core.contract.media import FrameRate, SourceInfo, VideoInfo
from proxx_core.pipeline.check import check_job_file
from proxx_core.pipeline.routing import NoRoute, Route, route
from proxx_core.pipeline.serialization import to_data
from proxx_core.support.plugins import load_engines
from proxxtest import job_doc


class FakeEngine(Engine):
    """An engine defined in the test suite: claims files by suffix with a fixed specificity."""

    def __init__(self, name: str, suffixes: tuple[str, ...], specificity: int):
        self.name, self.suffixes, self.specificity = name, suffixes, specificity

    def identity(self):
        return EngineIdentity(name=self.name, version="0.1")

    def capabilities(self):
        return Capabilities(available=True, profiles=("offline_prores_proxy_1920x1080",))

    def probe(self, path: Path):
        if path.suffix not in self.suffixes:
            return None
        if path.name.startswith("corrupt"):
            raise ProxxError("corrupt", category="unsupported_source")
        video = VideoInfo(codec="fake", width=1920, height=1080, frame_rate=FrameRate(num=24, den=1), frame_count=10)
        return SourceInfo(container=path.suffix[1:], video=video, probed_by=self.name)

    def claim(self, info, profile):
        return Claim(specificity=self.specificity, reason=f"{self.name} reads {info.container}")

    def plan(self, request):
        return ClipPlan(
            request=request,
            engine=self.name,
            commands=(Command(argv=("/bin/true", request.source), timeout_seconds=5),),
        )

    def execute(self, plan, cancel: threading.Event):
        return ()

    def verify(self, plan):
        return Verification(ok=True, checks=())


def plugin(*engines):
    class Plugin:
        @hookimpl
        def proxx_register_engines(self, register):
            for e in engines:
                register(e)

    p = Plugin()
    p.__name__ = "plugin-" + "-".join(e.name for e in engines)
    return p


def test_route_prefers_specific_claims_regardless_of_order():
    a = {"generic": Claim(specificity=10, reason="g"), "raw": Claim(specificity=100, reason="r")}
    b = dict(reversed(list(a.items())))
    assert route(a) == route(b)
    assert isinstance(route(a), Route) and route(a).engine == "raw"


def test_tie_is_an_error_asking_for_a_pin():
    outcome = route({"x": Claim(specificity=10, reason=""), "y": Claim(specificity=10, reason="")})
    assert isinstance(outcome, NoRoute) and "set /engine" in outcome.message
    pinned = route({"x": Claim(specificity=10, reason=""), "y": Claim(specificity=10, reason="")}, pin="y")
    assert isinstance(pinned, Route) and pinned.engine == "y"


def test_pin_to_refusing_engine_is_refused():
    outcome = route({"x": Refusal(reason="cannot decode foo")}, pin="x")
    assert isinstance(outcome, NoRoute) and "cannot decode foo" in outcome.message


def test_unavailable_refusal_category_propagates():
    outcome = route(
        {
            "resolve": Refusal(reason="Resolve not running", category="engine_unavailable"),
            "ffmpeg": Refusal(reason="cannot decode"),
        }
    )
    assert outcome.category == "engine_unavailable"


def _plan_doc(engines, job_path):
    checked = check_job_file(job_path, engines)
    assert checked.job is not None, checked.problems
    return json.dumps([to_data(c.plan) for c in checked.job.clips] + [to_data(c.route) for c in checked.job.clips])


def test_registration_order_does_not_change_plans(tmp_path, write_job, outdir):
    srcs = []
    for name in ("a.fak", "b.raw", "c.fak"):
        p = tmp_path / name
        p.write_bytes(b"x")
        srcs.append(p)
    job = write_job(job_doc(srcs, outdir))
    generic = lambda: FakeEngine("generic", (".fak", ".raw"), 10)  # noqa: E731
    special = lambda: FakeEngine("special", (".raw",), 100)  # noqa: E731
    one = load_engines(plugins=[plugin(generic()), plugin(special())], entry_points=False)
    two = load_engines(plugins=[plugin(special()), plugin(generic())], entry_points=False)
    three = load_engines(plugins=[plugin(special(), generic())], entry_points=False)
    assert _plan_doc(one, job) == _plan_doc(two, job) == _plan_doc(three, job)
    engines = [c.plan.engine for c in check_job_file(job, one).job.clips]
    assert engines == ["generic", "special", "generic"]


def test_duplicate_engine_names_are_refused_and_reported():
    es = load_engines(
        plugins=[plugin(FakeEngine("dup", (".x",), 1)), plugin(FakeEngine("dup", (".y",), 1))], entry_points=False
    )
    assert es.names == ("dup",)
    assert any("already registered" in f.reason for f in es.failures)


def test_wrong_contract_major_is_refused():
    e = FakeEngine("future", (".x",), 1)
    e.contract_version = "2.0"
    es = load_engines(plugins=[plugin(e)], entry_points=False)
    assert es.names == ()
    assert "contract 2.0" in es.failures[0].reason


def test_broken_plugin_does_not_break_others():
    class Broken:
        __name__ = "broken"

        @hookimpl
        def proxx_register_engines(self, register):
            raise RuntimeError("boom")

    es = load_engines(plugins=[Broken(), plugin(FakeEngine("ok", (".x",), 1))], entry_points=False)
    assert es.names == ("ok",)
    assert "boom" in es.failures[0].reason


def test_job_id_is_derived_from_canonical_spec(proxx, write_job, media, outdir):
    src = media("A001.mov")
    doc = job_doc([src], outdir)
    reordered = dict(reversed(list(doc.items())))
    a, b = proxx("validate", write_job(doc)).json(), proxx("validate", write_job(reordered)).json()
    assert a["job_id"] == b["job_id"] and a["job_id"].startswith("job-")
    doc["job_id"] = "my-job"
    assert proxx("validate", write_job(doc)).json()["job_id"] == "my-job"
