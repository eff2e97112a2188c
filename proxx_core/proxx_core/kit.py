"""The public API for engine authors: everything an engine needs from the core, in one place.

An engine imports from ``proxx_core`` (the contract types, ``hookimpl``) and from here; every
other module of ``proxx_core`` is internal and may change between minor versions. The first-party
engines use only these two, exactly as a third-party engine must.

- running commands: :func:`run_command`, :func:`run_commands` (no shell, stdin closed, a deadline,
  cancellable, encoders die with Proxx, the process group killed on timeout or cancel, stderr tail
  kept, disk-full and read-only storage reported as ``io_error``); for an engine that supervises a
  long-lived child itself: :func:`child_process_options`, :func:`kill_process_group`, :func:`stderr_tail`
- probing: :func:`probe_file` (PyAV, needs ``proxx-core[probe]``), :func:`normalise_timecode`,
  :data:`ZERO_TIMECODE` (where a source without timecode starts, for every NLE), :func:`open_regular`
  (open a source yourself without ever blocking on a FIFO or a device; :class:`NotAFile` otherwise)
- the relink rules: :func:`compare` (what the core's verification applies to every output; an
  engine may call it to check its own work early, but the core decides), :func:`fit_raster`,
  :func:`output_color_tags` / :func:`assumed_color_tags` (the colour rule)
- threads: :func:`intra_threads` (threads an intra encoder may use on this node),
  :data:`H264_THREADS` (x264's pinned count)
- fingerprints: :func:`binary_sha256`, :func:`cached_by_file`, :func:`is_cached` (hash a binary
  once per file identity, for ``EngineIdentity.binary_sha256``)
- time stamps: :func:`now_rfc3339` (the one format used in results)
- looks: :func:`write_plain_cube` (a validated ``.cube`` in the plain form every reader parses alike,
  for ``CubeLut.plain`` False: a byte order mark, CR LF line ends, indented keywords)
- live progress: :class:`ClipProgress` (what ``execute(plan, cancel, progress=...)`` reports;
  :meth:`ClipProgress.from_ffmpeg` reads FFmpeg's ``-progress`` blocks, which ``run_command(...,
  progress=...)`` delivers)
"""

from __future__ import annotations

from .avprobe import probe_file
from .clock import now_rfc3339
from .errors import ClipFailure, ProxxError
from .fingerprint import binary_sha256, cached_by_file, is_cached
from .look import LookFileError, write_plain_cube
from .media import ZERO_TIMECODE, normalise_timecode
from .process import child_process_options, kill_process_group, run_command, run_commands, stderr_tail
from .profiles import assumed_color_tags, fit_raster, output_color_tags
from .progress import ClipProgress
from .safeopen import NotAFile, open_regular
from .verify import compare
from .workers import H264_THREADS, intra_threads

__all__ = [
    "H264_THREADS", "ZERO_TIMECODE", "ClipFailure", "ClipProgress", "LookFileError", "NotAFile", "ProxxError",
    "assumed_color_tags", "binary_sha256", "cached_by_file", "child_process_options", "compare", "fit_raster",
    "intra_threads", "is_cached", "kill_process_group", "normalise_timecode", "now_rfc3339", "open_regular",
    "output_color_tags", "probe_file", "run_command", "run_commands", "stderr_tail", "write_plain_cube",
]
