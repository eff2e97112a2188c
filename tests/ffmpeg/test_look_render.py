"""JobSpec 1.1 /look made by the FFmpeg engine: measured pixel values, determinism, the result record,
and no change at all to proxies without a look."""

from __future__ import annotations

import hashlib
import json
import threading

import pytest
from looktest import apply_cdl, centre_rgb, cube, flat_source

from proxx_core.api import check_document
from proxx_core.plugins import load_engines
from proxx_core.runner import run_job
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
    cc.write_text('<ColorCorrection id="x"><SOPNode><Slope>1.2 0.9 1.0</Slope><Offset>0.02 -0.03 0.05</Offset>'
                  '<Power>1.0 1.3 0.8</Power></SOPNode><SatNode><Saturation>0.7</Saturation></SatNode>'
                  '</ColorCorrection>')
    _, plain = _run(proxx, write_job, src, tmp_path / "plain")
    _, inline = _run(proxx, write_job, src, tmp_path / "inline", look={"cdl": CDL, "lut": str(lut)})
    clip, from_file = _run(proxx, write_job, src, tmp_path / "file", look={"cdl": str(cc), "lut": str(lut)})
    assert sha(inline) == sha(from_file)
    assert clip["look"]["order"] == ["cdl", "lut"] and clip["look"]["cdl"]["sha256"] == sha(cc)
    want = tuple(1 - v for v in apply_cdl(centre_rgb(plain), CDL["slope"], CDL["offset"], CDL["power"], 0.7))
    assert all(abs(a - b) < 0.01 for a, b in zip(want, centre_rgb(inline), strict=True))


def test_look_bytes_do_not_depend_on_simd(proxx, write_job, tmp_path, media):
    """lut3d's SIMD code for planar RGB rounds differently from its C code; the look runs in packed
    RGB, where every CPU runs the C code."""
    from proxx_engine_ffmpeg.binary import inspect_binary

    stand_in = tmp_path / "ffmpeg-nosimd"
    stand_in.write_text(NO_SIMD.replace("{real}", inspect_binary().path))
    stand_in.chmod(0o755)
    src = media("src.mov", size="640x360", frames=3)
    lut = cube(tmp_path / "curve.cube", lambda r, g, b: (r ** 0.8, (g + b) / 2, b ** 1.4), size=33)
    look = {"lut": str(lut), "cdl": CDL}
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


@pytest.mark.parametrize("profile, field_order", [(p, None) for p in sorted(PROFILE_CODECS)]
                         + [("offline_h264_1920x1080", "tff"), ("offline_prores_proxy_1920x1080", "bff")])
def test_every_profile_verifies_with_a_look_and_a_burn_in(proxx, write_job, media, tmp_path, profile, field_order):
    """Frame count, timecode, raster, colour tags, fielding: unchanged by the look and the text."""
    kw = {"field_order": field_order, "size": "720x480" if field_order else "256x144"}
    src = media("A001.mov", frames=4, timecode="10:00:00;00", rate="30000/1001", **kw)
    lut = cube(tmp_path / "invert.cube", lambda r, g, b: (1 - r, 1 - g, 1 - b), size=5)
    doc = job_doc([src], tmp_path / "out", profile=profile, jobspec_version="1.1.0",
                  look={"lut": str(lut), "cdl": CDL}, burn_in=[{"text": "{timecode}", "position": "top_center"}],
                  watermark={"text": "W", "opacity": 0.5})
    (tmp_path / "out").mkdir()
    r = proxx("run", write_job(doc))
    assert r.returncode == 0, r.stderr
    clip = r.json()["clips"][0]
    assert clip["status"] == "COMPLETED", clip["failure"]
    checks = {c["name"]: c for c in clip["output"]["verification"]["checks"]}
    assert all(checks[n]["ok"] for n in ("frame_count", "start_timecode", "raster", "color_tags", "frame_rate"))
    if field_order:
        assert checks["field_dominance"]["ok"] and checks["field_dominance"]["actual"] == field_order
