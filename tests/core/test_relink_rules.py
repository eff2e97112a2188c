"""The per-NLE relink verdict as pure functions: each rule broken once, on probe-shaped inputs.

The end-to-end tests (tests/core/test_layouts.py) judge real proxies of real sources built to
break these rules; here every rule is isolated so a wrong rule is named precisely.
"""

from __future__ import annotations

import attrs
import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxx_core.contract.media import AudioInfo, FrameRate, SourceInfo, VideoInfo
from proxx_core.features.relink import NLES, ProxyFacts, to_data, verdicts, warnings


def info(
    *,
    container="mov",
    w=1920,
    h=1080,
    sar="1:1",
    rate="24000/1001",
    frames=48,
    tc="01:00:00:00",
    reel="A001",
    audio=(1, 1),
    field="progressive",
) -> SourceInfo:
    return SourceInfo(
        container=container,
        probed_by="t",
        start_timecode=tc,
        reel_name=reel,
        video=VideoInfo(
            codec="prores",
            width=w,
            height=h,
            sample_aspect=sar,
            frame_rate=FrameRate.parse(rate),
            frame_count=frames,
            field_dominance=field,
        ),
        audio=tuple(AudioInfo(index=i, codec="pcm_s24le", channels=c, sample_rate=48000) for i, c in enumerate(audio)),
    )


SRC = info()
FACTS = ProxyFacts(source_path="/m/A001.mov", output_path="/m/Proxy/A001.mov", layout="proxy_subfolder")
AVID = ProxyFacts(
    source_path="/m/A001.mov", output_path="/o/Avid MediaFiles/MXF/1/A001.V1.mxf", layout="avid_mxf", op_atom=True
)


def failed(src, out, facts=FACTS):
    return {nle: v.failed for nle, v in verdicts(src, out, facts).items()}


def test_a_faithful_mov_proxy_in_the_proxy_folder_links_everywhere_but_avid():
    got = failed(SRC, info(w=960, h=540))
    assert got == {"resolve": (), "premiere": (), "avid": ("managed_media",), "fcp": ()}


def test_avid_op_atom_proxy_links_in_avid_but_not_in_resolve_or_fcp():
    # OP-Atom: one mono file per channel, MXF timecode (no tmcd)
    out = info(container="mxf", w=960, h=540, audio=(1, 1))
    got = failed(SRC, out, AVID)
    assert got["avid"] == ()
    assert "timecode_track" in got["resolve"] and "name" in got["resolve"]
    assert got["fcp"] == ("timecode_track",)


@pytest.mark.parametrize(
    "change, nle, rule",
    [
        ({"w": 1920, "h": 1012}, "premiere", "aspect_ratio"),  # DCI fit raster: aspect off by rounding
        ({"tc": "01:00:00:01"}, "resolve", "start_timecode"),
        ({"tc": "01:00:00:01"}, "premiere", "start_timecode"),
        ({"tc": "01:00:00:01"}, "avid", "start_timecode"),
        ({"tc": "01:00:00:01"}, "fcp", "start_timecode"),
        ({"rate": "24/1"}, "resolve", "frame_rate"),
        ({"frames": 47}, "premiere", "frame_count"),
        ({"frames": 47}, "fcp", "frame_count"),
        ({"frames": 47}, "avid", "frame_count"),
        ({"audio": (2,)}, "resolve", "audio_tracks"),
        ({"audio": (2,)}, "premiere", "audio_channels"),
        ({"audio": (1,)}, "fcp", "audio_channels"),
        ({"audio": (1,)}, "avid", "audio_channels"),
        ({"reel": None}, "avid", "tape_name"),
        ({"container": "mxf"}, "resolve", "timecode_track"),
        ({"container": "mxf"}, "fcp", "timecode_track"),
        ({"field": "tff"}, "premiere", "fielding"),
    ],
)
def test_each_rule_fails_alone_and_says_which(change, nle, rule):
    out = info(**{"w": 960, "h": 540, **{k: v for k, v in change.items() if k != "field"}})
    src = SRC
    if "field" in change:  # the source is interlaced, the proxy is not
        src = info(field=change["field"])
        out = info(w=960, h=540)
    got = failed(src, out, AVID if nle == "avid" else FACTS)
    assert rule in got[nle], got


