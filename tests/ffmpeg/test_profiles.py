"""Every profile, real encodes, outputs checked independently of the code under test."""

from __future__ import annotations

import hashlib
import json

import pytest
from probe_independent import inspect

from proxxtest import PROFILE_CODECS, job_doc

CODEC_NAMES = {"h264": "h264", "prores": "prores", "dnxhr": "dnxhd"}
PIX = {"h264": "yuv420p", "prores": "yuv422p10le", "dnxhr": "yuv422p"}


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


SOURCES = {
    # 10-bit ProRes 4:2:2 in MOV, 29.97 drop-frame timecode, three audio streams (mono, stereo, mono)
    "prores-mov": dict(name="A001_C001 ÉTÉ.mov", video="prores_hq"),
    # DNxHR HQ in OP1a MXF (an Avid camera-card export), same rate, timecode and tracks
    "dnxhr-mxf": dict(name="A001_C001 ÉTÉ.mxf", video="dnxhr_hq"),
}


@pytest.mark.parametrize("kind", sorted(SOURCES))
@pytest.mark.parametrize("profile", sorted(PROFILE_CODECS))
def test_profile_is_relink_safe(profile, kind, proxx, write_job, media, outdir):
    # odd raster too: everything a camera throws at an assistant editor
    spec = SOURCES[kind]
    src = media(
        spec["name"],
        video=spec["video"],
        size="321x181",
        rate="30000/1001",
        frames=8,
        timecode="00:59:59;28",
        audio=(1, 2, 1),
    )
    r = proxx("run", write_job(job_doc([src], outdir, profile=profile)))
    assert r.returncode == 0, r.stderr
    result = r.json()
    clip = result["clips"][0]
    assert result["status"] == "COMPLETED" and clip["failure"] is None
    out = outdir / f"A001_C001 ÉTÉ_proxy.{PROFILE_CODECS[profile][1]}"
    assert clip["output"]["path"] == str(out)
    assert clip["output"]["sha256"] == sha(out) and clip["output"]["size"] == out.stat().st_size
    assert clip["output"]["verification"]["ok"] is True
    codec = PROFILE_CODECS[profile][0]
    got = inspect(out)
    assert got["video_codec"] == CODEC_NAMES[codec]
    assert got["pix_fmt"] == PIX[codec]
    assert (got["width"], got["height"]) == (320, 180)  # even, rounded down: never upscaled
    assert got["sar"] in ("1", "1/1", "0")
    assert got["rate"] == "30000/1001"
    assert got["frames"] == 8
    assert "00:59:59;28" in got["timecodes"]
    assert [ch for _, ch, _ in got["audio"]] == [1, 2, 1]
    if codec == "h264":
        assert {a for a, _, _ in got["audio"]} == {"aac"} and {r for _, _, r in got["audio"]} == {48000}
        assert got["colors"] == (1, 1, 1)  # BT.709 tags, as the profile promises
    else:
        assert {a for a, _, _ in got["audio"]} == {"pcm_s24le"}
    assert not [p for p in outdir.iterdir() if p.name.startswith(".")], "no temp file left behind"


@pytest.mark.parametrize(
    "rate,tc",
    [("60000/1001", "23:59:59;58"), ("24000/1001", "00:00:00:00"), ("25/1", "10:00:00:24"), ("50/1", "01:02:03:49")],
)
def test_timecode_and_rate_survive(rate, tc, proxx, write_job, media, outdir):
    src = media("tc.mov", size="256x144", rate=rate, frames=5, timecode=tc)
    r = proxx("run", write_job(job_doc([src], outdir, profile="offline_dnxhr_lb_1920x1080")))
    assert r.returncode == 0, r.stderr
    got = inspect(outdir / "tc_proxy.mxf")
    assert tc in got["timecodes"] and got["rate"] == rate.removesuffix("/1") and got["frames"] == 5


@pytest.mark.parametrize("profile", sorted(PROFILE_CODECS))
def test_reruns_and_worker_counts_give_identical_bytes(profile, proxx, write_job, media, tmp_path):
    srcs = [
        media(f"C00{i}.mov", size="256x144", rate="25/1", frames=5, audio=(2,), timecode=f"0{i}:00:00:00")
        for i in range(1, 5)
    ]
    hashes, results = [], []
    for run, workers in enumerate((1, 1, 4)):
        out = tmp_path / f"run{run}"
        out.mkdir()
        r = proxx("run", write_job(job_doc(srcs, out, profile=profile)), "--max-workers", workers)
        assert r.returncode == 0, r.stderr
        hashes.append([c["output"]["sha256"] for c in r.json()["clips"]])
        results.append(r.json())
    assert hashes[0] == hashes[1] == hashes[2]
    assert [c["index"] for c in results[2]["clips"]] == [1, 2, 3, 4]  # source order


