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
    "hevc": ["-c:v", "libx265", "-preset", "ultrafast", "-pix_fmt", "yuv420p", "-x265-params", "log-level=error:pools=1"],
    "dnxhr_hq": ["-c:v", "dnxhd", "-profile:v", "dnxhr_hq", "-pix_fmt", "yuv422p"],
    "mpeg2": ["-c:v", "mpeg2video", "-pix_fmt", "yuv420p", "-b:v", "4M"],
    "mjpeg": ["-c:v", "mjpeg", "-pix_fmt", "yuvj422p"],
}


def make_source(path: Path | str, *, size: str = "320x180", rate: str = "24000/1001", frames: int = 12,
                timecode: str | None = "01:00:00:00", audio: tuple[int, ...] = (1, 1), video: str = "prores_hq",
                audio_rate: int = 48000, sar: str | None = None, field_order: str | None = None,
                extra: tuple[str, ...] = ()) -> Path:
    """Write a real media file. ``audio`` lists the channel count of each audio stream."""
    path = Path(path)
    ffmpeg = inspect_binary().path
    seconds = frames / _rate(rate) + 0.5
    argv = [ffmpeg, "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", f"testsrc2=size={size}:rate={rate}:duration={seconds}"]
    for i, ch in enumerate(audio):
        expr = "|".join(f"sin({220 * (i + 1) + 110 * c}*2*PI*t)*0.2" for c in range(ch))
        argv += ["-f", "lavfi", "-i", f"aevalsrc={expr}:s={audio_rate}:d={seconds}"]
    argv += ["-map", "0:v"] + [arg for i in range(len(audio)) for arg in ("-map", f"{i + 1}:a")]
    argv += ["-frames:v", str(frames), "-shortest"] if not audio else ["-frames:v", str(frames)]
    argv += VIDEO_CODECS[video]
    if sar:
        argv += ["-vf", f"setsar={sar}"]
    if field_order:
        argv += ["-flags:v", "+ildct+ilme", "-field_order", field_order]
    if audio:
        argv += ["-c:a", "pcm_s24le" if path.suffix.lower() in (".mov", ".mxf") else "aac"]
        if path.suffix.lower() != ".mxf":
            argv += ["-t", str(frames / _rate(rate))]
    if timecode:
        argv += ["-timecode", timecode]
    argv += list(extra) + ["file:" + str(path)]
    subprocess.run(argv, check=True, stdin=subprocess.DEVNULL, capture_output=True, timeout=120)
    return path


def _rate(rate: str) -> float:
    num, _, den = rate.partition("/")
    return int(num) / int(den or 1)
