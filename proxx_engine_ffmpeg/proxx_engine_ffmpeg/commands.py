"""The exact ffmpeg argument vector of one clip, per profile. Pure functions of the request.

Every byte-affecting parameter is pinned (ffmpeg-determinism findings): encoder settings, x264's
thread count (x264 output depends on it), bitexact flags on the muxer and every stream, metadata
dropped and the source timecode passed back explicitly, every audio stream mapped.
"""

from __future__ import annotations

import os

from proxx_core import ClipRequest, ProxxError
from proxx_core.kit import H264_THREADS, ZERO_TIMECODE, assumed_color_tags, intra_threads, output_color_tags

from .overlays import look_chain, text_filters

#: x264's thread count is part of its output; pinned so every node makes the same bytes
X264_THREADS = H264_THREADS
#: ProRes encoder per profile (evidence in docs/performance.md): prores_aw for Proxy (3-5x less CPU,
#: at or under Apple's 45 Mb/s except on very grainy images); prores_ks for LT, because prores_aw
#: overshoots LT's 102 Mb/s by 30-45 % on grainy images where prores_ks stays within ~7 %
#: keyed by the profile's codec profile (Profile.codec_profile), never by its name
PRORES_ENCODERS = {"Proxy": ("prores_aw", "0"), "LT": ("prores_ks", "1")}
#: DNxHR's default forward DCT is the SIMD one (bytes differ per CPU); the integer C DCT is exact
DNXHR_DCT = "int"
#: AAC bit rate per channel (kb/s), capped per stream
AAC_KBPS_PER_CHANNEL = 96
AAC_MAX_KBPS = 512
#: FFmpeg's machine-readable progress stream, on the encoder's stdout (proxx_core.contract.progress)
PROGRESS_ARGS = ["-progress", "pipe:1"]


#: colour matrix tag -> the name the scale filter takes
_SWS_MATRIX = {"bt709": "bt709", "bt470bg": "bt601", "smpte170m": "smpte170m", "bt2020nc": "bt2020"}


def _video_args(req: ClipRequest) -> list[str]:
    p = req.profile
    v = req.source_info.video
    assert v is not None  # routing refuses a source without video
    interlaced = v.field_dominance in ("tff", "bff")
    scale = f"scale={req.width}:{req.height}:flags=bicubic+bitexact+accurate_rnd"
    if interlaced:
        scale += ":interl=1"
    if req.look is not None:
        # the look works in R'G'B' (overlays.py): to RGB with the source's matrix, back with the output's
        vf = look_chain(req, scale + _assumed_matrix(v), _output_matrix(v, p), interlaced)
    else:
        if p.codec == "h264":
            # an untagged source's matrix is assumed from its raster (swscale alone would assume BT.601)
            scale += _assumed_matrix(v)
            scale += ":out_color_matrix=bt709:out_range=tv"
        vf = scale
    vf += f",setsar={'1' if req.sample_aspect == '1:1' else req.sample_aspect.replace(':', '/')}"
    if interlaced:
        # encoders take the field shown first from the frames; say it explicitly
        vf += f",setfield={v.field_dominance}"
    vf += f",format={p.pix_fmt}"
    # encoders take colour tags from the frames, so the tags are set on the frames themselves
    primaries, transfer, matrix = output_color_tags(v, p)
    vf += f",setparams=color_primaries={primaries}:color_trc={transfer}:colorspace={matrix}:range=tv"
    if req.burn_in is not None:
        vf += "," + ",".join(text_filters(req))  # drawn last, on the final frame
    args = ["-vf", vf, "-fps_mode", "passthrough"]
    flags = "+bitexact" + ("+ildct+ilme" if interlaced else "")
    if p.codec == "h264":
        args += [
            "-c:v",
            "libx264",
            "-profile:v",
            "high",
            "-preset",
            "veryfast",
            "-crf",
            "23",
            "-g",
            str(max(1, v.frame_rate.nominal)),
            "-threads",
            str(X264_THREADS),
        ]
    elif p.codec == "prores":
        encoder, profile = PRORES_ENCODERS[p.codec_profile]
        args += ["-c:v", encoder, "-profile:v", profile, "-vendor", "apl0", "-threads", str(intra_threads())]
    elif p.codec == "dnxhr":
        args += ["-c:v", "dnxhd", "-profile:v", "dnxhr_lb", "-dct", DNXHR_DCT, "-threads", str(intra_threads())]
    else:  # pragma: no cover - the catalogue is closed
        raise ValueError(p.name)
    args += ["-pix_fmt", p.pix_fmt, "-flags:v", flags]
    if interlaced and p.codec == "h264":
        # libx264 ignores the frames' field flags and codes top field first unless told
        args += ["-x264-params", f"{v.field_dominance}=1"]
    return args


