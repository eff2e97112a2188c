"""MediaInfo (MediaArea, not libav) as an independent inspector of field dominance and reel names."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

MEDIAINFO = shutil.which("mediainfo")
#: CI installs it (apt-get install -y mediainfo); a developer machine without it skips these checks
needs_mediainfo = pytest.mark.skipif(
    MEDIAINFO is None, reason="MediaInfo is not installed (apt-get install -y mediainfo)"
)


def video_track(path) -> dict:
    out = subprocess.run(
        [MEDIAINFO, "--Output=JSON", str(path)], capture_output=True, text=True, check=True, timeout=60
    ).stdout
    return next(t for t in json.loads(out)["media"]["track"] if t["@type"] == "Video")


def displayed_field_order(path) -> str:
    """ "tff", "bff" or "progressive", as MediaInfo reads the file (container and bitstream)."""
    track = video_track(path)
    if track.get("ScanType", "Progressive") == "Progressive":
        return "progressive"
    return {"TFF": "tff", "BFF": "bff"}.get(track.get("ScanOrder", ""), "unknown")
