"""Tiny, real image sequences made with the pinned FFmpeg: for tests, the kit and demos."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from .engine import ffmpeg
from .sequence import SIDECAR_SUFFIX


def make_sequence(
    directory: Path | str,
    *,
    prefix: str = "shot_",
    first: int = 1001,
    frames: int = 5,
    digits: int = 4,
    ext: str = "png",
    size: str = "64x36",
    frame_rate: str | None = None,
) -> Path:
    """Write ``frames`` numbered images (testsrc2) and, if ``frame_rate`` is given, the sidecar.
    Returns the path of the first frame: what a JobSpec names as the source."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    pattern = directory / f"{prefix.replace('%', '%%')}%0{digits}d.{ext}"
    subprocess.run(
        [
            ffmpeg().path,
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate=24",
            "-frames:v",
            str(frames),
            "-start_number",
            str(first),
            "-f",
            "image2",
            "file:" + str(pattern),
        ],
        check=True,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=60,
    )
    if frame_rate is not None:
        stem = prefix.rstrip("._- ")
        sidecar = directory / (f"{stem}.{SIDECAR_SUFFIX}" if stem else SIDECAR_SUFFIX)
        sidecar.write_text(json.dumps({"frame_rate": frame_rate}) + "\n", encoding="utf-8")
    return directory / f"{prefix}{first:0{digits}d}.{ext}"
