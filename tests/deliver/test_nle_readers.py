"""FCPXML and OTIO sidecars read by readers Proxx did not write: Apple's FCPXML DTD (xmllint) and
OpenTimelineIO's FCP 7 XML, FCPXML and ALE adapters. Each test names the defect it guards
(issue 21): proxy rasters in FCPXML formats, mixed frame rates off the timeline's frame grid, no
fieldOrder for interlaced originals, drop-frame and start timecode lost through OTIO's converters."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxx_deliver.clips import DeliveredClip
from proxx_deliver.fcpxml import fcpxml_text
from proxxtest import job_doc

DTD_DIR = Path(__file__).parent / "dtd"
DTD_SHA256 = "32cbad28022f9a2033acdc25d0583b16d2e12745dc5efe4fa8f16e27aa59ff53"


@pytest.fixture(scope="session")
def fcpxml_dtd() -> Path:
    """Apple's FCPXML 1.10 DTD (tests/deliver/dtd/README.md says where from and on what terms), or
    the copy PROXX_FCPXML_DTD names."""
    path = Path(os.environ.get("PROXX_FCPXML_DTD") or DTD_DIR / "FCPXMLv1_10.dtd")
    if not path.is_file():
        pytest.fail(f"Apple's FCPXML 1.10 DTD is not at {path}: set PROXX_FCPXML_DTD (tests/deliver/dtd/README.md)")
    assert hashlib.sha256(path.read_bytes()).hexdigest() == DTD_SHA256, f"{path} is not Apple's FCPXMLv1_10.dtd"
    if not shutil.which("xmllint"):
        pytest.fail("xmllint is not installed (Debian/Ubuntu: apt-get install libxml2-utils)")
    return path


def dtd_valid(dtd: Path, document: Path) -> None:
    r = subprocess.run(
        ["xmllint", "--noout", "--dtdvalid", str(dtd), str(document)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 0, r.stderr


def run_job(proxx, write_job, srcs, outdir, deliverables, **extra) -> dict:
    doc = job_doc(
        srcs,
        outdir,
        jobspec_version="1.1.0",
        job_id="day1",
        deliverables=deliverables,
        output_name_template="{source_name}",
        **extra,
    )
    r = proxx("run", write_job(doc))
    assert r.returncode == 0, r.stderr
    return r.json()


def seconds(value: str) -> Fraction:
    return Fraction(0) if value == "0s" else Fraction(value[:-1])


def formats_of(tree: ET.Element) -> dict[str, dict[str, str]]:
    return {f.get("id"): dict(f.attrib) for f in tree.iter("format")}


def test_fcpxml_formats_describe_the_camera_originals_and_apples_dtd_accepts_them(
    proxx, write_job, media, outdir, fcpxml_dtd
):
    """<format> was the proxy's raster: 96x54 for a 192x108 original at raster half, 1920x1012 for
    a 2048x1080 original at fit; Final Cut conforms the proxy to the original's format."""
    src = media("P001.mov", size="192x108", rate="25", frames=3, timecode="01:00:00:00", audio=(2,))
    res = run_job(proxx, write_job, [src], outdir, ["fcpxml"], raster="half")
    assert res["clips"][0]["output"]["verification"]["output_info"]["video"]["width"] == 96
    dtd_valid(fcpxml_dtd, outdir / "day1.fcpxml")
    (fmt,) = formats_of(ET.parse(outdir / "day1.fcpxml").getroot()).values()
    assert (fmt["width"], fmt["height"], fmt["frameDuration"]) == ("192", "108", "1/25s")
    assert "fieldOrder" not in fmt  # progressive

    dci = media("D001.mov", size="2048x1080", rate="24", frames=2, timecode="03:00:00:00", audio=(2,))
    out2 = outdir / "dci"
    out2.mkdir()
    res = run_job(proxx, write_job, [dci], out2, ["fcpxml"])
    assert res["clips"][0]["output"]["verification"]["output_info"]["video"]["width"] == 1920
    dtd_valid(fcpxml_dtd, out2 / "day1.fcpxml")
    (fmt,) = formats_of(ET.parse(out2 / "day1.fcpxml").getroot()).values()
    assert (fmt["width"], fmt["height"], fmt["frameDuration"]) == ("2048", "1080", "1/24s")


