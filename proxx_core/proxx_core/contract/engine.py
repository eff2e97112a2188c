"""The engine interface: the small protocol every Proxx engine implements.

Contract version ``ENGINE_CONTRACT_VERSION`` (major.minor). The core refuses, at load time, an
engine whose ``contract_version`` has a different major. Minor versions only add optional things.

Lifecycle of one clip, as the core drives it::

    info  = engine.probe(path)                 # or None: "not a file I read"
    claim = engine.claim(info, profile)        # Claim(specificity) or Refusal(reason)
    plan  = engine.plan(request)               # pure: same request -> equal plan, nothing touched
    both  = engine.plan_together(plans)        # optional (1.3): a source's renditions in one run, or None
    recs  = engine.execute(plan, cancel)       # writes plan.request.temp_path only
    out   = engine.probe_output(plan)          # a probe of the temp output; the core verifies it

The core, not the engine, checks for existing outputs, verifies the output against its source
(proxx_core.rules.verify.verify_output: the same relink rules for every engine, plus the engine's
``output_checks`` and every plugin's ``proxx_clip_checks``), hashes, renames the temp file to its
final name and records results; an engine never writes anywhere but ``request.temp_path`` (and its own
scratch space outside ``output_dir``).
"""

from __future__ import annotations

import abc
import threading
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import attrs

from .burnin import BurnIn
from .errors import ProxxError
from .look import Look
from .media import SourceInfo
from .profiles import Profile
from .targets import Target
from .vocabulary import Layout

ENGINE_CONTRACT_VERSION = "1.3"


# attrs converters: ``tuple`` itself, as named functions so that mypy's attrs plugin knows the
# parameter types of the generated __init__ (it cannot solve ``converter=tuple``'s type variable)
def _strs(items: Iterable[str]) -> tuple[str, ...]:
    return tuple(items)


def _commands(items: Iterable[Command]) -> tuple[Command, ...]:
    return tuple(items)


def _checks(items: Iterable[Check]) -> tuple[Check, ...]:
    return tuple(items)


@attrs.frozen(kw_only=True)
class EngineIdentity:
    """Who will do the work, exactly: goes into the result's environment fingerprint."""

    name: str
    version: str
    contract_version: str = ENGINE_CONTRACT_VERSION
    #: human description of the build that runs (e.g. the first line of `ffmpeg -version`)
    build: str | None = None
    #: absolute path of the binary or library the engine drives, if any
    binary: str | None = None
    binary_sha256: str | None = None


@attrs.frozen(kw_only=True)
class Capabilities:
    """What this engine can do *on this machine*, detected from the real binary or API."""

    available: bool
    #: why not, with what to do about it, when ``available`` is False
    unavailable_reason: str | None = None
    #: profile names this engine can make here
    profiles: tuple[str, ...] = ()
    #: what it reads: short format tags ("prores", "mxf", "braw"), sorted
    reads: tuple[str, ...] = ()
    #: free-form facts an operator should see in `proxx engines` (edition, limits)
    notes: tuple[str, ...] = ()
    #: JobSpec features the engine honours beyond the profile: "look" (ClipRequest.look) and/or
    #: "burn_in" (ClipRequest.burn_in: burn-in elements and watermark); routing refuses an engine
    #: for a spec that needs one it lacks (contract 1.2)
    features: tuple[str, ...] = ()


@attrs.frozen(kw_only=True)
class Claim:
    """An engine's offer to make a profile from a source.

    Routing picks the highest ``specificity``; a tie between different engines is a validation
    error asking the operator to pin ``engine``. Conventional values: 10 generic decoder
    (FFmpeg), 50 format specialist, 100 camera RAW specialist.
    """

    specificity: int
    reason: str


@attrs.frozen(kw_only=True)
class Refusal:
    """Why an engine will not make this profile from this source."""

    reason: str
    #: "unsupported_source" (nobody could), or "engine_unavailable" (this node lacks something)
    category: str = "unsupported_source"
    #: for "engine_unavailable": the specificity this engine would claim with if it were usable
    #: here. Routing never lets a lower claim take the clip instead (the same JobSpec must get the
    #: same engine on every node); None means "unknown", which blocks every lower claim too.
    specificity: int | None = None


