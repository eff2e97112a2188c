"""Which distribution an operator should install when no installed engine reads a source.

Used only to word error messages; routing never reads this table.
"""

from __future__ import annotations

from pathlib import Path

RESOLVE_DIST = "proxx-engine-resolve"
FFMPEG_DIST = "proxx-engine-ffmpeg"

#: camera RAW extensions only DaVinci Resolve decodes
RAW_EXTENSIONS = frozenset({".braw", ".r3d", ".ari", ".arx", ".crm", ".nev", ".dng", ".cine", ".rmf"})


def install_hint(source: str, installed: tuple[str, ...]) -> str | None:
    ext = Path(source).suffix.lower()
    if ext in RAW_EXTENSIONS and "resolve" not in installed:
        return RESOLVE_DIST
    if ext not in RAW_EXTENSIONS and "ffmpeg" not in installed:
        return FFMPEG_DIST
    return None