@pytest.mark.parametrize("field_order, fcp", [("tff", "upper first"), ("bff", "lower first")])
def test_fcpxml_format_of_an_interlaced_original_names_its_field_order(
    field_order, fcp, proxx, write_job, media, outdir, fcpxml_dtd
):
    """An interlaced original's <format> had no fieldOrder (Final Cut would take it as progressive)."""
    src = media(
        "I001.mov", size="64x36", rate="25", frames=3, timecode="02:00:00:00", audio=(2,), field_order=field_order
    )
    res = run_job(proxx, write_job, [src], outdir, ["fcpxml"])
    assert res["clips"][0]["source"]["info"]["video"]["field_dominance"] == field_order
    dtd_valid(fcpxml_dtd, outdir / "day1.fcpxml")
    (fmt,) = formats_of(ET.parse(outdir / "day1.fcpxml").getroot()).values()
    assert fmt["fieldOrder"] == fcp


def test_fcpxml_format_of_an_anamorphic_original_names_its_pixel_aspect(proxx, write_job, media, outdir, fcpxml_dtd):
    src = media("H001.mov", size="96x72", rate="25", frames=2, timecode="01:00:00:00", audio=(2,), sar="4/3")
    res = run_job(proxx, write_job, [src], outdir, ["fcpxml"])
    assert res["clips"][0]["source"]["info"]["video"]["sample_aspect"] == "4:3"
    dtd_valid(fcpxml_dtd, outdir / "day1.fcpxml")
    (fmt,) = formats_of(ET.parse(outdir / "day1.fcpxml").getroot()).values()
    assert (fmt["width"], fmt["height"], fmt["paspH"], fmt["paspV"]) == ("96", "72", "4", "3")


#: a card mixing rates: 25p, 29.97 drop-frame, 23.976, and 25p again
MIXED = {
    "A001.mov": dict(rate="25", frames=5, timecode="10:00:00:00"),
    "B001.mov": dict(rate="30000/1001", frames=5, timecode="10:00:00;00"),
    "C001.mov": dict(rate="24000/1001", frames=4, timecode="01:00:00:00"),
    "D001.mov": dict(rate="25", frames=4, timecode="02:00:00:00"),
}