def test_same_output_dir_results_equal_after_dropping_timing(proxx, write_job, media, outdir):
    from proxx_core.pipeline.serialization import strip_timing

    srcs = [media(f"S{i}.mov", frames=4) for i in range(3)]
    job = write_job(job_doc(srcs, outdir, overwrite=True, user_metadata={"show": "Été", "ep": 3}))
    a = proxx("run", job, "--max-workers", 1)
    b = proxx("run", job, "--max-workers", 3)
    assert a.returncode == b.returncode == 0
    assert json.dumps(strip_timing(a.json())) == json.dumps(strip_timing(b.json()))
    assert "Été" in a.stdout  # UTF-8, not \\u escapes


@pytest.mark.parametrize(
    "name,kw,expect",
    [
        ("anamorphic", {"size": "144x108", "sar": "4/3"}, (192, 108)),  # display 16:9 -> square pixels
        ("tiny odd", {"size": "63x35"}, (62, 34)),
        ("big 4k-ish", {"size": "2400x1000"}, (1920, 800)),
    ],
)
def test_raster_rule(name, kw, expect, proxx, write_job, media, outdir):
    src = media(f"{name}.mov", frames=3, **kw)
    r = proxx("run", write_job(job_doc([src], outdir, profile="offline_prores_proxy_1920x1080")))
    assert r.returncode == 0, r.stderr
    got = inspect(outdir / f"{name}_proxy.mov")
    assert (got["width"], got["height"]) == expect


XAVC_INTRA = ("-profile:v", "high422", "-pix_fmt", "yuv422p10le", "-x264-params", "keyint=1")


@pytest.mark.parametrize(
    "video,ext,size,extra",
    [
        ("dnxhr_hq", "mxf", "256x144", ()),
        ("h264", "mp4", "256x144", ()),
        ("hevc", "mov", "256x144", ()),
        ("mpeg2", "mts", "256x144", ()),
        ("mjpeg", "mov", "256x144", ()),
        ("h264", "m4v", "256x144", ()),
        ("h264", "m2ts", "256x144", ()),
        ("mpeg2", "mxf", "256x144", ()),  # XDCAM-style MPEG-2 in MXF
        ("h264", "mxf", "1920x1080", XAVC_INTRA),  # AVC-Intra / XAVC-I style 10-bit 4:2:2 intra in MXF
    ],
    ids=[
        "dnxhr-mxf",
        "h264-mp4",
        "hevc-mov",
        "mpeg2-mts",
        "mjpeg-mov",
        "h264-m4v",
        "h264-m2ts",
        "mpeg2-mxf",
        "xavc-intra-mxf",
    ],
)
def test_formats_route_to_ffmpeg(video, ext, size, extra, proxx, write_job, media, outdir):
    frames = 2 if size == "1920x1080" else 4
    src = media(f"cam.{ext}", video=video, size=size, frames=frames, audio=(2,), extra=extra)
    r = proxx("run", write_job(job_doc([src], outdir, profile="offline_h264_1280x720")))
    assert r.returncode == 0, r.stderr
    clip = r.json()["clips"][0]
    assert clip["engine"] == "ffmpeg" and clip["status"] == "COMPLETED"
    assert inspect(outdir / "cam_proxy.mp4")["frames"] == frames


def test_ten_bit_prores_to_eight_bit_profiles(proxx, write_job, media, outdir):
    src = media("tenbit.mov", video="prores_4444", size="256x144", frames=3)
    for profile, ext in (("offline_h264_1920x1080", "mp4"), ("offline_dnxhr_lb_1920x1080", "mxf")):
        r = proxx("run", write_job(job_doc([src], outdir, profile=profile)))
        assert r.returncode == 0, r.stderr
        assert inspect(outdir / f"tenbit_proxy.{ext}")["pix_fmt"] in ("yuv420p", "yuv422p")


def test_interlaced_source_keeps_field_order(proxx, write_job, media, outdir):
    src = media("interlaced.mov", size="96x54", rate="30000/1001", frames=4, field_order="tt")
    r = proxx("run", write_job(job_doc([src], outdir, profile="offline_prores_lt_1920x1080")))
    assert r.returncode == 0, r.stderr
    checks = {c["name"]: c for c in r.json()["clips"][0]["output"]["verification"]["checks"]}
    assert checks["field_dominance"]["ok"] and checks["field_dominance"]["actual"] == "tff"
