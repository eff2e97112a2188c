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
  engine may call it to check its own work early, but the core decides), :func:`verify_output`
  (the core's whole verdict on a temp output: ``compare`` under the engine's rules plus its
  ``output_checks``; ``Engine.verify`` of contract 1.0, removed), :func:`fit_raster`,
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
- timecode: :func:`timecode_to_frames`, :func:`frames_to_timecode`, :func:`timecode_base` (drop-frame
  counting as burn-ins and sidecars show it), :func:`timecode_is_drop_frame`; :func:`decisive_stderr_line`
  (the line of a tool's stderr that says why it failed)
- messages: :func:`shown` (a user's value quoted and cut to 80 characters, as every Proxx message quotes one)

For plugins other than engines (imported on first use, so an engine's import stays cheap):

- deliverable sinks (docs/delivery.md): :class:`DeliverableSink` (the base class),
  :class:`DeliveryJob` (what a sink is given), :class:`Deliverable` (what it returns),
  :func:`write_sidecar` (the gated, atomic write of one sidecar), :func:`sha256_of`,
  :class:`WriteGate` (the job's write gate, ``DeliveryJob.gate``), :func:`proxy_folder` (where
  ``layout: proxy_subfolder`` puts a source's proxies)
- node configuration: :func:`load_node_config` (``PROXX_NODE_CONFIG``, as watch folders and fleets read it)
- commands (``proxx_register_commands``): :class:`JobInputs`, the ``inputs`` argument: the CLI's front
  door, so a command takes the inputs of ``proxx run`` (job file, media folders, cards, presets)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .contract.avprobe import probe_file
from .contract.errors import ClipFailure, ProxxError, shown
from .contract.media import ZERO_TIMECODE, normalise_timecode, timecode_is_drop_frame
from .contract.profiles import assumed_color_tags, fit_raster, output_color_tags
from .contract.progress import ClipProgress
from .contract.vocabulary import Category, ExistingOutputs, FpsMode, Layout, Raster, Status, UnsupportedSources
from .features.look import LookFileError, write_plain_cube
from .io.clock import now_rfc3339
from .io.fingerprint import binary_sha256, cached_by_file, is_cached
from .io.safeopen import NotAFile, open_regular
from .rules.verify import compare, verify_output
from .support.process import (
    child_process_options,
    decisive_stderr_line,
    kill_process_group,
    run_command,
    run_commands,
    stderr_tail,
)
from .support.workers import H264_THREADS, intra_threads

if TYPE_CHECKING:
    from .contract.burnin import timecode_base
    from .contract.commands import JobInputs
    from .contract.sinks import Deliverable, DeliverableSink, DeliveryJob
    from .features.burnin import frames_to_timecode, timecode_to_frames
    from .features.deliverables import sha256_of, write_sidecar
    from .features.layouts import proxy_folder
    from .io.writegate import WriteGate
    from .pipeline.pathmap import load_node_config

#: imported on first use (name -> module): an engine importing this module does not load them
_LAZY = dict.fromkeys(("frames_to_timecode", "timecode_to_frames"), "features.burnin")
_LAZY.update({"timecode_base": "contract.burnin"})
_LAZY.update(dict.fromkeys(("Deliverable", "DeliverableSink", "DeliveryJob"), "contract.sinks"))
_LAZY.update(dict.fromkeys(("sha256_of", "write_sidecar"), "features.deliverables"))
_LAZY.update({"proxy_folder": "features.layouts"})
_LAZY.update({"load_node_config": "pipeline.pathmap"})
_LAZY.update({"WriteGate": "io.writegate"})
_LAZY.update({"JobInputs": "contract.commands"})


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'proxx_core.kit' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"proxx_core.{module}"), name)


__all__ = [
    "H264_THREADS",
    "ZERO_TIMECODE",
    "ClipFailure",
    "ClipProgress",
    "Deliverable",
    "DeliverableSink",
    "DeliveryJob",
    "JobInputs",
    "LookFileError",
    "NotAFile",
    "ProxxError",
    "WriteGate",
    "assumed_color_tags",
    "binary_sha256",
    "cached_by_file",
    "child_process_options",
    "compare",
    "decisive_stderr_line",
    "fit_raster",
    "frames_to_timecode",
    "intra_threads",
    "is_cached",
    "kill_process_group",
    "load_node_config",
    "normalise_timecode",
    "now_rfc3339",
    "open_regular",
    "output_color_tags",
    "probe_file",
    "proxy_folder",
    "run_command",
    "run_commands",
    "sha256_of",
    "shown",
    "stderr_tail",
    "timecode_base",
    "timecode_is_drop_frame",
    "timecode_to_frames",
    "verify_output",
    "write_plain_cube",
    "write_sidecar",
    # the fixed vocabularies (StrEnums: each member equals its JSON string)
    "Category",
    "ExistingOutputs",
    "FpsMode",
    "Layout",
    "Raster",
    "Status",
    "UnsupportedSources",
]
