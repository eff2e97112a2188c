"""JobSpec 1.1 /look made by the FFmpeg engine: measured pixel values, determinism, the result record,
and no change at all to proxies without a look."""

from __future__ import annotations

import hashlib
import json
import threading

import attrs
import pytest
from looktest import apply_cdl, centre_rgb, cube, flat_source

from proxx_core.pipeline.check import check_document
from proxx_core.pipeline.runner import run_job
from proxx_core.support.plugins import load_engines
from proxxtest import PROFILE_CODECS, job_doc

NO_SIMD = """#!/bin/sh
exec "{real}" -cpuflags 0 "$@"
"""
CDL = {"slope": [1.2, 0.9, 1.0], "offset": [0.02, -0.03, 0.05], "power": [1.0, 1.3, 0.8], "saturation": 0.7}


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _run(proxx, write_job, src, out, env=None, **extra):
    out.mkdir(exist_ok=True)
    doc = job_doc([src], out, jobspec_version="1.1.0" if extra else "1.0.0", **extra)
    r = proxx("run", write_job(doc), "--max-workers", 1, env_extra=env)
    assert r.returncode == 0, r.stderr
    clip = r.json()["clips"][0]
    assert clip["status"] == "COMPLETED" and clip["output"]["verification"]["ok"]
    return clip, out / "src_proxy.mov"


def test_an_inverting_lut_inverts_the_measured_values(proxx, write_job, tmp_path):
    src = flat_source(tmp_path / "src.mov")
    lut = cube(tmp_path / "invert.cube", lambda r, g, b: (1 - r, 1 - g, 1 - b))
    _, plain = _run(proxx, write_job, src, tmp_path / "plain")
    clip, graded = _run(proxx, write_job, src, tmp_path / "lut", look={"lut": str(lut)})
    p, q = centre_rgb(plain), centre_rgb(graded)
    assert all(abs(b - (1 - a)) < 0.01 for a, b in zip(p, q, strict=True)), (p, q)
    assert clip["look"] == {"order": ["lut"], "lut": {"path": str(lut), "sha256": sha(lut), "size": 17}}


def test_a_cdl_changes_the_measured_values_as_asc_cdl_says(proxx, write_job, tmp_path):
    src = flat_source(tmp_path / "src.mov")
    _, plain = _run(proxx, write_job, src, tmp_path / "plain")
    clip, graded = _run(proxx, write_job, src, tmp_path / "cdl", look={"cdl": CDL})
    p, q = centre_rgb(plain), centre_rgb(graded)
    want = apply_cdl(p, CDL["slope"], CDL["offset"], CDL["power"], CDL["saturation"])
    assert all(abs(a - b) < 0.01 for a, b in zip(want, q, strict=True)), (p, q, want)
    assert max(abs(a - b) for a, b in zip(p, q, strict=True)) > 0.05  # the grade is visible, not lost
    assert clip["look"]["order"] == ["cdl"] and clip["look"]["cdl"]["saturation"] == 0.7


def test_cdl_then_lut_and_a_cc_file_equal_the_same_numbers_inline(proxx, write_job, tmp_path):
    src = flat_source(tmp_path / "src.mov")
    lut = cube(tmp_path / "invert.cube", lambda r, g, b: (1 - r, 1 - g, 1 - b))
    cc = tmp_path / "grade.cc"
    cc.write_text(
        '<ColorCorrection id="x"><SOPNode><Slope>1.2 0.9 1.0</Slope><Offset>0.02 -0.03 0.05</Offset>'
        "<Power>1.0 1.3 0.8</Power></SOPNode><SatNode><Saturation>0.7</Saturation></SatNode>"
        "</ColorCorrection>"
    )
    _, plain = _run(proxx, write_job, src, tmp_path / "plain")
    _, inline = _run(proxx, write_job, src, tmp_path / "inline", look={"cdl": CDL, "lut": str(lut)})
    clip, from_file = _run(proxx, write_job, src, tmp_path / "file", look={"cdl": str(cc), "lut": str(lut)})
    assert sha(inline) == sha(from_file)
    assert clip["look"]["order"] == ["cdl", "lut"] and clip["look"]["cdl"]["sha256"] == sha(cc)
    want = tuple(1 - v for v in apply_cdl(centre_rgb(plain), CDL["slope"], CDL["offset"], CDL["power"], 0.7))
    assert all(abs(a - b) < 0.01 for a, b in zip(want, centre_rgb(inline), strict=True))