@attrs.frozen(kw_only=True)
class Command:
    """One external process an engine will run, exactly as it will run it."""

    argv: tuple[str, ...] = attrs.field(converter=_strs)
    #: wall-clock deadline; the process is killed and the clip fails as ``timeout`` after it
    timeout_seconds: float
    purpose: str = "encode"


@attrs.frozen(kw_only=True)
class ClipRequest:
    """Everything an engine needs to plan one clip. Built by the core from the JobSpec."""

    index: int
    source: str
    source_info: SourceInfo
    profile: Profile
    output_path: str
    temp_path: str
    width: int
    height: int
    #: pixel aspect of the output: "1:1", or the source's for the "half"/"quarter" rasters (1.1)
    sample_aspect: str = "1:1"
    #: JobSpec layout (proxx_core.features.layouts): "avid_mxf" means MXF OP-Atom, the video track at
    #: ``temp_path`` and one file per audio channel in ``extra_outputs`` (1.1)
    layout: str = Layout.OUTPUT_DIR
    #: further files of this clip (OP-Atom audio channels), each with its own temp path (1.1)
    extra_outputs: tuple[Target, ...] = ()
    #: the JobSpec's look, parsed and checked (contract 1.2); None: apply none
    look: Look | None = None
    #: the clip's burn-in text and watermark, per-clip tokens resolved (contract 1.2); None: draw none
    burn_in: BurnIn | None = None


@attrs.frozen(kw_only=True)
class ClipPlan:
    request: ClipRequest
    engine: str
    commands: tuple[Command, ...] = attrs.field(converter=_commands)
    #: engine-specific, JSON-serialisable settings worth recording (e.g. Resolve render settings)
    settings: dict[str, Any] = attrs.field(factory=dict)


def _plans(items: Iterable[ClipPlan]) -> tuple[ClipPlan, ...]:
    return tuple(items)


@attrs.frozen(kw_only=True)
class TogetherPlan(ClipPlan):
    """One run of an engine that makes several renditions of one source (JobSpec 1.2 ``renditions``)
    from one decode (contract 1.3, optional: :meth:`Engine.plan_together`).

    ``request`` is the first member's; ``commands`` write every member's temp files. ``members`` are
    the renditions' own plans, as :meth:`Engine.plan` made them: the core claims, probes
    (``probe_output(member)``), verifies and publishes each member on its own, so one rendition
    failing its checks never loses the others. A member's bytes must be those its own plan makes."""

    members: tuple[ClipPlan, ...] = attrs.field(converter=_plans)


@attrs.frozen(kw_only=True)
class CommandRecord:
    """What happened when a command ran (goes verbatim into the result)."""

    argv: tuple[str, ...] = attrs.field(converter=_strs)
    exit_code: int | None
    stderr_tail: str
    #: volatile: {"started_at": RFC 3339, "seconds": float}
    timing: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Check:
    name: str
    expected: Any
    actual: Any
    ok: bool


@attrs.frozen(kw_only=True)
class Verification:
    ok: bool
    checks: tuple[Check, ...] = attrs.field(converter=_checks)
    output_info: SourceInfo | None = None
    #: what the proxy differs in by rule, not by fault (e.g. "the source has no timecode: ...")
    notes: tuple[str, ...] = attrs.field(default=(), converter=_strs)

    def failed_checks(self) -> tuple[Check, ...]:
        return tuple(c for c in self.checks if not c.ok)


