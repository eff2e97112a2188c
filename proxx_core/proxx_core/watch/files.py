"""Small file helpers shared by the watch modules: bounded reads of files Proxx or an operator wrote."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from ..io.safeopen import read_regular
from ..support.jsonload import MAX_DOCUMENT_BYTES, DocumentInvalid, decode_document


def read_bounded(path: Path) -> bytes:
    """At most one byte more than a JobSpec may hold, so a huge file is refused, never loaded. Opened
    with :mod:`..safeopen`: a FIFO or a device put in a job file's place raises NotAFile (an OSError),
    never blocks the watcher."""
    return read_regular(path, MAX_DOCUMENT_BYTES + 1)


def read_json(path: Path) -> Any:
    """A small file Proxx wrote itself (owner, marker, result), or None."""
    try:
        return json.loads(read_bounded(path).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def read_spec(path: Path) -> Any:
    """A job file's document if it is acceptable JSON (strict, bounded), else None: safe to put
    into a result whatever the file holds."""
    try:
        return decode_document(read_bounded(path))
    except (OSError, DocumentInvalid):
        return None


def age(path: Path) -> float:
    try:
        return time.time() - os.lstat(path).st_mtime
    except OSError:
        return 0.0


def unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
