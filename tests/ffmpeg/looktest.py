"""Helpers for the look and burn-in tests: flat-colour sources and decoded pixel values (no numpy)."""

from __future__ import annotations

import array
import subprocess
from pathlib import Path


def ffmpeg() -> str:
    from proxx_engine_ffmpeg.binary import inspect_binary

    return inspect_binary().path


def flat_source(path: Path, rgb_hex: str = "4D80B3", size: str = "320x180", frames: int = 3) -> Path:
    """A ProRes 422 HQ file of one flat colour, tagged BT.709, with timecode."""
    subprocess.run(
        [
            ffmpeg(),
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"color=c=0x{rgb_hex}:size={size}:rate=25",
            "-frames:v",
            str(frames),
            "-vf",
            (
                "scale=out_color_matrix=bt709:out_range=tv,format=yuv422p10le,"
                "setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv"
            ),
            "-c:v",
            "prores_ks",
            "-profile:v",
            "3",
            "-timecode",
            "01:00:00:00",
            "file:" + str(path),
        ],
        check=True,
        capture_output=True,
        timeout=60,
    )
    return path


def decode(path: Path | str, pix_fmt: str = "rgb48le", frame: int = 0) -> tuple[int, int, bytes]:
    """(width, height, raw bytes) of one decoded frame: rgb48le through BT.709 (limited range in),
    or gray (the luma plane) for region comparisons."""
    probe = subprocess.run(
        [ffmpeg(), "-nostdin", "-hide_banner", "-i", str(path)], capture_output=True, text=True, check=False
    )
    import re

    w, h = (int(x) for x in re.search(r"Video: .*?, (\d+)x(\d+)", probe.stderr).groups())
    vf = f"select=eq(n\\,{frame})"
    if pix_fmt == "rgb48le":
        vf += ",scale=flags=bicubic+bitexact+accurate_rnd:in_color_matrix=bt709:in_range=tv,format=rgb48le"
    else:
        vf += f",format={pix_fmt}"
    raw = subprocess.run(
        [
            ffmpeg(),
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-i",
            str(path),
            "-vf",
            vf,
            "-frames:v",
            "1",
            "-f",
            "rawvideo",
            "-",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout
    return w, h, raw


def centre_rgb(path: Path | str) -> tuple[float, float, float]:
    """The mean normalised R'G'B' of the central 8x8 pixels of the first frame."""
    w, h, raw = decode(path)
    values = array.array("H")
    values.frombytes(raw)
    sums = [0, 0, 0]
    for y in range(h // 2 - 4, h // 2 + 4):
        for x in range(w // 2 - 4, w // 2 + 4):
            base = (y * w + x) * 3
            for c in range(3):
                sums[c] += values[base + c]
    return tuple(s / 64 / 65535 for s in sums)  # type: ignore[return-value]


def apply_cdl(rgb, slope, offset, power, saturation):
    """ASC CDL v1.2, the reference the FFmpeg filters must match."""
    sop = [min(max(v * s + o, 0.0), 1.0) ** p for v, s, o, p in zip(rgb, slope, offset, power, strict=True)]
    luma = 0.2126 * sop[0] + 0.7152 * sop[1] + 0.0722 * sop[2]
    return tuple(min(max(luma + saturation * (v - luma), 0.0), 1.0) for v in sop)


def cube(path: Path, fn, size: int = 17) -> Path:
    rows = [
        " ".join(f"{v:.6f}" for v in fn(r / (size - 1), g / (size - 1), b / (size - 1)))
        for b in range(size)
        for g in range(size)
        for r in range(size)
    ]
    path.write_text(f"LUT_3D_SIZE {size}\n" + "\n".join(rows) + "\n")
    return path
