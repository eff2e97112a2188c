"""The public API for engine authors: everything an engine needs from the core, in one place.

An engine imports from ``proxx_core`` (the contract types, ``hookimpl``) and from here; every
other module of ``proxx_core`` is internal and may change between minor versions. The first-party
engines use only these two, exactly as a third-party engine must.

- running commands: :func:`run_command`, :func:`run_commands` (no shell, stdin closed, a deadline,
  cancellable, the process group killed on timeout or cancel, stderr tail kept)
- probing: :func:`probe_file` (PyAV, needs ``proxx-core[probe]``), :func:`normalise_timecode`
- comparing: :func:`compare` and :func:`probe_and_compare` (the relink rules; the core runs them
  again itself before publishing, so an engine cannot publish an unverified file)
- fingerprints: :func:`binary_sha256`, :func:`cached_by_file` (hash a binary once per file identity)
- time stamps: :func:`now_rfc3339` (the one format used in results)
"""

from __future__ import annotations

from .avprobe import probe_file
from .errors import ClipFailure, ProxxError
from .fingerprint import binary_sha256, cached_by_file
from .media import normalise_timecode
from .process import run_command, run_commands
from .results import now_rfc3339
from .verify import compare, probe_and_compare

__all__ = [
    "ClipFailure", "ProxxError", "binary_sha256", "cached_by_file", "compare", "normalise_timecode",
    "now_rfc3339", "probe_and_compare", "probe_file", "run_command", "run_commands",
]
