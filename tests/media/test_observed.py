"""The failures seen on real camera-like files (issue 10), each reproduced with a tiny real source."""

from __future__ import annotations

import pytest
from mediainfo_inspect import displayed_field_order, needs_mediainfo
from probe_independent import inspect

from proxxtest import PROFILE_CODECS, job_doc

ALL = sorted(PROFILE_CODECS)


def run(proxx, write_job, src, outdir, profile):
    r = proxx("run", write_job(job_doc([src], outdir, profile=profile)))
    return r, r.json()


def checks_of(clip) -> dict:
    return {c["name"]: c for c in clip["output"]["verification"]["checks"]}


@pytest.mark.parametrize("profile", ALL)
def test_source_without_timecode_starts_at_zero_on_every_profile(profile, proxx, write_job, media, outdir):
    # bigbuckbunny-style MP4: no timecode anywhere. NLEs start such a file at 00:00:00:00.
    src = media("bikes.mp4", video="h264", size="256x144", rate="25/1", frames=4, timecode=None, audio=(2,))
    r, res = run(proxx, write_job, src, outdir, profile)
    assert r.returncode == 0, r.stderr
    clip = res["clips"][0]
    assert checks_of(clip)["start_timecode"] == {
        "name": "start_timecode",
        "expected": "00:00:00:00",
        "actual": "00:00:00:00",
        "ok": True,
    }
    assert any("no timecode" in n for n in clip["output"]["verification"]["notes"])
    assert "00:00:00:00" in inspect(outdir / f"bikes_proxy.{PROFILE_CODECS[profile][1]}")["timecodes"]


INTERLACED = {
    # XDCAM HD422 style: 1080i25 MPEG-2 4:2:2 in OP1a MXF, top field first
    "xdcam-1080i25-tff.mxf": dict(video="mpeg2_422", size="1920x1080", field_order="tff"),
    # HDV style: 1440x1080 (PAR 4:3) H.264, top field first
    "hdv-1440x1080i-tff.m2ts": dict(video="h264", size="1440x1080", sar="4/3", field_order="tff"),
    # DV PAL: 720x576 bottom field first
    "dv-pal-bff.mov": dict(video="dv", size="720x576", sar="16/15", field_order="bff"),
}


@needs_mediainfo
@pytest.mark.parametrize("profile", ["offline_prores_proxy_1920x1080", "offline_h264_1920x1080"])
@pytest.mark.parametrize("name", sorted(INTERLACED))
def test_interlaced_field_dominance_as_displayed_agrees_with_mediainfo(name, profile, proxx, write_job, media, outdir):
    src = media(name, rate="25/1", frames=2, timecode="10:00:00:00", audio=(1,), **INTERLACED[name])
    expected = displayed_field_order(src)
    assert expected in ("tff", "bff")
    r, res = run(proxx, write_job, src, outdir, profile)
    assert r.returncode == 0, r.stderr
    check = checks_of(res["clips"][0])["field_dominance"]
    assert check["ok"] and check["expected"] == check["actual"] == expected  # Proxx reads what MediaInfo reads
    out = outdir / f"{name.rsplit('.', 1)[0]}_proxy.{PROFILE_CODECS[profile][1]}"
    assert displayed_field_order(out) == expected


def test_interlaced_source_is_refused_for_dnxhr_at_validate(proxx, write_job, media, outdir):
    src = media("xdcam.mxf", video="mpeg2_422", size="1920x1080", rate="25/1", frames=2, field_order="tff")
    r = proxx("validate", write_job(job_doc([src], outdir, profile="offline_dnxhr_lb_1920x1080")))
    assert r.returncode == 1
    assert "interlaced" in r.stderr and "choose" in r.stderr, r.stderr
    assert not list(outdir.iterdir())


def test_mpeg1_program_stream_frame_rate_is_the_real_one(proxx, write_job, media, outdir):
    src = media("vcd.mpg", video="mpeg1", size="352x288", rate="25/1", frames=6, timecode=None, audio=())
    from proxx_core.contract.avprobe import probe_file

    assert str(probe_file(src, probed_by="t").video.frame_rate) == "25/1"
    r, res = run(proxx, write_job, src, outdir, "offline_h264_1280x720")
    assert r.returncode == 0, r.stderr


