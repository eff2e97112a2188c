"""Facts about the binaries engines drive (SHA-256, capability listings), cached by file identity.

An engine's binary goes into every result's environment fingerprint, and its capabilities are read
from the binary itself. Hashing a 170 MB static ffmpeg costs ~0.15 s and listing its decoders,
encoders and formats another ~0.15 s, in every process. These facts are pure functions of the
file's bytes, so they are cached on disk keyed by the file's path, size, inode, mtime and ctime:
replacing or touching the file changes the key. The cache lives in ``$PROXX_CACHE_DIR`` or
``~/.cache/proxx``; when it cannot be read or written, the facts are simply recomputed. It is read
once per process, and entries of files that no longer exist are dropped whenever it is written, so
it stays as small as the set of binaries on the node.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .atomic import sha256_file, write_text_atomic

_memo: dict[str, Any] = {}
#: the cache file's content as read by this process (None: not read yet)
_disk: dict[str, Any] | None = None


def _cache_file() -> Path:
    base = os.environ.get("PROXX_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "proxx")
    return Path(base) / "binary-facts.json"


def _key(path: str, kind: str) -> tuple[str, str]:
    real = os.path.realpath(path)
    st = os.stat(real)
    return real, f"{kind}|{real}|{st.st_size}|{st.st_ino}|{st.st_mtime_ns}|{st.st_ctime_ns}"


def _known() -> dict[str, Any]:
    global _disk
    if _disk is None:
        try:
            known = json.loads(_cache_file().read_text("utf-8"))
            _disk = known if isinstance(known, dict) else {}
        except (OSError, ValueError):
            _disk = {}
    return _disk


def _path_of(key: str) -> str:
    """The file a cache key describes (``kind|path|size|ino|mtime|ctime``; paths may hold "|")."""
    return key.split("|", 1)[1].rsplit("|", 4)[0]


def is_cached(path: str, kind: str) -> bool:
    """True when facts of ``kind`` are cached for the file at ``path`` as it is now (so the file was
    already run and read successfully; callers may skip re-validating it)."""
    try:
        _, key = _key(path, kind)
    except OSError:
        return False
    return key in _memo or key in _known()


def cached_by_file(path: str, kind: str, compute: Callable[[str], Any]) -> Any:
    """``compute(realpath)`` (JSON-serialisable), cached while the file at ``path`` is unchanged."""
    real, key = _key(path, kind)
    if key in _memo:
        return _memo[key]
    cache = _cache_file()
    known = _known()
    if key in known:
        value = known[key]
    else:
        global _disk
        value = compute(real)
        stale = f"{kind}|{real}|"
        known = {k: v for k, v in known.items() if not k.startswith(stale) and os.path.exists(_path_of(k))}
        known[key] = value
        _disk = known
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(cache, json.dumps(known, sort_keys=True))
        except OSError:
            pass
    _memo[key] = value
    return value


def binary_sha256(path: str) -> str:
    """SHA-256 of ``path`` (an executable or library), from the cache when the file is unchanged."""
    digest: str = cached_by_file(path, "sha256", lambda real: sha256_file(real)[0])
    return digest