def _assumed_matrix(v) -> str:
    """swscale's input matrix option for an untagged source, assumed from its raster; "" if tagged."""
    return f":in_color_matrix={_SWS_MATRIX[assumed_color_tags(v)[2]]}" if v.color_space is None else ""


def _output_matrix(v, p) -> str:
    """The swscale name of the matrix the proxy is tagged with (R'G'B' back to Y'CbCr after a look)."""
    matrix = output_color_tags(v, p)[2]
    if matrix not in _SWS_MATRIX:
        raise ProxxError(
            f"cannot apply /look to a source with colour matrix {matrix!r}; FFmpeg's scaler converts "
            f"{', '.join(sorted(_SWS_MATRIX))} only",
            category="unsupported_source",
        )
    return _SWS_MATRIX[matrix]


def needs_audio_pass(req: ClipRequest) -> bool:
    """AAC is encoded in a pass of its own with SIMD disabled: FFmpeg's AAC encoder gives other bytes
    with other SIMD instruction sets (any coder), so a fleet of mixed CPUs would disagree."""
    return req.profile.audio_codec == "aac" and bool(req.source_info.audio)


def audio_temp_path(req: ClipRequest) -> str:
    """Where the audio pass writes (beside the clip's temp output; removed after the mux)."""
    return req.temp_path + ".audio"


def build_audio_argv(ffmpeg: str, req: ClipRequest) -> list[str]:
    """The audio pass: every audio stream of the source encoded to AAC with ``-cpuflags 0``, so the
    bytes are the C reference's on every x86-64 CPU. Costs a demux of the source and ~1 s of CPU
    per minute of stereo (docs/performance.md)."""
    argv = [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "warning",
        "-y",
        "-cpuflags",
        "0",
        "-i",
        "file:" + req.source,
    ]
    for a in req.source_info.audio:
        argv += ["-map", f"0:a:{a.index}"]
    argv += ["-map_metadata", "-1", "-map_chapters", "-1", "-vn", "-sn", "-dn"]
    argv += _audio_args(req, encode=True)
    return argv + ["-fflags", "+bitexact", "-f", "mp4", "file:" + audio_temp_path(req)]


def _audio_args(req: ClipRequest, *, encode: bool = False) -> list[str]:
    p = req.profile
    args: list[str] = []
    streams = req.source_info.audio
    if not streams:
        return ["-an"]
    if needs_audio_pass(req) and not encode:
        return ["-c:a", "copy"]
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
    audio_pass = needs_audio_pass(req)
    return [
        *input_argv(ffmpeg, req, [audio_temp_path(req)] if audio_pass else []),
        *output_argv(req, audio_input=1 if audio_pass else None),
    ]


def input_argv(ffmpeg: str, req: ClipRequest, audio_inputs: list[str]) -> list[str]:
    """The command's global options and inputs: the source (input 0), then audio passes' files."""
    info = req.source_info
    argv = [ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "warning", "-y"]
    # live progress as key=value blocks on stdout (read only when someone listens); output bytes unchanged
    argv += PROGRESS_ARGS
    if info.video.rotation:  # type: ignore[union-attr]  # routing refuses a source without video
        # keep the stored raster and its rotation flag, as the source has them (NLEs apply it alike)
        argv += ["-noautorotate"]
    argv += ["-i", "file:" + req.source]
    for path in audio_inputs:
        argv += ["-i", "file:" + path]
    return argv


def output_argv(req: ClipRequest, *, audio_input: int | None) -> list[str]:
    """One output file of the command: its streams (audio from input ``audio_input``, an audio pass's
    file, or None: from the source), filters, encoders, metadata and muxer."""
    info = req.source_info
    argv = ["-map", "0:v:0"]
    for k, a in enumerate(info.audio):
        argv += ["-map", f"{audio_input}:a:{k}" if audio_input is not None else f"0:a:{a.index}"]
    argv += ["-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn"]
    argv += _video_args(req)
    argv += _audio_args(req)
    # a source without timecode starts at 00:00:00:00, the NLE rule; every proxy says so explicitly
    argv += ["-metadata:s:v:0", f"timecode={info.start_timecode or ZERO_TIMECODE}"]
    if info.reel_name and req.profile.container == "mov":
        argv += ["-metadata:s:v:0", f"reel_name={info.reel_name}"]  # the tmcd track's reel name
    elif info.reel_name and req.profile.container == "mxf":
        argv += ["-metadata", f"material_package_name={info.reel_name}"]  # the name FFmpeg's MXF can write
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