@pytest.mark.parametrize("saturation", [0.7, 3.0])
def test_look_bytes_do_not_depend_on_simd(proxx, write_job, tmp_path, media, saturation):
    """lut3d's SIMD code for planar RGB rounds differently from its C code; the look runs in packed
    RGB, where every CPU runs the C code (saturation 3.0: the saturation LUT's lut3d too)."""
    from proxx_engine_ffmpeg.binary import inspect_binary

    stand_in = tmp_path / "ffmpeg-nosimd"
    stand_in.write_text(NO_SIMD.replace("{real}", inspect_binary().path))
    stand_in.chmod(0o755)
    src = media("src.mov", size="640x360", frames=3)
    lut = cube(tmp_path / "curve.cube", lambda r, g, b: (r**0.8, (g + b) / 2, b**1.4), size=33)
    look = {"lut": str(lut), "cdl": {**CDL, "saturation": saturation}}
    _, native = _run(proxx, write_job, src, tmp_path / "native", look=look)
    _, plain_c = _run(proxx, write_job, src, tmp_path / "nosimd", env={"PROXX_FFMPEG": str(stand_in)}, look=look)
    assert sha(native) == sha(plain_c)


def test_a_1_1_spec_without_new_keys_makes_the_1_0_bytes(proxx, write_job, tmp_path, media):
    src = media("src.mov", frames=3)
    outs = []
    for version in ("1.0.0", "1.1.0"):
        out = tmp_path / version
        out.mkdir()
        r = proxx("run", write_job(job_doc([src], out, jobspec_version=version)))
        assert r.returncode == 0, r.stderr
        assert r.json()["clips"][0]["look"] is None
        outs.append(sha(out / "src_proxy.mov"))
    assert outs[0] == outs[1]


def test_a_lut_changed_after_validation_is_not_used(tmp_path, media):
    src = media("src.mov", frames=3)
    lut = cube(tmp_path / "show.cube", lambda r, g, b: (r, g, b), size=2)
    out = tmp_path / "out"
    out.mkdir()
    engines = load_engines()
    checked = check_document(job_doc([src], out, jobspec_version="1.1.0", look={"lut": str(lut)}), engines)
    assert checked.job is not None, checked.problems
    cube(lut, lambda r, g, b: (1 - r, g, b), size=2)  # re-exported while the job waited
    result = run_job(checked.job, engines, cancel=threading.Event())
    (clip,) = result.clips
    assert clip.status == "FAILED" and clip.failure.category == "io_error"
    assert "changed since the job was validated" in clip.failure.message
    assert list(out.iterdir()) == []
    json.dumps(clip.look)  # the record still says which LUT was validated


