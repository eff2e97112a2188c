"""The exact ffmpeg argument vector of one clip, per profile. Pure functions of the request.

Every byte-affecting parameter is pinned (ffmpeg-determinism findings): encoder settings, x264's
thread count (x264 output depends on it), bitexact flags on the muxer and every stream, metadata
dropped and the source timecode passed back explicitly, every audio stream mapped.
"""

from __future__ import annotations

import os

from proxx_core.engine import ClipRequest

#: x264's thread count is part of its output; pinned so every node makes the same bytes
X264_THREADS = 4
#: intra codecs produce identical bytes at any thread count; pinned anyway for clarity
INTRA_THREADS = 2
#: AAC bit rate per channel (kb/s), capped per stream
AAC_KBPS_PER_CHANNEL = 96
AAC_MAX_KBPS = 512

INTERLACED = ("tt", "bb", "tb", "bt")


def _video_args(req: ClipRequest) -> list[str]:
    p = req.profile
    v = req.source_info.video
    interlaced = v.field_order in INTERLACED
    scale = f"scale={req.width}:{req.height}:flags=bicubic+bitexact+accurate_rnd"
    if interlaced:
        scale += ":interl=1"
    if p.codec == "h264":
        scale += ":out_color_matrix=bt709:out_range=tv"
    vf = f"{scale},setsar=1,format={p.pix_fmt}"
    if p.color_tags:
        # encoders take colour tags from the frames, so the tags are set on the frames themselves
        primaries, transfer, matrix = p.color_tags
        vf += f",setparams=color_primaries={primaries}:color_trc={transfer}:colorspace={matrix}:range=tv"
    args = ["-vf", vf, "-fps_mode", "passthrough"]
    flags = "+bitexact" + ("+ildct+ilme" if interlaced else "")
    if p.codec == "h264":
        args += ["-c:v", "libx264", "-profile:v", "high", "-preset", "veryfast", "-crf", "23",
                 "-g", str(max(1, v.frame_rate.nominal)), "-threads", str(X264_THREADS)]
    elif p.codec == "prores":
        args += ["-c:v", "prores_ks", "-profile:v", "0" if "proxy" in p.name else "1", "-vendor", "apl0",
                 "-threads", str(INTRA_THREADS)]
    elif p.codec == "dnxhr":
        args += ["-c:v", "dnxhd", "-profile:v", "dnxhr_lb", "-threads", str(INTRA_THREADS)]
    else:  # pragma: no cover - the catalogue is closed
        raise ValueError(p.name)
    args += ["-pix_fmt", p.pix_fmt, "-flags:v", flags]
    if interlaced:
        args += ["-field_order", v.field_order]
    return args


def _audio_args(req: ClipRequest) -> list[str]:
    p = req.profile
    args: list[str] = []
    streams = req.source_info.audio
    if not streams:
        return ["-an"]
    if p.audio_codec == "aac":
        args += ["-c:a", "aac"]
        for i, a in enumerate(streams):
            args += [f"-b:a:{i}", f"{min(AAC_KBPS_PER_CHANNEL * a.channels, AAC_MAX_KBPS)}k"]
    else:
        args += ["-c:a", p.audio_codec]
    if p.audio_sample_rate:
        args += ["-ar", str(p.audio_sample_rate)]
    return args + ["-flags:a", "+bitexact"]


def build_argv(ffmpeg: str, req: ClipRequest) -> list[str]:
    """ffmpeg argv for one clip. Paths are absolute and prefixed ``file:`` so no file name is ever
    read as an option (``-y.mov``) or a protocol (``concat:a|b.mov``)."""
    info = req.source_info
    argv = [ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "warning", "-y",
            "-i", "file:" + req.source, "-map", "0:v:0"]
    for a in info.audio:
        argv += ["-map", f"0:a:{a.index}"]
    argv += ["-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn"]
    argv += _video_args(req)
    argv += _audio_args(req)
    if info.start_timecode:
        argv += ["-metadata:s:v:0", f"timecode={info.start_timecode}"]
    argv += ["-fflags", "+bitexact", "-f", req.profile.container, "file:" + req.temp_path]
    return argv


TIMEOUT_ENV = "PROXX_FFMPEG_TIMEOUT_SECONDS"


def timeout_for(req: ClipRequest) -> float:
    """Deadline: generous for a slow node (2 min + 20x the clip's duration), but a hung ffmpeg
    never blocks a job forever. ``PROXX_FFMPEG_TIMEOUT_SECONDS`` sets a fixed deadline instead."""
    fixed = os.environ.get(TIMEOUT_ENV)
    if fixed:
        return float(fixed)
    duration = req.source_info.duration_seconds or 0.0
    return float(round(120 + 20 * duration))
