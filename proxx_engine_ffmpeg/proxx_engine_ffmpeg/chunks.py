"""Chunked intra encoding with FFmpeg (contract 1.3): a chunk's command and the join's. Pure functions.

A chunk seeks with input ``-ss`` to half a frame before its first frame: FFmpeg decodes from the
preceding keyframe and discards every frame before that time (accurate seek, so long-GOP sources
work), then encodes exactly ``-frames:v`` frames, renumbered from 0 (``setpts``), with the single
pass's filters and encoder settings, into a MOV holding only video.

The join reads the chunks back to back (the concat demuxer, its list inline as a ``data:`` URL: no
list file to write or clean up), copies their packets, encodes the audio once from the source and
writes the single pass's metadata. The muxer then sees what the single pass gave it, packet for
packet, plus the one thing a stream copy loses: the ``encoder`` tag, which the MOV muxer writes
as the compressor name. The result is byte-identical to the single pass
(tests/ffmpeg/test_chunk_bytes.py proves it per profile, source kind, audio and SIMD).
"""

from __future__ import annotations

from fractions import Fraction

from proxx_core import ClipRequest
from proxx_core.kit import ZERO_TIMECODE

from .commands import PROGRESS_ARGS, _audio_args, _video_args
from .opatom import build_opatom_argv

#: source containers with a sample index, where FFmpeg's seek lands on the keyframe before the target
INDEXED_CONTAINERS = ("mov", "mp4", "mxf")
#: FFmpeg's base arguments, as every command of this engine starts
_BASE = ["-nostdin", "-hide_banner", "-nostats", "-loglevel", "warning", "-y"]


def chunk_refusal(req: ClipRequest) -> str | None:
    """Why FFmpeg does not chunk this clip (identity with the single pass not proven), or None."""
    video = req.source_info.video
    if req.look is not None or req.burn_in is not None:
        return "a look or burn-in writes per-clip scratch files and frame-numbered text; kept whole"
    if req.source_info.container not in INDEXED_CONTAINERS:
        return (
            f"seeking in {req.source_info.container} is not frame-exact (no sample index; a chunk of an MPEG-TS "
            f"source started frames late): kept whole"
        )
    if video is not None and video.rotation:
        return "a rotated source's display matrix is not proven to survive the join; kept whole"
    return None


def _seek_seconds(req: ClipRequest, first_frame: int) -> str:
    """Half a frame before ``first_frame``, relative to the source's start (FFmpeg adds its start time):
    the first frame kept is exactly ``first_frame`` whatever the rounding of its timestamp."""
    video = req.source_info.video
    assert video is not None  # routing refuses a source without video
    seconds = (Fraction(first_frame) - Fraction(1, 2)) / video.frame_rate.fraction
    return f"{float(seconds):.6f}"


def build_chunk_argv(ffmpeg: str, req: ClipRequest, first_frame: int, frame_count: int, path: str) -> list[str]:
    """One chunk: frames [first_frame, first_frame + frame_count) of the source, video only, to ``path``."""
    video = req.source_info.video
    assert video is not None  # routing refuses a source without video
    argv = [ffmpeg, *_BASE, *PROGRESS_ARGS]
    if first_frame > 0:
        argv += ["-ss", _seek_seconds(req, first_frame)]
    argv += [
        "-i",
        "file:" + req.source,
        "-map",
        "0:v:0",
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-an",
        "-sn",
        "-dn",
        "-frames:v",
        str(frame_count),
    ]
    args = _video_args(req)
    rate = video.frame_rate
    # frames numbered from 0 in the source's rate, whatever the seek left: the join adds each chunk's offset
    # (rounded: setpts truncates, and N*1001/(30000*TB) is 0.99999... with an MXF source's TB of 1001/30000)
    at = args.index("-vf") + 1
    args[at] += f",setpts=round(N*{rate.den}/({rate.num}*TB))"
    # the single pass's encoder time base is 1/rate: a MOV track timescale of the rate's numerator keeps
    # it through the join (the MOV muxer derives the movie timescale from the streams' time bases)
    return argv + args + ["-video_track_timescale", str(rate.num), "-fflags", "+bitexact", "-f", "mov", "file:" + path]


def concat_url(paths: tuple[str, ...]) -> str:
    """The concat demuxer's list of ``paths`` as a ``data:`` URL (base64: any byte of a path is safe)."""
    lines = ["ffconcat version 1.0"]
    for p in paths:
        lines.append("file '" + ("file:" + p).replace("'", "'\\''") + "'")
    text = "\n".join(lines) + "\n"
    import base64  # chunked clips only: not loaded for every start of the engine

    return "data:text/plain;base64," + base64.b64encode(text.encode("utf-8", "surrogateescape")).decode("ascii")


def _concat_input(chunk_paths: tuple[str, ...]) -> list[str]:
    return ["-protocol_whitelist", "file,data", "-f", "concat", "-safe", "0", "-i", concat_url(chunk_paths)]


def build_opatom_join_argv(ffmpeg: str, req: ClipRequest, encoder: str, chunk_paths: tuple[str, ...]) -> list[str]:
    """Layout ``avid_mxf``: the single pass's OP-Atom command (opatom.py), its video copied from the
    chunks (input 0) and its audio channels taken from the source (input 1); execute() then finishes
    the files (package ids, the master clip) as after a single pass."""
    single = build_opatom_argv(ffmpeg, req, ["-c:v", "copy", "-metadata:s:v:0", f"encoder=Lavc {encoder}"])
    at = single.index("-i")
    assert single[at + 1] == "file:" + req.source
    argv = [*single[:at], *PROGRESS_ARGS, *_concat_input(chunk_paths), "-i", "file:" + req.source]
    rest = single[at + 2 :]
    if "-filter_complex" in rest:  # the audio channels come from the source, now input 1
        k = rest.index("-filter_complex") + 1
        rest[k] = rest[k].replace("[0:a:", "[1:a:")
    return argv + rest


def build_join_argv(ffmpeg: str, req: ClipRequest, encoder: str, chunk_paths: tuple[str, ...]) -> list[str]:
    """The chunks' packets copied in order, the audio encoded from the source, the single pass's
    metadata (commands.build_argv), to the clip's temp output."""
    if req.layout == "avid_mxf":
        return build_opatom_join_argv(ffmpeg, req, encoder, chunk_paths)
    info = req.source_info
    argv = [ffmpeg, *_BASE, *PROGRESS_ARGS, *_concat_input(chunk_paths), "-i", "file:" + req.source, "-map", "0:v:0"]
    for a in info.audio:
        argv += ["-map", f"1:a:{a.index}"]
    argv += ["-map_metadata", "-1", "-map_chapters", "-1", "-sn", "-dn", "-c:v", "copy"]
    argv += _audio_args(req)
    argv += ["-metadata:s:v:0", f"timecode={info.start_timecode or ZERO_TIMECODE}"]
    if info.reel_name and req.profile.container == "mov":
        argv += ["-metadata:s:v:0", f"reel_name={info.reel_name}"]
    elif info.reel_name and req.profile.container == "mxf":
        argv += ["-metadata", f"material_package_name={info.reel_name}"]
    # what FFmpeg sets on an encoded stream under +bitexact, and a stream copy lacks (the MOV compressor name)
    argv += ["-metadata:s:v:0", f"encoder=Lavc {encoder}"]
    return argv + ["-fflags", "+bitexact", "-f", req.profile.container, "file:" + req.temp_path]