@pytest.mark.parametrize(
    "profile, field_order",
    [(p, None) for p in sorted(PROFILE_CODECS)]
    + [("offline_h264_1920x1080", "tff"), ("offline_prores_proxy_1920x1080", "bff")],
)
def test_every_profile_verifies_with_a_look_and_a_burn_in(proxx, write_job, media, tmp_path, profile, field_order):
    """Frame count, timecode, raster, colour tags, fielding: unchanged by the look and the text."""
    kw = {"field_order": field_order, "size": "720x480" if field_order else "256x144"}
    src = media("A001.mov", frames=4, timecode="10:00:00;00", rate="30000/1001", **kw)
    lut = cube(tmp_path / "invert.cube", lambda r, g, b: (1 - r, 1 - g, 1 - b), size=5)
    doc = job_doc(
        [src],
        tmp_path / "out",
        profile=profile,
        jobspec_version="1.1.0",
        look={"lut": str(lut), "cdl": CDL},
        burn_in=[{"text": "{timecode}", "position": "top_center"}],
        watermark={"text": "W", "opacity": 0.5},
    )
    (tmp_path / "out").mkdir()
    r = proxx("run", write_job(doc))
    assert r.returncode == 0, r.stderr
    clip = r.json()["clips"][0]
    assert clip["status"] == "COMPLETED", clip["failure"]
    checks = {c["name"]: c for c in clip["output"]["verification"]["checks"]}
    assert all(checks[n]["ok"] for n in ("frame_count", "start_timecode", "raster", "color_tags", "frame_rate"))
    if field_order:
        assert checks["field_dominance"]["ok"] and checks["field_dominance"]["actual"] == field_order


# --------------------------------------------------------------- accepted at validate must encode (issue 20)


@pytest.mark.parametrize("saturation", [2.5, 3.7, 40.0, 1e6])
def test_a_saturation_beyond_colorchannelmixers_range_is_applied(proxx, write_job, tmp_path, saturation):
    """ASC CDL saturation has no upper bound; colorchannelmixer takes -2..2 (every clip failed as
    engine_failed above ~2.08). Applied as a 2-point LUT of the same matrix; the measured values
    match the ASC formula, and the LUT file written for the clip does not outlive it."""
    src = flat_source(tmp_path / "src.mov", rgb_hex="6A8070", size="64x36")
    _, plain = _run(proxx, write_job, src, tmp_path / "plain")
    cdl = {**CDL, "saturation": saturation}
    clip, graded = _run(proxx, write_job, src, tmp_path / "cdl", look={"cdl": cdl})
    want = apply_cdl(centre_rgb(plain), cdl["slope"], cdl["offset"], cdl["power"], saturation)
    got = centre_rgb(graded)
    assert all(abs(a - b) < 0.01 for a, b in zip(want, got, strict=True)), (want, got)
    assert clip["look"]["cdl"]["saturation"] == saturation
    assert sorted(p.name for p in (tmp_path / "cdl").iterdir()) == ["src_proxy.mov"]


def test_saturations_colorchannelmixer_can_express_keep_their_filter():
    """The golden bytes of existing looks hold: only a saturation the mixer cannot take uses the LUT."""
    from proxx_core.contract.look import Cdl
    from proxx_engine_ffmpeg.overlays import cdl_filters, mixer_can_express

    assert mixer_can_express(0.0) and mixer_can_express(2.07) and not mixer_can_express(2.08)
    plain = Cdl(slope=(1.0, 1.0, 1.0), offset=(0.0, 0.0, 0.0), power=(1.0, 1.0, 1.0), saturation=2.0)
    assert cdl_filters(plain, None)[0].startswith("colorchannelmixer=")
    assert cdl_filters(attrs.evolve(plain, saturation=2.5), "/t/x.cube") == ["lut3d=file=/t/x.cube:interp=tetrahedral"]


def test_every_allowed_cube_form_renders_the_plain_cubes_bytes(proxx, write_job, tmp_path):
    """A BOM made FFmpeg read an empty LUT ("3D LUT is empty"): FFmpeg is given a plain copy whenever
    its parser could read the user's file differently, and every allowed form makes the same bytes."""
    from cubeforms import CUBE_FORMS, PLAIN

    src = flat_source(tmp_path / "src.mov", size="64x36")
    luts = tmp_path / "luts"
    luts.mkdir()
    (luts / "plain.cube").write_text(PLAIN)
    _, want = _run(proxx, write_job, src, tmp_path / "plain", look={"lut": str(luts / "plain.cube")})
    for form, text in CUBE_FORMS.items():
        (luts / f"{form}.cube").write_bytes(text.encode())
        out = tmp_path / form
        clip, got = _run(proxx, write_job, src, out, look={"lut": str(luts / f"{form}.cube")})
        assert sha(got) == sha(want), form
        assert clip["look"]["lut"]["sha256"] == sha(luts / f"{form}.cube")
        assert sorted(p.name for p in out.iterdir()) == ["src_proxy.mov"], form  # the copy is removed


