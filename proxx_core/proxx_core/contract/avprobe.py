"""Read media with PyAV (libav* in-process): the shared prober for engines and verification.

Optional part of proxx-core: install ``proxx-core[probe]``. What PyAV reads is read by
:mod:`proxx_core.io.avfacts` (files opened through :mod:`proxx_core.io.safeopen`, handed to libav as
file objects, never by name); this module turns those facts into the contract's ``SourceInfo``, and
asks the probe helper for them when the command started one.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

from ..io import avfacts, helperprocess
from .errors import ProxxError
from .media import AudioInfo, FrameRate, SourceInfo, VideoInfo, displayed_field_order
from .vocabulary import Category

#: the helper process that probes for a command (started by proxx_cli before its imports)
PROBE_HELPER = "probe"


def probe_ahead(paths: Iterable[str]) -> None:
    """Have the probe helper start on these files now (a command's sources, named by its job file),
    while the command imports and validates; :func:`probe_file` then takes the answer if the file is
    still the one probed (same device, inode, size and modification time), else probes afresh.
    Nothing without a helper, for anything but an existing regular file, or past what the helper
    takes ahead (helperprocess.MAX_AHEAD)."""
    helper = helperprocess.helper(PROBE_HELPER)
    if helper is None:
        return
    for path in map(str, map(Path, paths)):
        try:
            st = os.stat(path)
        except (OSError, ValueError):
            continue
        if stat.S_ISREG(st.st_mode) and path not in _asked_ahead:
            if not helper.ask_ahead(path):
                return
            _asked_ahead[path] = _identity(st)


#: path -> identity of the file when it was asked ahead
_asked_ahead: dict[str, tuple[int, ...]] = {}


def _identity(st: os.stat_result) -> tuple[int, ...]:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def probe_file(path: Path | str, *, probed_by: str) -> SourceInfo:
    """Describe ``path``. Raises ProxxError(unsupported_source) when libav cannot read it.

    In a command that started the probe helper (io/helperprocess.py: PyAV imported on the other core
    while the command starts), the helper reads the file; if it cannot answer, this process does, as
    before. A file asked ahead (:func:`probe_ahead`) and changed since is asked again."""
    path = str(Path(path))
    helper = helperprocess.helper(PROBE_HELPER)
    answer: Any = None
    if helper is not None:
        asked = _asked_ahead.pop(path, None)
        try:
            answer = helper.call(path)
            if asked is not None and _identity(os.stat(path)) != asked:
                answer = helper.call(path)
        except (helperprocess.HelperGone, OSError, ValueError):
            answer = None
    if isinstance(answer, tuple) and len(answer) == 3 and answer[0] == "refused":
        raise ProxxError(answer[1], category=Category(answer[2]))
    if isinstance(answer, tuple) and len(answer) == 2 and answer[0] == "ok" and isinstance(answer[1], dict):
        facts = answer[1]
    else:
        try:
            facts = avfacts.read(path)
        except avfacts.Unreadable as exc:
            raise ProxxError(exc.message, category=Category(exc.category)) from exc
    return source_info(facts, path, probed_by=probed_by)


def source_info(facts: dict[str, Any], path: str, *, probed_by: str) -> SourceInfo:
    """The contract's description of a file from :func:`proxx_core.io.avfacts.read`'s facts."""
    video = None
    if facts["video"] is not None:
        v = facts["video"]
        try:
            video = VideoInfo(  # the facts are named as its fields: the rate a pair, the dominance derived
                **{
                    **v,
                    "frame_rate": FrameRate.parse(Fraction(*v["frame_rate"])),
                    "field_dominance": displayed_field_order(facts["container"], v["field_order"]),
                }
            )
        except ValueError as exc:
            raise ProxxError(
                f"{path}: not readable media ({exc}); check the file is complete and not corrupt",
                category=Category.UNSUPPORTED_SOURCE,
            ) from exc
    return SourceInfo(
        container=facts["container"],
        video=video,
        audio=tuple(AudioInfo(index=i, **a) for i, a in enumerate(facts["audio"])),
        start_timecode=facts["timecode"],
        duration_seconds=facts["duration"],
        reel_name=facts["reel"],
        probed_by=probed_by,
    )
