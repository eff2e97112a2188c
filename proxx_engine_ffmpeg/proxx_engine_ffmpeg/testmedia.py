"""Tiny, real source media made with the pinned ffmpeg's lavfi: for the demo, tests and benchmarks.

Each source has real video (testsrc2), real timecode and as many audio streams as asked, each with
its own channel count.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from .binary import inspect_binary

VIDEO_CODECS = {
    "prores_hq": ["-c:v", "prores_ks", "-profile:v", "3", "-pix_fmt", "yuv422p10le"],
    "prores_4444": ["-c:v", "prores_ks", "-profile:v", "4", "-pix_fmt", "yuv444p10le"],
    "h264": ["-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-threads", "1"],
    "hevc": [
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-x265-params",
        "log-level=error:pools=1",
    ],
    "dnxhr_hq": ["-c:v", "dnxhd", "-profile:v", "dnxhr_hq", "-pix_fmt", "yuv422p"],
    "mpeg2": ["-c:v", "mpeg2video", "-pix_fmt", "yuv420p", "-b:v", "4M"],
    "mjpeg": ["-c:v", "mjpeg", "-pix_fmt", "yuvj422p"],
    "mpeg1": ["-c:v", "mpeg1video", "-pix_fmt", "yuv420p", "-b:v", "2M"],
    "mpeg2_422": ["-c:v", "mpeg2video", "-pix_fmt", "yuv422p", "-b:v", "8M"],
    "dv": ["-c:v", "dvvideo", "-pix_fmt", "yuv420p"],  # DV PAL (4:2:0)
    "dv_ntsc": ["-c:v", "dvvideo", "-pix_fmt", "yuv411p"],  # DV NTSC is 4:1:1
    "hevc10": [
        "-c:v",
        "libx265",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p10le",
        "-x265-params",
        "log-level=error:pools=1",
    ],
    "h264_long_gop": [
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        "-threads",
        "1",
        "-g",
        "12",
        "-bf",
        "2",
    ],
}
#: interlaced field dominance as displayed -> the setfield value that marks decoded frames with it
_SETFIELD = {"tt": "tff", "tb": "tff", "tff": "tff", "bb": "bff", "bt": "bff", "bff": "bff"}


def make_source(
    path: Path | str,
    *,
    size: str = "320x180",
    rate: str = "24000/1001",
    frames: int = 12,
    timecode: str | None = "01:00:00:00",
    audio: tuple[int, ...] = (1, 1),
    video: str = "prores_hq",
    audio_rate: int = 48000,
    sar: str | None = None,
    field_order: str | None = None,
    extra: tuple[str, ...] = (),
    audio_codec: str | None = None,
    color: tuple[str, str, str] | None = None,
    reel: str | None = None,
    rotation: int | None = None,
    vfr: bool = False,
    timeout: float = 120,
) -> Path:
    """Write a real media file. ``audio`` lists the channel count of each audio stream.

    ``field_order`` ("tt"/"tff" or "bb"/"bff") marks the frames interlaced with that field shown first;
    ``color`` is (primaries, transfer, matrix) set on the frames; ``reel`` the tape/reel name (MOV tmcd
    ``reel_name``, MXF material package name); ``rotation`` a display rotation in degrees; ``vfr``
    drops every third frame and keeps the gaps (variable frame rate, as phones record); ``timeout``
    bounds each ffmpeg run in seconds (benchmarks make long 4K sources)."""
    path = Path(path)
    ffmpeg = inspect_binary().path
    seconds = frames / _rate(rate) + 0.5
    argv = [
        ffmpeg,
        "-nostdin",
        "-hide_banner",
        "-loglevel",
        "error",
        "-y",
        "-f",
        "lavfi",
        "-i",
        f"testsrc2=size={size}:rate={rate}:duration={seconds}",
    ]
    for i, ch in enumerate(audio):
        expr = "|".join(f"sin({220 * (i + 1) + 110 * c}*2*PI*t)*0.2" for c in range(ch))
        argv += ["-f", "lavfi", "-i", f"aevalsrc={expr}:s={audio_rate}:d={seconds}"]
    argv += ["-map", "0:v"] + [arg for i in range(len(audio)) for arg in ("-map", f"{i + 1}:a")]
    argv += ["-frames:v", str(frames), "-shortest"] if not audio else ["-frames:v", str(frames)]
    argv += VIDEO_CODECS[video]
    filters = []
    if vfr:
        filters.append("select='not(eq(mod(n,3),1))'")
        argv += ["-fps_mode", "vfr"]
    if sar:
        filters.append(f"setsar={sar}")
    if field_order:
        filters.append(f"setfield={_SETFIELD[field_order]}")
        argv += ["-flags:v", "+ildct+ilme"]
        if video.startswith("h264"):
            argv += ["-x264-params", "bff=1" if _SETFIELD[field_order] == "bff" else "tff=1"]
    if color:
        primaries, transfer, matrix = color
        filters.append(f"setparams=color_primaries={primaries}:color_trc={transfer}:colorspace={matrix}")
    if filters:
        argv += ["-vf", ",".join(filters)]
    if audio:
        default = "pcm_s24le" if path.suffix.lower() in (".mov", ".mxf") else "aac"
        argv += ["-c:a", audio_codec or default]
        if path.suffix.lower() != ".mxf":
            argv += ["-t", str(frames / _rate(rate))]
    if timecode:
        argv += ["-timecode", timecode]
    if reel and path.suffix.lower() == ".mxf":
        argv += ["-metadata", f"material_package_name={reel}"]
    elif reel:
        argv += ["-metadata:s:v:0", f"reel_name={reel}"]
    target = path.with_name(path.stem + ".unrotated" + path.suffix) if rotation else path
    argv += list(extra) + ["file:" + str(target)]
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout)
    if rotation:
        # a phone's rotation is display metadata on an unrotated raster: set it by remuxing
        subprocess.run(
            [
                ffmpeg,
                "-nostdin",
                "-hide_banner",
                "-loglevel",
                "error",
                "-y",
                "-display_rotation",
                str(rotation),
                "-i",
                "file:" + str(target),
                "-map",
                "0",
                "-c",
                "copy",
                "file:" + str(path),
            ],
            check=True,
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
        )
        target.unlink()
    return path


def _rate(rate: str) -> float:
    num, _, den = rate.partition("/")
    return int(num) / int(den or 1)