@pytest.mark.parametrize("saturation", [0.0, 0.5, 1.7, 2.0])
def test_the_saturation_lut_matches_colorchannelmixer_where_both_apply(tmp_path, saturation):
    """Exactness of the LUT path, measured: on every pixel of a test pattern in rgb48le, the 2-point
    saturation LUT gives colorchannelmixer's values to within one 16-bit step (the mixer rounds each
    term, the LUT interpolates in float), clipping included."""
    import subprocess

    from looktest import ffmpeg

    from proxx_core.contract.look import Cdl
    from proxx_engine_ffmpeg.overlays import cdl_filters, saturation_cube

    cube_path = tmp_path / "sat.cube"
    cube_path.write_bytes(saturation_cube(saturation))
    cdl = Cdl(slope=(1.0, 1.0, 1.0), offset=(0.0, 0.0, 0.0), power=(1.0, 1.0, 1.0), saturation=saturation)
    (mixer,) = cdl_filters(cdl, None)
    outs = []
    for graph in (mixer, f"lut3d=file={cube_path}:interp=tetrahedral"):
        outs.append(
            subprocess.run(
                [
                    ffmpeg(),
                    "-nostdin",
                    "-hide_banner",
                    "-loglevel",
                    "error",
                    "-f",
                    "lavfi",
                    "-i",
                    "testsrc2=size=256x144:rate=1,format=rgb48le",
                    "-frames:v",
                    "1",
                    "-vf",
                    graph,
                    "-f",
                    "rawvideo",
                    "-",
                ],
                check=True,
                capture_output=True,
                timeout=60,
            ).stdout
        )
    import array

    a, b = array.array("H"), array.array("H")
    a.frombytes(outs[0])
    b.frombytes(outs[1])
    assert len(a) == len(b) == 256 * 144 * 3
    assert max(abs(x - y) for x, y in zip(a, b, strict=True)) <= 1


@pytest.mark.parametrize("saturation", [2.5, 40.0, 16384.0])
def test_the_saturation_lut_is_within_one_step_of_the_asc_formula(tmp_path, saturation):
    """Beyond the mixer's range: every pixel of a test pattern within one 16-bit step of ASC CDL
    saturation computed in double precision, clamp(L + s (x - L), 0, 1), Rec.709 luma."""
    import array
    import subprocess

    from looktest import ffmpeg

    from proxx_engine_ffmpeg.overlays import LUMA, saturation_cube

    cube_path = tmp_path / "sat.cube"
    cube_path.write_bytes(saturation_cube(saturation))

    def frame(graph: str) -> array.array:
        raw = subprocess.run(
            [
                ffmpeg(),
                "-nostdin",
                "-hide_banner",
                "-loglevel",
                "error",
                "-f",
                "lavfi",
                "-i",
                "testsrc2=size=128x72:rate=1,format=rgb48le",
                "-frames:v",
                "1",
                "-vf",
                graph,
                "-f",
                "rawvideo",
                "-",
            ],
            check=True,
            capture_output=True,
            timeout=60,
        ).stdout
        values = array.array("H")
        values.frombytes(raw)
        return values

    src, out = frame("null"), frame(f"lut3d=file={cube_path}:interp=tetrahedral")
    worst = 0
    for i in range(0, len(src), 3):
        rgb = [v / 65535 for v in src[i : i + 3]]
        luma = sum(w * v for w, v in zip(LUMA, rgb, strict=True))
        for c, x in enumerate(rgb):
            want = round(min(max(luma + saturation * (x - luma), 0.0), 1.0) * 65535)
            worst = max(worst, abs(out[i + c] - want))
    assert worst <= 1
