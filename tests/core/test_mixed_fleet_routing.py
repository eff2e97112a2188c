"""Mixed fleets: a specialist that is installed but unusable on this node must make the clip
unroutable here, never let a less specific engine (FFmpeg) quietly make different bytes."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxx_core.contract.avprobe import probe_file
from proxx_core.contract.engine import Capabilities, Claim, ClipPlan, Engine, EngineIdentity, Refusal, Verification
from proxx_core.contract.errors import ProxxError
from proxx_core.contract.hookspecs import hookimpl
from proxx_core.pipeline.check import check_job_file
from proxx_core.pipeline.routing import NoRoute, Route, route
from proxx_core.support.plugins import load_engines
from proxxtest import job_doc


def test_unavailable_specialist_blocks_a_lower_claim():
    outcome = route(
        {
            "ffmpeg": Claim(specificity=10, reason="decodes it"),
            "resolve": Refusal(reason="Resolve is not running", category="engine_unavailable", specificity=100),
        }
    )
    assert isinstance(outcome, NoRoute)
    assert outcome.category == "engine_unavailable" and outcome.needs == ("resolve",)
    assert "does not fall back to ffmpeg" in outcome.message and "/engine" in outcome.message


def test_unknown_specificity_blocks_and_lower_one_does_not():
    unknown = route(
        {
            "ffmpeg": Claim(specificity=10, reason=""),
            "special": Refusal(reason="binary missing", category="engine_unavailable"),
        }
    )
    assert isinstance(unknown, NoRoute) and unknown.needs == ("special",)
    lower = route(
        {
            "special": Claim(specificity=50, reason=""),
            "ffmpeg": Refusal(reason="no encoder", category="engine_unavailable", specificity=10),
        }
    )
    assert isinstance(lower, Route) and lower.engine == "special"
    higher = route(
        {
            "newcomer": Claim(specificity=150, reason=""),
            "resolve": Refusal(reason="", category="engine_unavailable", specificity=100),
        }
    )
    assert isinstance(higher, Route) and higher.engine == "newcomer"


def test_a_pin_still_chooses_explicitly():
    outcome = route(
        {
            "ffmpeg": Claim(specificity=10, reason=""),
            "resolve": Refusal(reason="", category="engine_unavailable", specificity=100),
        },
        pin="ffmpeg",
    )
    assert isinstance(outcome, Route) and outcome.engine == "ffmpeg"


_outcome = st.one_of(
    st.builds(lambda s: Claim(specificity=s, reason="c"), st.integers(0, 200)),
    st.builds(
        lambda s, c: Refusal(reason="r", category=c, specificity=s),
        st.one_of(st.none(), st.integers(0, 200)),
        st.sampled_from(["engine_unavailable", "unsupported_source"]),
    ),
)


@given(st.dictionaries(st.sampled_from(["a", "b", "c", "d", "e"]), _outcome, max_size=5))
def test_no_route_ever_goes_below_an_unavailable_engine(outcomes):
    result = route(outcomes)
    assert result == route(dict(reversed(list(outcomes.items()))))  # order never matters
    if isinstance(result, Route):
        for r in outcomes.values():
            if isinstance(r, Refusal) and r.category == "engine_unavailable":
                assert r.specificity is not None and r.specificity < result.specificity


# -------------------------------------------------------------- real sources, real engines


@pytest.fixture
def braw_like(media, tmp_path):
    """A real ProRes QuickTime file named .braw: the Resolve engine recognises it as camera RAW
    (by extension) and FFmpeg decodes it; both engines read it."""
    mov = media("A001C003.mov")
    target = tmp_path / "A001C003.braw"
    shutil.copy(mov, target)
    return target


def test_resolve_unavailable_does_not_hand_raw_to_ffmpeg(braw_like, outdir, write_job, proxx):
    job = write_job(job_doc([braw_like], outdir))
    env = {"PROXX_LOAD_PLUGINS": "ffmpeg,resolve", "RESOLVE_SCRIPT_LIB": str(outdir / "absent.so")}
    res = proxx("validate", job, env_extra=env)
    assert res.returncode == 1, res.stderr
    problem = res.json()["problems"][0]
    assert problem["category"] == "engine_unavailable" and problem["path"] == "/sources/0"
    assert "resolve" in problem["message"] and "does not fall back to ffmpeg" in problem["message"]
    run = proxx("run", job, env_extra=env)
    assert run.returncode == 1 and not list(outdir.iterdir())
    # pinning FFmpeg is an explicit, fleet-wide choice, so it is allowed
    pinned = proxx("validate", write_job(job_doc([braw_like], outdir, engine="ffmpeg")), env_extra=env)
    assert pinned.returncode == 0, pinned.stderr


class Specialist(Engine):
    """A format specialist for '.spc' files (real QuickTime media) that may be unusable here."""

    name = "specialist"

    def __init__(self, mode: str):
        self.mode = mode

    def identity(self):
        return EngineIdentity(name=self.name, version="0.1")

    def capabilities(self):
        return Capabilities(
            available=self.mode == "available",
            unavailable_reason="its binary is missing",
            profiles=("offline_prores_proxy_1920x1080",),
        )

    def probe(self, path: Path):
        if path.suffix != ".spc":
            return None
        if self.mode == "probe_fails":
            raise ProxxError("its decoder library is missing on this node", category="engine_unavailable")
        return probe_file(path, probed_by=self.name)

    def claim(self, info, profile):
        if self.mode == "available":
            return Claim(specificity=50, reason="specialist")
        specificity = {"unavailable": 50, "unknown": None, "weaker": 5}[self.mode]
        return Refusal(reason="its binary is missing", category="engine_unavailable", specificity=specificity)

    def plan(self, request):
        return ClipPlan(request=request, engine=self.name, commands=())

    def execute(self, plan, cancel: threading.Event):
        return ()

    def verify(self, plan):
        return Verification(ok=True, checks=())


def _plugin(engine):
    class Plugin:
        @hookimpl
        def proxx_register_engines(self, register):
            register(engine)

    return Plugin()


@pytest.mark.parametrize(
    "mode,expected",
    [
        ("available", "specialist"),
        ("unavailable", None),
        ("unknown", None),
        ("probe_fails", None),
        ("weaker", "ffmpeg"),
    ],
)
def test_fake_specialist_with_ffmpeg(mode, expected, media, tmp_path, outdir, write_job, monkeypatch):
    monkeypatch.setenv("PROXX_LOAD_PLUGINS", "ffmpeg")
    source = tmp_path / "clip.spc"
    shutil.copy(media("clip.mov"), source)
    engines = load_engines(plugins=[_plugin(Specialist(mode))])
    assert engines.names == ("ffmpeg", "specialist")
    checked = check_job_file(write_job(job_doc([source], outdir)), engines)
    if expected is None:
        assert checked.job is None and checked.only_missing_engines, checked.problems
        assert "specialist" in checked.problems[0].message
    else:
        assert checked.job is not None, checked.problems
        assert checked.job.clips[0].plan.engine == expected