def test_mixed_frame_rates_one_project_per_rate_every_clip_on_its_frame_grid(
    proxx, write_job, media, outdir, fcpxml_dtd
):
    """A 25p sequence got 23.976 and 29.97 clips at offsets like 150.075 frames: now each project
    holds the clips of its own rate, and OTIO's FCPXML adapter reads the 25p project exactly."""
    srcs = [media(name, size="64x36", audio=(2,), **kw) for name, kw in MIXED.items()]
    run_job(proxx, write_job, srcs, outdir, ["fcpxml"])
    path = outdir / "day1.fcpxml"
    dtd_valid(fcpxml_dtd, path)
    tree = ET.parse(path).getroot()
    formats = formats_of(tree)
    projects = {p.get("name"): p for p in tree.iter("project")}
    assert list(projects) == ["day1 25 fps", "day1 29.97 fps", "day1 23.976 fps"]
    members = {}
    for name, project in projects.items():
        sequence = project.find("sequence")
        frame = seconds(formats[sequence.get("format")]["frameDuration"])
        end = Fraction(0)
        for clip in sequence.iter("asset-clip"):
            assert seconds(formats[clip.get("format")]["frameDuration"]) == frame, (name, clip.attrib)
            offset, duration = seconds(clip.get("offset")), seconds(clip.get("duration"))
            assert (offset / frame).denominator == 1 and (duration / frame).denominator == 1, (name, clip.attrib)
            assert (seconds(clip.get("start")) / frame).denominator == 1, (name, clip.attrib)
            assert offset == end, "clips follow each other without a gap"
            end += duration
        assert seconds(sequence.get("duration")) == end
        members[name] = [c.get("name") for c in sequence.iter("asset-clip")]
        assert sequence.get("tcFormat") == ("DF" if "29.97" in name else "NDF")
    assert members == {"day1 25 fps": ["A001", "D001"], "day1 29.97 fps": ["B001"], "day1 23.976 fps": ["C001"]}
    assert {c.get("name"): c.get("tcFormat") for c in tree.iter("asset-clip")}["B001"] == "DF"

    # OpenTimelineIO's FCPXML adapter (it reads rates as integers: the 25p project is exact)
    collection = otio.adapters.read_from_file(str(path), "fcpx_xml")  # kept: its timelines die with it
    timelines = {t.name: t for t in collection}
    assert sorted(timelines) == sorted(projects)
    clips = {c.name: c for c in timelines["day1 25 fps"].find_clips()}
    for name, kw in MIXED.items():
        if kw["rate"] != "25":
            continue
        clip = clips[Path(name).stem]
        assert clip.source_range.start_time == otio.opentime.from_timecode(kw["timecode"], 25)
        assert clip.source_range.duration.to_frames(25) == kw["frames"]
        assert clip.source_range.start_time.rate == 25


def _fcp7_timecodes(xml_text: str) -> dict[str, tuple[str, str, str]]:
    """file name -> (timecode string, displayformat, reel) as the FCP 7 XML says them."""
    found = {}
    for f in ET.fromstring(xml_text).iter("file"):
        tc = f.find("timecode")
        if tc is None or f.find("pathurl") is None:
            continue
        reel = tc.find("reel/name")
        found[Path(f.findtext("name")).stem] = (
            tc.findtext("string"),
            tc.findtext("displayformat"),
            reel.text if reel is not None else None,
        )
    return found


#: 29.97 drop-frame and non-drop-frame clips of one card
NTSC = {"B001.mov": dict(frames=5, timecode="10:00:00;00"), "N001.mov": dict(frames=4, timecode="01:00:00:00")}


def ntsc_timeline(proxx, write_job, media, outdir) -> otio.schema.Timeline:
    srcs = [media(name, size="64x36", rate="30000/1001", audio=(2,), **kw) for name, kw in NTSC.items()]
    run_job(proxx, write_job, srcs, outdir, ["otio"])
    return otio.adapters.read_from_file(str(outdir / "day1.otio"), "otio_json")


def test_otio_metadata_carries_rate_start_timecode_as_written_and_drop_frame(proxx, write_job, media, outdir):
    """metadata.proxx had neither the start timecode nor the DF flag."""
    for clip in ntsc_timeline(proxx, write_job, media, outdir).find_clips():
        kw = NTSC[clip.name + ".mov"]
        assert {k: clip.metadata["proxx"].get(k) for k in ("rate", "start_timecode", "drop_frame")} == {
            "rate": "30000/1001",
            "start_timecode": kw["timecode"],
            "drop_frame": ";" in kw["timecode"],
        }


