"""SHA-256 in two sizes, so a command reaches its first encode without loading OpenSSL.

``hashlib`` loads OpenSSL's libcrypto on import (~4 ms of every command's start), while what a command
hashes before its first encode is short: the JobSpec, names, cache keys, attrs' method scripts. Those
use :func:`short_sha256`, the interpreter's own SHA-256. File contents (outputs, sources, looks) use
:func:`file_sha256`, OpenSSL's, several times faster on megabytes and imported when first needed
(during the first encode, by pipeline/endprep.py). Both are SHA-256: the digests are the same.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from _hashlib import HASH

try:  # CPython's built-in implementations: _sha2 from 3.12, _sha256 before
    from _sha2 import sha256 as _builtin_sha256  # type: ignore[import-not-found,unused-ignore]
except ImportError:
    try:
        from _sha256 import sha256 as _builtin_sha256  # type: ignore[import-not-found,no-redef,unused-ignore]
    except ImportError:  # an interpreter built without them
        from hashlib import sha256 as _builtin_sha256  # type: ignore[assignment,unused-ignore]


def short_sha256(data: bytes = b"") -> HASH:
    """SHA-256 of a short input (up to some kilobytes): no library to load."""
    return _builtin_sha256(data)  # type: ignore[no-any-return,unused-ignore]


def file_sha256(data: bytes = b"") -> HASH:
    """SHA-256 for a file's contents, fed in chunks (or whole): OpenSSL's, the fastest on large data."""
    import hashlib  # first used after the first command has started (see the module docstring)

    return hashlib.sha256(data)