def test_fcp_accepts_a_longer_proxy_premiere_does_not():
    got = failed(SRC, info(w=960, h=540, frames=49))
    assert got["fcp"] == () and got["premiere"] == ("frame_count",)


def test_source_without_reel_fails_avid_only_and_a_missing_reel_is_optional_in_resolve():
    got = failed(info(reel=None), info(w=960, h=540, reel=None), AVID)
    assert "tape_name" in got["avid"]
    v = verdicts(SRC, info(w=960, h=540, reel=None), FACTS)["resolve"]
    assert v.ok and [c.name for c in v.checks if not c.ok] == ["reel_name"]


def test_renamed_proxy_fails_resolve_name():
    facts = attrs.evolve(FACTS, output_path="/m/Proxy/A001_proxy.mov")
    assert failed(SRC, info(w=960, h=540), facts)["resolve"] == ("name",)


def test_still_image_source_cannot_get_a_premiere_proxy():
    assert "attachable" in failed(info(container="image"), info(w=960, h=540))["premiere"]


def test_no_readable_proxy_no_verdict_and_serialisation_shape():
    assert verdicts(SRC, None, FACTS) is None
    data = to_data(verdicts(SRC, info(w=960, h=540), FACTS))
    assert list(data) == list(NLES)
    assert set(data["resolve"]) == {"ok", "failed", "checks"}
    assert {"name", "expected", "actual", "ok", "required", "why"} <= set(data["resolve"]["checks"][0])


def test_warnings_name_the_nle_and_the_rule():
    found = warnings(SRC, info(w=1920, h=1012), FACTS)
    assert [n for n, _ in found] == ["premiere"]  # avid's managed_media is a delivery choice: not warned
    assert "aspect_ratio" in found[0][1] and "half" in found[0][1]


def test_warnings_only_for_the_nles_the_layout_is_for():
    renamed = ProxyFacts(source_path="/m/A001.mov", output_path="/m/Proxy/A001_x.mov", layout="proxy_subfolder")
    assert [n for n, _ in warnings(SRC, info(w=960, h=540), renamed)] == ["resolve"]
    no_reel = warnings(info(reel=None), info(container="mxf", w=960, h=540, reel=None), AVID)
    assert [n for n, _ in no_reel] == ["avid"] and "tape_name" in no_reel[0][1]


@pytest.mark.parametrize("template", ["{index}_{source_name}_proxy", "{source_name}_proxy", "{reel}_{source_name}"])
def test_a_template_that_renames_the_proxy_warns_resolve_with_the_template_that_works(template):
    """The README's own template gave every clip relink.resolve.failed=["name"] with no warning."""
    name = template.format(index="001", source_name="A001", reel="R1")
    plain = ProxyFacts(source_path="/m/A001.mov", output_path=f"/o/{name}.mov", layout="output_dir")
    found = warnings(SRC, info(w=960, h=540), plain)
    assert [n for n, _ in found] == ["resolve"], found
    assert "name" in found[0][1] and '"output_name_template": "{source_name}"' in found[0][1]
    kept = ProxyFacts(source_path="/m/A001.mov", output_path="/o/A001.mov", layout="output_dir")
    assert warnings(SRC, info(w=960, h=540), kept) == []


def test_an_avid_op_atom_proxy_is_judged_for_avid_only():
    """OP-Atom is for Media Composer: no warning that Resolve, Premiere or FCP will not link it."""
    op_atom = info(container="mxf", w=960, h=540, audio=(1, 1), reel="A001")
    stereo = info(audio=(2,))  # one stereo track becomes two mono OP-Atom files: other NLEs would differ
    assert {n for n, _ in warnings(stereo, op_atom, AVID)} <= {"avid"}
    assert {nle for nle, v in verdicts(stereo, op_atom, AVID).items() if not v.ok} >= {"resolve", "premiere"}


@given(st.integers(1, 64).map(lambda k: 2 * k), st.integers(1, 64).map(lambda k: 2 * k), st.sampled_from([2, 4]))
def test_an_exact_division_always_keeps_premieres_aspect(w2, h2, d):
    w, h = w2 * d, h2 * d
    assert failed(info(w=w, h=h), info(w=w // d, h=h // d))["premiere"] == ()