def test_otio_keeps_start_timecode_drop_frame_and_rate_through_fcp7_xml(proxx, write_job, media, outdir):
    """OpenTimelineIO's FCP 7 XML adapter turned a 10:00:00;00 DF clip into 09:59:24:00 NDF."""
    rate = 30000 / 1001
    timeline = ntsc_timeline(proxx, write_job, media, outdir)
    xml_text = otio.adapters.write_to_string(timeline, "fcp_xml")
    assert _fcp7_timecodes(xml_text) == {"B001": ("10:00:00;00", "DF", "B001"), "N001": ("01:00:00:00", "NDF", "N001")}
    back = {c.name: c for c in otio.adapters.read_from_string(xml_text, "fcp_xml").find_clips()}
    assert sorted(back) == ["B001", "N001"]
    for name, kw in NTSC.items():
        clip = back[Path(name).stem]
        drop = ";" in kw["timecode"]
        assert clip.source_range.start_time.rate == pytest.approx(rate)
        assert otio.opentime.to_timecode(clip.source_range.start_time, rate, drop) == kw["timecode"]
        assert round(clip.source_range.duration.to_frames(rate)) == kw["frames"]
        assert clip.media_reference.metadata["fcp_xml"]["timecode"]["displayformat"] == ("DF" if drop else "NDF")


def test_otio_keeps_rate_start_and_duration_through_the_ale_adapter(proxx, write_job, media, outdir):
    """OpenTimelineIO's ALE adapter wrote every OTIO file from Proxx at 24 fps (no FPS hint): a 25p
    clip at 10:00:00:00 came out as 09:36:00:00."""
    srcs = [media(name, size="64x36", audio=(2,), **MIXED[name]) for name in ("A001.mov", "D001.mov")]
    run_job(proxx, write_job, srcs, outdir, ["otio"])
    timeline = otio.adapters.read_from_file(str(outdir / "day1.otio"), "otio_json")
    ale_text = otio.adapters.write_to_string(timeline, "ale")
    back = otio.adapters.read_from_string(ale_text, "ale")
    assert back.metadata["ALE"]["header"]["FPS"] == "25"
    clips = {c.name: c for c in back.find_clips()}
    for name in ("A001.mov", "D001.mov"):
        clip = clips[Path(name).stem]
        assert otio.opentime.to_timecode(clip.source_range.start_time, 25) == MIXED[name]["timecode"]
        assert clip.source_range.duration.to_frames(25) == MIXED[name]["frames"]


RATES = [Fraction(24000, 1001), Fraction(24), Fraction(25), Fraction(30000, 1001), Fraction(50), Fraction(60000, 1001)]


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(RATES),
            st.integers(1, 10_000),
            st.integers(0, 2_000_000),
            st.sampled_from(["progressive", "tff", "bff"]),
        ),
        min_size=1,
        max_size=8,
    )
)
def test_any_mix_of_rates_every_clip_once_on_its_projects_frame_grid(tmp_path_factory, fcpxml_dtd, clips):
    delivered = [
        DeliveredClip(
            index=i + 1,
            name=f"C{i:03}",
            tape=f"C{i:03}",
            source_path=f"/m/C{i:03}.mov",
            proxy_path=f"/o/C{i:03}.mov",
            proxy_sha256=None,
            rate=rate,
            drop_frame=rate.denominator == 1001 and rate > 29,
            start_frame=start,
            frames=frames,
            width=960,
            height=540,
            audio_channels=(2,),
            audio_rate=48000,
            original_width=1920,
            original_height=1080,
            field_dominance=field,
        )
        for i, (rate, frames, start, field) in enumerate(clips)
    ]
    text = fcpxml_text("job", delivered)
    path = tmp_path_factory.mktemp("fcpxml") / "job.fcpxml"
    path.write_text(text, encoding="utf-8")
    dtd_valid(fcpxml_dtd, path)
    tree = ET.fromstring(text)
    formats = formats_of(tree)
    placed = []
    for project in tree.iter("project"):
        sequence = project.find("sequence")
        frame = seconds(formats[sequence.get("format")]["frameDuration"])
        for clip in sequence.iter("asset-clip"):
            for key in ("offset", "duration", "start"):
                assert (seconds(clip.get(key)) / frame).denominator == 1, (project.get("name"), clip.attrib)
            placed.append(clip.get("name"))
    assert sorted(placed) == sorted(c.name for c in delivered)
    assert len(list(tree.iter("project"))) == len({c.rate for c in delivered})
    assert {f["width"] for f in formats.values()} == {"1920"}
