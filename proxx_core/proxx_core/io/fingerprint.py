"""Facts about the binaries engines drive (SHA-256, capability listings), cached by file identity.

An engine's binary goes into every result's environment fingerprint, and its capabilities are read
from the binary itself. Hashing a 170 MB static ffmpeg costs ~0.15 s and listing its decoders,
encoders and formats another ~0.15 s, in every process. These facts are pure functions of the
file's bytes, so they are cached on disk keyed by the file's path, size, inode, mtime and ctime:
replacing or touching the file changes the key. The cache lives in ``$PROXX_CACHE_DIR`` or
``~/.cache/proxx``; when it cannot be read or written (a HOME of another user, a read-only disk, an
entry that is not a regular file), the facts are simply recomputed and one warning says so: the cache
is an optimisation, never a reason to refuse a clip.

One small file per entry (``binary-facts/<path hash>-<key hash>.json``): a command reads only the
entries it needs (~5 KB each), however many builds the node has run, and two processes caching
different binaries never overwrite each other. Writing an entry drops the entries of older
identities of the same file and of files that no longer exist, so the folder stays as small as the
set of binaries on the node.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .atomic import sha256_file, write_text_atomic
from .digests import short_sha256
from .safeopen import NotAFile, read_regular

_memo: dict[str, Any] = {}
#: one warning per process about an unusable cache
_warned: list[bool] = []
#: an entry is ~5 KB; anything far larger is not one of ours
MAX_ENTRY_BYTES = 1024 * 1024


def cache_root() -> Path:
    """Proxx's cache folder: ``$PROXX_CACHE_DIR``, or ``~/.cache/proxx``."""
    return Path(os.environ.get("PROXX_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "proxx"))


def _cache_dir() -> Path:
    return cache_root() / "binary-facts"


def _digest(text: str) -> str:
    return short_sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def _key(path: str, kind: str) -> tuple[str, str]:
    real = os.path.realpath(path)
    st = os.stat(real)
    return real, f"{kind}|{real}|{st.st_size}|{st.st_ino}|{st.st_mtime_ns}|{st.st_ctime_ns}"


def _entry_file(kind: str, real: str, key: str) -> Path:
    """``<hash of kind and path>-<hash of the whole key>.json``: the prefix finds a file's older identities."""
    return _cache_dir() / f"{_digest(f'{kind}|{real}')[:16]}-{_digest(key)}.json"


def _path_of(key: str) -> str:
    """The file a cache key describes (``kind|path|size|ino|mtime|ctime``; paths may hold "|")."""
    return key.split("|", 1)[1].rsplit("|", 4)[0]


def _unusable(exc: OSError) -> None:
    """Warn once per process that the cache cannot be used (the facts are recomputed meanwhile)."""
    if not _warned:
        _warned.append(True)
        print(
            f"proxx: warning: the binary-facts cache {_cache_dir()} cannot be used "
            f"({exc.strerror or exc}); facts are recomputed each run. Fix its permissions or set "
            f"PROXX_CACHE_DIR to a folder this user can write",
            file=sys.stderr,
        )


def _read(entry: Path, key: str) -> tuple[bool, Any]:
    try:
        data = json.loads(read_regular(entry, MAX_ENTRY_BYTES))  # never blocks on a FIFO put in its place
    except FileNotFoundError:
        return False, None
    except OSError as exc:
        if exc.errno != errno.ENOENT and exc.errno != errno.ENOTDIR:
            _unusable(exc)
        return False, None
    except ValueError:
        return False, None
    if not isinstance(data, dict) or data.get("key") != key or "value" not in data:
        return False, None
    return True, data["value"]


def is_cached(path: str, kind: str) -> bool:
    """True when facts of ``kind`` are cached for the file at ``path`` as it is now (so the file was
    already run and read successfully; callers may skip re-validating it)."""
    try:
        real, key = _key(path, kind)
    except OSError:
        return False
    if key in _memo:
        return True
    try:
        return _entry_file(kind, real, key).is_file()
    except OSError as exc:  # e.g. EACCES: a cache folder this user may not enter
        _unusable(exc)
        return False


def cached_by_file(path: str, kind: str, compute: Callable[[str], Any]) -> Any:
    """``compute(realpath)`` (JSON-serialisable), cached while the file at ``path`` is unchanged."""
    real, key = _key(path, kind)
    if key in _memo:
        return _memo[key]
    entry = _entry_file(kind, real, key)
    found, value = _read(entry, key)
    if not found:
        value = compute(real)
        try:
            entry.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(entry, json.dumps({"key": key, "value": value}, sort_keys=True))
            _prune(entry)
        except OSError as exc:
            if not isinstance(exc, NotAFile):
                _unusable(exc)
    _memo[key] = value
    return value


def _prune(kept: Path) -> None:
    """Drop older identities of the same file, and entries of files that no longer exist."""
    prefix = kept.name.split("-", 1)[0]
    for other in kept.parent.glob("*.json"):
        if other == kept:
            continue
        stale = other.name.startswith(prefix + "-")
        if not stale:
            try:
                key = json.loads(read_regular(other, MAX_ENTRY_BYTES)).get("key", "")
                stale = not os.path.exists(_path_of(key))
            except (OSError, ValueError, AttributeError, IndexError):
                stale = True  # unreadable or foreign: recomputed if it was ever needed
        if stale:
            with contextlib.suppress(OSError):
                other.unlink()


def binary_sha256(path: str) -> str:
    """SHA-256 of ``path`` (an executable or library), from the cache when the file is unchanged."""
    digest: str = cached_by_file(path, "sha256", lambda real: sha256_file(real)[0])
    return digest
