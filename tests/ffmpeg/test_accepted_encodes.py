"""Accepted at validate means encodable (issue 20): every JobSpec 1.1 spec that `validate` accepts,
over looks (CDL values of any size, every .cube form), burn-ins (any printable text: quotes, %, :,
backslashes, braces, very long), watermarks, rasters and layouts, runs on a tiny real source with
every clip completed and verified; never `engine_failed` after the validate said yes.

In-process (check_document + run_job, the public API the CLI calls) to stay fast:
well under a minute for 100 examples here; the slow variant runs 500."""

from __future__ import annotations

import itertools
import json
import tempfile
import threading
from pathlib import Path

import pytest
from cubeforms import CUBE_FORMS
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from proxx_core.pipeline.check import check_document
from proxx_core.pipeline.runner import run_job
from proxx_core.support.plugins import load_engines
from proxx_engine_ffmpeg.testmedia import make_source
from proxxtest import PROFILE_CODECS, job_doc

#: tiny sources: progressive, odd-sized (half/quarter do not divide), interlaced, anamorphic, with audio
SOURCES = {
    "p64": {"size": "64x36"},
    "p128": {"size": "128x72"},
    "odd": {"size": "66x38"},
    "tff": {"size": "128x96", "field_order": "tff"},
    "sar": {"size": "128x72", "sar": "4/3"},
    "aud": {"size": "128x72", "audio": (2,)},
    "reel": {"size": "64x36", "reel": 'R\'0%{1}:\\ "x";[y]'},  # {reel} is resolved into drawn text
    "dnx": {"size": "512x288"},  # DNxHR's minimum raster is 256x120: half of this
}
FRAMES = 3
_counter = itertools.count()


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("accepted")
    sources = {}
    for name, kw in SOURCES.items():
        folder = root / "media" / name
        folder.mkdir(parents=True)
        kw = {"audio": (), "frames": FRAMES, **kw}
        sources[name] = make_source(folder / f"{name}.mov", **kw)
    luts = root / "luts"
    luts.mkdir()
    cubes = []
    for form, text in CUBE_FORMS.items():
        (luts / f"{form}.cube").write_bytes(text.encode())
        cubes.append(str(luts / f"{form}.cube"))
    return {"root": root, "sources": sources, "cubes": cubes, "engines": load_engines()}


_printable = st.text(st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=200).map(
    lambda t: t.replace("{", "{{").replace("}", "}}")[:200].removesuffix("{").removesuffix("}") or "x"
)
_hostile = st.lists(
    st.sampled_from(
        list("%:\\'\",;[]=@$#")
        + ["{timecode}", "{frame}", "{source_name}", "{reel}", "{job_id}", "{{", "}}", "%{", "\u2028", " ", "A"]
    ),
    min_size=1,
    max_size=60,
).map(lambda parts: "".join(parts)[:200])
TEXT = st.one_of(_printable, _hostile)
_big = st.one_of(st.floats(0, 4), st.floats(0, 1e6), st.sampled_from([0.0, 1e-300, 1e300, 2.078, 2.08]))
_offset = st.one_of(st.floats(-2, 2), st.floats(-1e300, 1e300), st.sampled_from([0.0, -1e-300]))
_power = st.one_of(st.floats(1e-3, 10), st.floats(1e-300, 1e300, exclude_min=True), st.sampled_from([1e-300, 1e300]))
CDL = st.fixed_dictionaries(
    {
        "slope": st.lists(_big, min_size=3, max_size=3),
        "offset": st.lists(_offset, min_size=3, max_size=3),
        "power": st.lists(_power, min_size=3, max_size=3),
    },
    optional={"saturation": _big},
)
POSITIONS = ["top_left", "top_center", "top_right", "bottom_left", "bottom_center", "bottom_right"]
BURN_IN = st.lists(
    st.fixed_dictionaries(
        {"text": TEXT, "position": st.sampled_from(POSITIONS)},
        optional={"size": st.floats(1e-6, 0.25, exclude_min=True)},
    ),
    max_size=3,
    unique_by=lambda e: e["position"],
)
WATERMARK = st.fixed_dictionaries(
    {"text": TEXT, "opacity": st.floats(0, 1, exclude_min=True)},
    optional={"size": st.floats(1e-6, 0.5, exclude_min=True)},
)


