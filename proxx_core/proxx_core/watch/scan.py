"""Settle and scan ``pending/``: which names are candidates, which names can carry a result, and
when a file is complete enough to take (its stat signature has settled)."""

from __future__ import annotations

import os
from pathlib import Path

from ..jsonload import DocumentInvalid, decode_document
from .files import read_bounded

#: a pending file whose name is longer (UTF-8 bytes) or not UTF-8 is set aside, never run: its result's
#: name and the temporary names beside it must fit the usual 255-byte file-name limit
MAX_SPEC_NAME_BYTES = 200

Signature = tuple[int, int, int, int]


def is_candidate_name(name: str) -> bool:
    """A pending file Proxx considers: ``*.json``, not a result, not hidden or an editor temp."""
    return (name.endswith(".json") and not name.endswith(".result.json")
            and not name.startswith((".", "~")) and len(name) > len(".json"))


def bad_name_reason(name: str) -> str | None:
    """Why a job file's name cannot be used for its result (so the job is set aside), or None."""
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "has a name that is not UTF-8 text"
    if size > MAX_SPEC_NAME_BYTES:
        return (f"has a name {size} bytes long; the limit is {MAX_SPEC_NAME_BYTES} bytes, so that "
                f"<name>.result.json fits the file system's name limit")
    return None


def signature(st: os.stat_result) -> Signature:
    """What must stay the same for a file to count as unchanged: device, inode, size, mtime."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def parses(path: Path) -> bool:
    """Complete JSON (acceptable or not): not something a writer may still be writing."""
    try:
        decode_document(read_bounded(path))
    except DocumentInvalid as exc:
        return not exc.incomplete
    except OSError:
        return False
    return True


class Settling:
    """When each pending name's current signature was first seen (this process's monotonic clock,
    never file times), and which versions are parked (need an engine this node lacks)."""

    def __init__(self) -> None:
        self.seen: dict[str, tuple[Signature, float]] = {}
        self.left: dict[str, Signature] = {}

    def look(self, name: str, sig: Signature, now: float) -> float | None:
        """Record a look; return how long this version has been unchanged (None: first sight of the name)."""
        seen = self.seen.get(name)
        if seen is None or seen[0] != sig:
            self.seen[name] = (sig, now)
            return None if seen is None else 0.0
        return now - seen[1]

    def forget(self, name: str) -> None:
        self.seen.pop(name, None)

    def keep_only(self, present: set[str]) -> None:
        for gone in set(self.seen) - present:
            self.seen.pop(gone, None)
            self.left.pop(gone, None)
