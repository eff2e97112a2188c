"""The simulator's "render": a real media file written with the pinned FFmpeg binary.

The file follows what Resolve would do with the job: raster from FormatWidth/FormatHeight, the
timeline frame rate, the source clip's frame count, the source timecode in individual-clips mode
(render mode 0) but the timeline's 01:00:00:00 in single-clip mode (1), audio only if ExportAudio,
PCM at AudioBitDepth, codec from the current format/codec id. Scenario ``render.outcome`` injects
lies: ``no_output`` (Complete, nothing written), ``garbage`` (Complete, unreadable bytes),
``wrong_frame_count`` (Complete, ``frame_delta`` frames off), ``failed`` (Failed + Error).
Quirks (see :mod:`.fake`): ``output_named_from_source`` names the file after the source clip,
``multi_mono_audio`` writes one mono stream per channel.
"""

from __future__ import annotations

import subprocess
from fractions import Fraction
from pathlib import Path

_VIDEO = {
    "ProRes422Proxy": ["-c:v", "prores_ks", "-profile:v", "0", "-pix_fmt", "yuv422p10le", "-vendor", "apl0"],
    "ProRes422LT": ["-c:v", "prores_ks", "-profile:v", "1", "-pix_fmt", "yuv422p10le", "-vendor", "apl0"],
    "ProRes422": ["-c:v", "prores_ks", "-profile:v", "2", "-pix_fmt", "yuv422p10le"],
    "ProRes422HQ": ["-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le"],
    "DNxHRLB": ["-c:v", "dnxhd", "-profile:v", "dnxhr_lb", "-pix_fmt", "yuv422p"],
    "DNxHRSQ": ["-c:v", "dnxhd", "-profile:v", "dnxhr_sq", "-pix_fmt", "yuv422p"],
    "DNxHRHQ": ["-c:v", "dnxhd", "-profile:v", "dnxhr_hq", "-pix_fmt", "yuv422p"],
    "H264": ["-c:v", "libx264", "-pix_fmt", "yuv420p"],
}
_MUXER = {"mov": "mov", "mxf_op1a": "mxf", "mp4": "mp4"}


def ffmpeg_exe() -> str:
    try:
        import imageio_ffmpeg
    except ImportError as exc:  # pragma: no cover
        raise RuntimeError(
            "the Resolve simulator needs imageio-ffmpeg: pip install "
            "'./proxx_engine_resolve[simulator]' (from a clone of the Proxx repository)"
        ) from exc
    return imageio_ffmpeg.get_ffmpeg_exe()


def render_job(job: dict, project, render: dict) -> str | None:
    """Write the job's output; return an error string for a Failed job, None for Complete."""
    outcome = render.get("outcome", "ok")
    if outcome == "failed":
        return render.get("error", "Render failed: simulated decoder error")
    settings = job["_settings"]
    quirks = project._sim.quirks
    out = Path(job["TargetDir"], job["OutputFilename"])
    if quirks.get("output_named_from_source") and job["RenderMode"] == 0:
        out = out.with_name(Path(job["_timeline"].clips[0].path).stem + out.suffix)
    if outcome == "no_output":
        return None  # a lying "Complete"
    if outcome == "garbage":
        out.write_bytes(b"\x00\x00\x00\x08free" + b"not a movie " * 64)
        return None
    if not settings.get("ExportVideo", True):
        return None  # e.g. after the "Audio Only" preset: nothing useful
    from .fake import exact_timeline_rate

    clip = job["_timeline"].clips[0]
    m = clip.manifest
    rate = exact_timeline_rate(project.settings["timelineFrameRate"])
    frames = int(m["frames"])
    if outcome == "wrong_frame_count":
        frames = max(1, frames + int(render.get("frame_delta", -1)))
    width = int(settings.get("FormatWidth", 1920))
    height = int(settings.get("FormatHeight", 1080))
    tc = m.get("start_timecode") if job["RenderMode"] == 0 else job["_timeline"].start_tc
    channels = int(m.get("audio_channels") or 0) if settings.get("ExportAudio", True) else 0
    sample_rate = int(settings.get("AudioSampleRate") or m.get("sample_rate") or 48000)
    bits = int(settings.get("AudioBitDepth") or 24)
    codec = job["VideoCodec"]
    fmt = job["VideoFormat"]
    duration = float(Fraction(frames) / rate)
    argv = [
        ffmpeg_exe(),
        "-nostdin",
        "-v",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={width}x{height}:rate={rate.numerator}/{rate.denominator}",
    ]
    if channels:
        argv += ["-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={sample_rate}:duration={duration:.6f}"]
    argv += ["-map", "0:v", "-frames:v", str(frames)] + _VIDEO[codec]
    if channels:
        if quirks.get("multi_mono_audio"):
            labels = [f"[a{i}]" for i in range(channels)]
            argv += [
                "-filter_complex",
                f"[1:a]asplit={channels}" + "".join(labels) if channels > 1 else "[1:a]anull[a0]",
            ]
            for label in labels:
                argv += ["-map", label]
        else:
            layout = {1: "mono", 2: "stereo"}.get(channels, f"{channels}c")
            pan = "|".join(f"c{i}=c0" for i in range(channels))
            argv += ["-filter_complex", f"[1:a]pan={layout}|{pan}[a]", "-map", "[a]"]
        argv += [
            "-c:a",
            {16: "pcm_s16le", 24: "pcm_s24le", 32: "pcm_s32le"}.get(bits, "pcm_s24le"),
            "-ar",
            str(sample_rate),
        ]
    if tc:
        argv += ["-timecode", tc]
    # bitexact: the MXF muxer otherwise writes fresh identifiers on every run
    argv += [
        "-threads",
        "1",
        "-fflags",
        "+bitexact",
        "-flags:v",
        "+bitexact",
        "-flags:a",
        "+bitexact",
        "-f",
        _MUXER[fmt],
        str(out),
    ]
    proc = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    if proc.returncode != 0:
        out.unlink(missing_ok=True)
        return "simulator ffmpeg failed: " + proc.stderr.decode("utf-8", "replace")[-500:]
    return None
