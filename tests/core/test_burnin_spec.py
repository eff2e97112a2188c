"""JobSpec 1.1 /burn_in and /watermark: token syntax, drop-frame timecode arithmetic, and routing
refusing an engine that cannot draw text or apply a look."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from test_routing import FakeEngine, plugin

from proxx_core.contract.burnin import Segment
from proxx_core.contract.engine import Capabilities
from proxx_core.contract.media import FrameRate
from proxx_core.features.burnin import burn_in_problems, frames_to_timecode, resolve, split_text, timecode_to_frames
from proxx_core.pipeline.check import check_job_file
from proxx_core.support.plugins import load_engines
from proxx_core.support.specvalues import BurnInText, draft_of
from proxxtest import job_doc

NTSC = FrameRate(num=30000, den=1001)
NTSC60 = FrameRate(num=60000, den=1001)


def test_tokens_braces_and_control_characters():
    pieces, problems = split_text("{reel} {{x}} {timecode}")
    assert problems == []
    assert pieces == [
        ("token", "reel"),
        ("text", " "),
        ("text", "{"),
        ("text", "x"),
        ("text", "}"),
        ("text", " "),
        ("token", "timecode"),
    ]
    assert any("unknown token {date}" in p for p in split_text("{date}")[1])
    assert any("a lone '{'" in p for p in split_text("50% {")[1])
    assert any("a lone '}'" in p for p in split_text("}")[1])
    assert any("control characters (U+000A)" in p for p in split_text("two\nlines")[1])


def test_burn_in_problems_point_at_the_element():
    doc = {
        "burn_in": [{"text": "{tc}", "position": "top_left"}, {"text": "ok", "position": "top_left"}],
        "watermark": {"text": "{", "opacity": 0.2},
    }
    draft = draft_of(doc)  # the typed values the document step builds
    paths = [p.path for p in burn_in_problems(draft.burn_in, draft.watermark)]
    assert paths == ["/burn_in/0/text", "/burn_in/1/position", "/watermark/text"]


def test_per_clip_tokens_are_resolved_and_literals_kept():
    elements = (BurnInText(text="{source_name} / {reel} / {job_id} {{%}} {timecode} #{frame}", position="top_left"),)
    burn = resolve(
        elements,
        None,
        source="/m/A001_C002.mov",
        reel="A001\x07",
        job_id="job-1",
        start_timecode="01:00:00;00",
        frame_rate=NTSC,
    )
    (el,) = burn.elements
    assert el.segments == (
        Segment(kind="text", text="A001_C002 / A001 / job-1 {%} "),
        Segment(kind="timecode"),
        Segment(kind="text", text=" #"),
        Segment(kind="frame"),
    )
    assert el.size == 0.04 and burn.drop_frame and burn.watermark is None
    assert resolve(None, None, source="/a", reel=None, job_id="j", start_timecode=None, frame_rate=NTSC) is None


def test_drop_frame_counting_matches_smpte():
    assert frames_to_timecode(0, NTSC, True) == "00:00:00;00"
    assert frames_to_timecode(1799, NTSC, True) == "00:00:59;29"
    assert frames_to_timecode(1800, NTSC, True) == "00:01:00;02"  # 00 and 01 are skipped
    assert frames_to_timecode(17982, NTSC, True) == "00:10:00;00"  # every tenth minute keeps them
    assert frames_to_timecode(3600, NTSC60, True) == "00:01:00;04"  # 59.94 skips four
    assert frames_to_timecode(24 * 3600 * 24, FrameRate(num=24, den=1), False) == "00:00:00:00"  # wraps at 24 h
    assert frames_to_timecode(1800, NTSC, False) == "00:01:00:00"
    assert timecode_to_frames("01:00:00;00", NTSC) == 107892
    assert timecode_to_frames("01:00:00:00", NTSC) == 108000


@settings(max_examples=300, deadline=None)
@given(st.integers(min_value=0, max_value=24 * 3600 * 30 - 1 - 24 * 108), st.sampled_from([NTSC, NTSC60]))
def test_drop_frame_timecode_round_trips(frames, rate):
    tc = frames_to_timecode(frames, rate, True)
    assert timecode_to_frames(tc, rate) == frames
    # the next frame is the next displayable label (no label is skipped except the dropped ones)
    nxt = frames_to_timecode(frames + 1, rate, True)
    assert nxt > tc or nxt == "00:00:00;00"


class NoFeatures(FakeEngine):
    """Like the Resolve engine today: declares no look/burn-in support."""


class AllFeatures(FakeEngine):
    def capabilities(self):
        return Capabilities(available=True, profiles=("offline_prores_proxy_1920x1080",), features=("burn_in", "look"))


def test_routing_refuses_an_engine_that_cannot_draw_the_burn_in(tmp_path, write_job, outdir):
    src = tmp_path / "a.raw"
    src.write_bytes(b"x")
    engines = load_engines(plugins=[plugin(NoFeatures("special", (".raw",), 100))], entry_points=False)
    doc = job_doc([src], outdir, jobspec_version="1.1.0", burn_in=[{"text": "{timecode}", "position": "top_left"}])
    checked = check_job_file(write_job(doc), engines)
    assert checked.job is None and checked.exit_code == 1
    (problem,) = checked.problems
    assert "cannot apply /burn_in, /watermark: engine 'special' does not support burn_in" in problem.message
    assert "Capabilities.features: none" in problem.message
    # the same spec without the burn-in routes to it
    del doc["burn_in"]
    assert check_job_file(write_job(doc), engines).job is not None


def test_a_capable_engine_takes_the_clip_a_specialist_cannot_honour(tmp_path, write_job, outdir):
    src = tmp_path / "a.raw"
    src.write_bytes(b"x")
    engines = load_engines(
        plugins=[plugin(NoFeatures("special", (".raw",), 100)), plugin(AllFeatures("generic", (".raw",), 10))],
        entry_points=False,
    )
    doc = job_doc(
        [src],
        outdir,
        jobspec_version="1.1.0",
        look={"cdl": {"slope": [1, 1, 1], "offset": [0.1, 0, 0], "power": [1, 1, 1]}},
    )
    checked = check_job_file(write_job(doc), engines)
    assert checked.job is not None, checked.problems
    (clip,) = checked.job.clips
    assert clip.plan.engine == "generic" and clip.plan.request.look.cdl.offset == (0.1, 0.0, 0.0)
    refused = next(c for c in clip.route.candidates if c.engine == "special")
    assert not refused.claimed and "does not support look" in refused.reason
