"""SHA-256 of the binaries engines drive, cached by file identity.

An engine's binary goes into every result's environment fingerprint. Hashing a 170 MB static
ffmpeg costs ~0.15 s per process, so the digest is cached on disk keyed by the file's path, size,
inode, mtime and ctime (any replacement of the file changes the key). The cache lives in
``$PROXX_CACHE_DIR`` or ``~/.cache/proxx``; if it cannot be written, the hash is simply recomputed.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from .atomic import sha256_file, write_text_atomic

_memo: dict[str, str] = {}


def _cache_file() -> Path:
    base = os.environ.get("PROXX_CACHE_DIR") or os.path.join(os.path.expanduser("~"), ".cache", "proxx")
    return Path(base) / "binary-sha256.json"


def binary_sha256(path: str) -> str:
    """SHA-256 of ``path`` (an executable or library), from the cache when the file is unchanged."""
    real = os.path.realpath(path)
    st = os.stat(real)
    key = f"{real}|{st.st_size}|{st.st_ino}|{st.st_mtime_ns}|{st.st_ctime_ns}"
    if key in _memo:
        return _memo[key]
    cache = _cache_file()
    try:
        known = json.loads(cache.read_text("utf-8"))
    except (OSError, ValueError):
        known = {}
    digest = known.get(key) if isinstance(known, dict) else None
    if not (isinstance(digest, str) and len(digest) == 64):
        digest, _ = sha256_file(real)
        known = {k: v for k, v in (known.items() if isinstance(known, dict) else ()) if not k.startswith(real + "|")}
        known[key] = digest
        try:
            cache.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(cache, json.dumps(known, indent=1, sort_keys=True))
        except OSError:
            pass
    _memo[key] = digest
    return digest