class Engine(abc.ABC):
    """Base class for engines. Subclass it, give it a unique ``name``, implement the methods.

    Instances must be cheap to create: detect capabilities lazily (and cache them), never at import.
    """

    #: unique, stable, lowercase name; what a JobSpec's ``engine`` pins
    name: str = ""
    #: version of this contract the engine was written for
    contract_version: str = ENGINE_CONTRACT_VERSION
    #: every output carries explicit colour tags, so verification fails a missing one (contract 1.1)
    tags_color_explicitly: bool = False
    #: audio layouts the outputs may have: "source" (the source's own stream layout, the default),
    #: plus "single_stream" and/or "mono_per_channel" for a tool that decides the layout itself;
    #: the total channel count is always checked (proxx_core.rules.verify.audio_checks) (contract 1.1)
    audio_layouts: tuple[str, ...] = ("source",)
    #: JobSpec layouts the engine can write; "avid_mxf" needs MXF OP-Atom with one file per
    #: track (``ClipRequest.extra_outputs``) (contract 1.1, additive)
    layouts: tuple[str, ...] = (Layout.OUTPUT_DIR, Layout.PROXY_SUBFOLDER)
    #: writes ``ClipRequest.sample_aspect`` other than 1:1 (JobSpec raster half/quarter of an
    #: anamorphic source); if False such clips are refused at validation (contract 1.1, additive)
    keeps_pixel_aspect: bool = False

    @abc.abstractmethod
    def identity(self) -> EngineIdentity:
        """Name, version and the exact build that will run (binary path and SHA-256)."""

    @abc.abstractmethod
    def capabilities(self) -> Capabilities:
        """What this engine can read and make on this machine, from the real binary or API."""

    @abc.abstractmethod
    def probe(self, path: Path) -> SourceInfo | None:
        """Describe the media file at ``path``, or return None if it is not a format this
        engine reads. Raise :class:`proxx_core.contract.errors.ProxxError` with category
        ``unsupported_source`` for a file that should be readable but is not (corrupt): other
        engines may still take it. Raise it with category ``validation`` when the file is
        unmistakably yours and wrong (e.g. a malformed sidecar): the clip is then refused at
        validation, and no less specific engine may quietly make something else of it."""

    @abc.abstractmethod
    def claim(self, info: SourceInfo, profile: Profile) -> Claim | Refusal:
        """Offer (or refuse) to make ``profile`` from a source probed as ``info``. Pure."""

    @abc.abstractmethod
    def plan(self, request: ClipRequest) -> ClipPlan:
        """The exact commands for one clip. Pure: touches nothing, same input -> equal plan."""

    @abc.abstractmethod
    def execute(self, plan: ClipPlan, cancel: threading.Event) -> tuple[CommandRecord, ...]:
        """Run the plan, writing only ``plan.request.temp_path``. Return the command records.

        Raise :class:`proxx_core.contract.errors.ClipFailure` (category ``engine_failed``, ``timeout``
        or ``interrupted`` when ``cancel`` is set) with the records made so far."""

    def probe_output(self, plan: ClipPlan) -> SourceInfo | None:
        """Describe the temp output ``plan.request.temp_path`` for the core's verification, or None
        if it is unreadable. The default probes it with PyAV (``proxx-core[probe]``); override it only
        if your outputs need another reader. Never compare here: the core does. (contract 1.1)"""
        from .avprobe import probe_file  # start-up: `import proxx_core` (the contract types) loads no prober

        try:
            return probe_file(plan.request.temp_path, probed_by=self.name)
        except (ProxxError, OSError):
            return None

    def plan_together(self, plans: tuple[ClipPlan, ...]) -> TogetherPlan | None:
        """One run making every plan's outputs (renditions of one source, each planned by ``plan``),
        or None to have each run on its own (the default). Pure, as ``plan``. ``execute`` then gets the
        TogetherPlan and writes every member's temp files; each member's bytes must equal what its
        own plan makes (the kit checks it). (contract 1.3)"""
        return None

    def output_checks(self, plan: ClipPlan, output_info: SourceInfo) -> tuple[Check, ...]:
        """Checks of your own, added to the core's relink checks (e.g. a sidecar your tool must
        write). They can only make verification stricter. Default: none. (contract 1.1)"""
        return ()