REEL = "A001R2AB"


@pytest.mark.parametrize("ext", ["mov", "mxf"])
@pytest.mark.parametrize("profile", ALL)
def test_reel_name_is_carried_where_the_container_can(ext, profile, proxx, write_job, media, outdir):
    src = media(
        f"A001C003.{ext}",
        video="prores_hq" if ext == "mov" else "dnxhr_hq",
        size="256x144",
        rate="25/1",
        frames=3,
        reel=REEL,
    )
    r, res = run(proxx, write_job, src, outdir, profile)
    assert r.returncode == 0, r.stderr
    clip = res["clips"][0]
    assert clip["source"]["info"]["reel_name"] == REEL
    container = PROFILE_CODECS[profile][1]
    got = inspect(outdir / f"A001C003_proxy.{container}")
    if container == "mp4":  # MP4 has no reel field NLEs read: said in the result, not silently dropped
        assert "reel_name" not in checks_of(clip)
        assert any(REEL in n and "MP4" in n for n in clip["output"]["verification"]["notes"])
    else:
        assert checks_of(clip)["reel_name"]["ok"]
        assert REEL in got["reel_names"]


@pytest.mark.parametrize("color", [("bt709", "bt709", "bt709"), None], ids=["tagged", "untagged"])
@pytest.mark.parametrize("profile", ["offline_prores_proxy_1920x1080", "offline_prores_lt_1920x1080"])
def test_prores_proxies_carry_bt709_colour_tags(profile, color, proxx, write_job, media, outdir):
    # an untagged HD-like camera file (many H.264 cameras) is BT.709 to every NLE: the proxy says so
    src = media("hd.mp4", video="h264", size="256x144", rate="25/1", frames=3, color=color)
    r, res = run(proxx, write_job, src, outdir, profile)
    assert r.returncode == 0, r.stderr
    assert checks_of(res["clips"][0])["color_tags"]["ok"]
    assert inspect(outdir / "hd_proxy.mov")["colors"] == (1, 1, 1)


DNXHR_INTERLACED_STDERR = (  # FFmpeg 9.0.2's stderr, verbatim
    "[dnxhd] Interlaced encoding is not supported for DNxHR profiles.\n"
    "[dnxhd] ff_frame_thread_encoder_init failed\n"
    "[vost#0:0/dnxhd] [enc:dnxhd] Error while opening encoder - maybe incorrect parameters such as bit_rate, "
    "rate, width or height.\n"
    "[vf#0:0] Error sending frames to consumers: Invalid argument\n"
    "[vf#0:0] Task finished with error code: -22 (Invalid argument)\n"
    "[out#0/mxf] Nothing was written into output file, because at least one of its streams received no packets.\n"
)


def test_error_headline_is_the_decisive_stderr_line():
    from proxx_core.support.process import _headline

    assert _headline(DNXHR_INTERLACED_STDERR) == "[dnxhd] Interlaced encoding is not supported for DNxHR profiles."
    assert _headline("file:/x/a.mov: No such file or directory\n") == "file:/x/a.mov: No such file or directory"
    assert _headline("just a warning\nlast words\n") == "last words"


def test_encode_failure_message_names_the_cause(tmp_path):
    """A real failing ffmpeg run: the ClipFailure message carries the decisive line."""
    from proxx_core.contract.engine import Command
    from proxx_core.contract.errors import ClipFailure
    from proxx_core.support.process import run_command
    from proxx_engine_ffmpeg.binary import inspect_binary

    argv = [
        inspect_binary().path,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "warning",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x180:rate=25:d=0.1",
        "-vf",
        "setfield=tff",
        "-flags:v",
        "+ildct",
        "-c:v",
        "dnxhd",
        "-profile:v",
        "dnxhr_lb",
        "-pix_fmt",
        "yuv422p",
        "-f",
        "mxf",
        str(tmp_path / "x.mxf"),
    ]
    with pytest.raises(ClipFailure) as exc:
        run_command(Command(argv=argv, timeout_seconds=60, purpose="ffmpeg encode"))
    assert "Interlaced encoding is not supported" in exc.value.message
