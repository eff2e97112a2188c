"""Interlaced sources into 4:2:0 (H.264) proxies: each field is half the frame's lines and 4:2:0
halves them again for chroma, so the frame height must be a multiple of 4. A 720x486 D1 NTSC
source (tape captures, uncompressed and ProRes masters) once passed validation and failed in x264."""

from proxx_core.pipeline.check import check_document
from proxx_core.pipeline.runner import run_job
from proxx_core.support.plugins import load_engines
from proxx_engine_ffmpeg.testmedia import make_source
from proxxtest import job_doc


def test_d1_ntsc_interlaced_makes_a_verified_h264_proxy(tmp_path):
    src = make_source(
        tmp_path / "D1_NTSC.mov",
        size="720x486",
        sar="10/11",
        rate="30000/1001",
        frames=4,
        field_order="bff",
        timecode="01:00:00;00",
        audio=(2,),
    )
    out = tmp_path / "out"
    out.mkdir()
    engines = load_engines()
    for profile in ("offline_h264_1280x720", "offline_h264_1920x1080", "offline_prores_proxy_1920x1080"):
        checked = check_document(
            job_doc([src], out, profile=profile, output_name_template="{source_name}_{profile}"), engines
        )
        assert checked.job is not None, checked.problems
        request = checked.job.clips[0].plan.request
        if profile.startswith("offline_h264"):
            assert request.height % 4 == 0, f"{request.width}x{request.height}: a field of 4:2:0 needs even lines"
        clip = run_job(checked.job, engines).clips[0]
        assert clip.status == "COMPLETED", (profile, clip.failure)


def test_a_divided_raster_an_interlaced_420_proxy_cannot_carry_is_refused_at_validation(tmp_path):
    src = make_source(
        tmp_path / "XDCAM.mov", size="1920x1080", rate="25/1", frames=2, field_order="tff", video="prores_hq", audio=()
    )
    out = tmp_path / "out"
    out.mkdir()
    doc = job_doc([src], out, profile="offline_h264_1280x720", jobspec_version="1.1.0", raster="quarter")
    checked = check_document(doc, load_engines())
    assert checked.job is None
    assert any(p.path == "/raster" and "divisible by 4" in p.message for p in checked.problems), checked.problems