def _cc(values) -> str:
    return " ".join(repr(float(v)) for v in values)


@st.composite
def specs(draw, world):
    source = draw(st.sampled_from(sorted(SOURCES)))
    profile = draw(st.sampled_from(sorted(PROFILE_CODECS)))
    out = Path(tempfile.mkdtemp(dir=world["root"], prefix=f"out{next(_counter)}-"))
    extra = {"existing_outputs": "overwrite"}
    look = draw(st.fixed_dictionaries({}, optional={"cdl": CDL, "lut": st.sampled_from(world["cubes"])}))
    if "cdl" in look and draw(st.booleans()):  # the same numbers from an ASC CDL .cc file
        cc = out.parent / f"{out.name}.cc"
        c = look["cdl"]
        cc.write_text(
            f'<ColorCorrection id="x"><SOPNode><Slope>{_cc(c["slope"])}</Slope><Offset>{_cc(c["offset"])}'
            f"</Offset><Power>{_cc(c['power'])}</Power></SOPNode><SatNode><Saturation>"
            f"{_cc([c.get('saturation', 1.0)])}</Saturation></SatNode></ColorCorrection>"
        )
        look["cdl"] = str(cc)
    if look:
        extra["look"] = look
    burn = draw(BURN_IN)
    if burn:
        extra["burn_in"] = burn
    if draw(st.booleans()):
        extra["watermark"] = draw(WATERMARK)
    extra["raster"] = draw(st.sampled_from(["fit", "half", "quarter"]))
    extra["layout"] = draw(st.sampled_from(["output_dir", "proxy_subfolder", "avid_mxf"]))
    if extra["layout"] == "avid_mxf":
        profile = "offline_dnxhr_lb_1920x1080"  # the layout's only profile (refused otherwise)
    if profile.startswith("offline_dnxhr"):
        source = "dnx"  # above DNxHR's minimum raster (refused otherwise)
    doc = job_doc([world["sources"][source]], out, profile=profile, jobspec_version="1.1.0", **extra)
    if extra["layout"] == "proxy_subfolder":
        del doc["output_name_template"]  # the layout names proxies after their sources (refused otherwise)
    return doc


def _accepted_specs_encode(world, doc):
    engines = world["engines"]
    checked = check_document(doc, engines)
    if checked.job is None:
        for p in checked.problems:  # a refusal names the field
            assert p.path and p.message, p
        event(f"refused at {checked.problems[0].path}: {checked.problems[0].message[:150]}")
        return
    event("accepted")
    result = run_job(checked.job, engines, cancel=threading.Event())
    for clip in result.clips:
        assert clip.status == "COMPLETED", f"{clip.failure}\n{json.dumps(doc)}"
        assert clip.output.verification.ok, json.dumps(doc)


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_every_accepted_spec_encodes_and_verifies(world, data):
    _accepted_specs_encode(world, data.draw(specs(world)))


@pytest.mark.slow
@settings(
    max_examples=500, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(data=st.data())
def test_every_accepted_spec_encodes_and_verifies_long(world, data):
    _accepted_specs_encode(world, data.draw(specs(world)))


def test_a_fit_raster_rounding_the_aspect_beyond_verifications_tolerance_is_refused(world):
    """64x36 at pixel aspect 4:3 fits as 84x36 square pixels: 1.6 % off its display aspect, which
    verification refused after the encode; now validate refuses it at /raster, naming the fix."""
    out = Path(tempfile.mkdtemp(dir=world["root"]))
    small = make_source(world["root"] / "media" / "small_sar.mov", size="64x36", sar="4/3", frames=FRAMES, audio=())
    checked = check_document(job_doc([small], out, profile="offline_h264_1280x720"), world["engines"])
    assert checked.job is None
    (problem,) = checked.problems
    assert problem.path == "/raster" and "more than 1 % off" in problem.message and "half" in problem.message
