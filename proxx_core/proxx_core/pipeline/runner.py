"""Runs a prepared job's clips: N at once, each to a temp name, verified, then atomically renamed.

Results come back in source order whatever the completion order. Nothing is retried; a failed clip
never stops the others.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from typing import Any

import attrs

from ..contract.engine import ClipPlan, ClipRequest, CommandRecord, Engine, TogetherPlan, Verification
from ..contract.errors import ClipFailure
from ..contract.media import SourceInfo
from ..contract.policies import FAIL, OVERWRITE, SKIP_VERIFIED
from ..contract.progress import DONE, START, ClipTracker, EventFn, ProgressEvent, accepts_progress, safe_emit
from ..contract.results import (
    COMPLETED,
    FAILED,
    SKIPPED,
    ClipResult,
    Failure,
    JobResult,
    OutputRecord,
    PublishedFile,
    SourceRecord,
)
from ..contract.vocabulary import Category, Layout
from ..features.chunkrun import ChunkSource, Seat, Slots, execute_chunked
from ..features.existing import judge_existing, policy_of, rerun_hint
from ..features.layouts import job_write_gate, make_folders
from ..features.look import changed_files
from ..features.opatom import verify_clip
from ..features.relink import ProxyFacts, verdicts
from ..features.relink import to_data as relink_data
from ..io.clock import now_rfc3339
from ..io.tempclaim import TempBusy, TempClaim, TempExists, TempIsSource
from ..io.writegate import WriteGate, WriteRefused, lidentity
from ..rules.verify import verify_output
from ..support.plugins import EngineSet
from ..support.workers import choose as choose_workers
from .endprep import prepare_while_encoding
from .inputwatch import InputWatch
from .planning import PreparedClip, PreparedJob
from .preflight import SourceStat
from .renditions import rendition_folders
from .results import finished, refused_clip
from .serialization import to_data


def _source_record(clip: PreparedClip) -> SourceRecord:
    # the size of the file that was probed, not of whatever the path names now
    size = clip.source_stat.size if clip.source_stat is not None else None
    return SourceRecord(path=clip.source, size=size, info=clip.source_info)


def _source_changed(clip: PreparedClip) -> str | None:
    """Why the source path no longer names the file that was probed, or None."""
    if clip.source_stat is None:
        return None
    now = SourceStat.of(clip.source)
    if now is None:
        return f"source {clip.source} vanished after it was probed"
    if now != clip.source_stat:
        return (
            f"source {clip.source} changed after it was probed (size, modification time or file identity "
            f"differ); nothing was published. Run the job again once the source is final"
        )
    return None


class _Stop(Exception):
    """Ends one clip's run at the step that raised it: the clip fails with ``category``."""

    def __init__(self, category: str, message: str):
        super().__init__(message)
        self.category, self.message = category, message


@attrs.define
class _ClipRun:
    """What one run of a clip has found so far; whichever step ends the run, this becomes its result."""

    clip: PreparedClip
    started_at: str = attrs.field(factory=now_rfc3339)
    t0: float = attrs.field(factory=time.monotonic)
    records: tuple[CommandRecord, ...] = ()
    output: OutputRecord | None = None
    relink: dict[str, Any] | None = None
    #: the job's worker slots, shared with the chunks of long intra clips, or a fleet (proxx_core.features.chunkrun)
    slots: ChunkSource | None = None
    #: the slot this clip's work unit holds until its engine run ends (None: ``slots.hold()`` around it)
    seat: Seat | None = None
    #: whether a temp file left by a dead run may be taken over (chunk files as the clip's own)
    overwrite: bool = False
    #: the write gate's test of a file identity (chunk files are claimed as the clip's temp files are)
    is_source: Callable[[tuple[int, int]], bool] | None = None

    def result(self, status: str, failure: Failure | None = None) -> ClipResult:
        clip, req = self.clip, self.clip.plan.request
        return ClipResult(
            index=clip.index,
            source=_source_record(clip),
            engine=clip.plan.engine,
            profile=req.profile.name,
            output=self.output,
            commands=tuple(to_data(r) for r in self.records),
            status=status,
            failure=failure,
            route=to_data(clip.route),
            look=_look_record(req),
            timing={
                "started_at": self.started_at,
                "finished_at": now_rfc3339(),
                "seconds": round(time.monotonic() - self.t0, 3),
            },
            relink=self.relink,
            rendition=clip.rendition,
            chunks=clip.chunked.record() if clip.chunked is not None else None,
        )

    def relink_verdicts(self, judged: SourceInfo | None, *, op_atom: bool) -> None:
        req = self.clip.plan.request
        self.relink = relink_data(
            verdicts(
                req.source_info,
                judged,
                ProxyFacts(source_path=req.source, output_path=req.output_path, layout=req.layout, op_atom=op_atom),
            )
        )


def run_clip(
    clip: PreparedClip,
    engines: EngineSet,
    *,
    overwrite: bool,
    cancel: threading.Event,
    source_ids: frozenset[tuple[int, int]] = frozenset(),
    existing_outputs: str | None = None,
    events: EventFn | None = None,
    gate: WriteGate | None = None,
    rerun: str | None = None,
    slots: ChunkSource | None = None,
    seat: Seat | None = None,
) -> ClipResult:
    """Make one clip. ``source_ids`` are the (st_dev, st_ino) of every source of the job: no file
    with one of these identities is ever replaced, whatever its name. ``existing_outputs``: the
    JobSpec 1.1 policy (proxx_core.features.existing); None: ``overwrite`` decides, as in 1.0. ``events``:
    receives this clip's ``progress`` events when the engine reports progress. ``gate``: the job's
    write gate (proxx_core.io.writegate), through which every file of the clip is published; None:
    one for this clip's source and folder. ``rerun``: how to let a rerun keep or replace existing files,
    in the spec's vocabulary (:func:`proxx_core.features.existing.rerun_hint` of the document). ``slots``: the
    job's worker slots, which a chunked clip's chunks run on, or a fleet's (None: one at a time). ``seat``:
    the slot the caller already holds for this clip, given back when the engine run ends, so that the
    next clip encodes while this one is verified and published (None: a slot is held around the run).

    The lifecycle of engine.py, one step each: the targets checked again (gate, existing files, the
    source and look unchanged), the temp files claimed, execute, probe_output, the core's
    verification, the source checked again, every file published through the gate. A step that
    refuses raises :class:`_Stop`; the clip then fails with what the run has found so far."""
    rules = _UnitRules(clip, overwrite, existing_outputs, rerun, source_ids, gate)
    run = _ClipRun(clip, slots=slots, seat=seat, overwrite=rules.overwrite, is_source=rules.gate.is_source)
    try:
        claims = _before_engine(run, rules, engines, cancel)
        if claims is None:
            return run.result(SKIPPED)
        try:
            verification = _make(run, engines, cancel, events, claims)
            run.output = _publish(clip, rules.gate, claims, verification, replace=rules.replace)
        finally:
            for c in claims:
                c.release()
    except _Stop as stop:
        return run.result(FAILED, Failure(category=stop.category, message=stop.message))
    return run.result(COMPLETED)


class _UnitRules:
    """What every clip of a work unit is made under (the keywords of :func:`run_clip`, resolved):
    the existing-files policy, how a rerun may keep or replace files, the identities no file may
    have (the job's sources and this unit's), and the write gate. A plain class: it is made before
    the first encode, where every attrs class costs start-up time."""

    __slots__ = ("policy", "rerun", "source_ids", "gate")

    def __init__(
        self,
        first: PreparedClip,
        overwrite: bool,
        existing_outputs: str | None,
        rerun: str | None,
        source_ids: frozenset[tuple[int, int]],
        gate: WriteGate | None,
    ):
        self.policy = existing_outputs or (OVERWRITE if overwrite else FAIL)
        self.rerun = rerun or rerun_hint(_spec_keys(existing_outputs))
        if first.source_stat is not None:
            source_ids = source_ids | {(first.source_stat.dev, first.source_stat.ino)}
        self.source_ids = source_ids
        self.gate = _clip_gate(first, gate, source_ids)

    @property
    def overwrite(self) -> bool:
        """Whether files of a dead run (temp files, chunk files) may be taken over."""
        return self.policy != FAIL

    @property
    def replace(self) -> bool:
        """Whether a final file already there is replaced."""
        return self.policy == OVERWRITE


def _before_engine(
    run: _ClipRun, rules: _UnitRules, engines: EngineSet, cancel: threading.Event
) -> list[TempClaim] | None:
    """A clip's steps before its engine runs: not interrupted, its targets allowed by the gate, its
    final files ready to be written, its temp files claimed (returned). None: ``skip_verified`` kept
    the verified files already there (``run`` holds what was judged)."""
    clip = run.clip
    if cancel.is_set():
        raise _Stop("interrupted", "the run was interrupted before this clip started")
    _check_targets(clip, rules.gate)
    if rules.policy == SKIP_VERIFIED and any(os.path.lexists(p) for p in _finals(clip.plan.request)):
        _keep_verified(run, engines, rules.source_ids)
        return None
    _check_ready(clip, replace=rules.replace, rerun=rules.rerun)
    return _claim_temps(clip, rules.gate, overwrite=rules.overwrite, rerun=rules.rerun)


def _finals(req: ClipRequest) -> tuple[str, ...]:
    """Every final file of a clip, the video file first (OP-Atom: then its other files)."""
    return (req.output_path, *(t.path for t in req.extra_outputs))


def _clip_gate(clip: PreparedClip, gate: WriteGate | None, source_ids: frozenset[tuple[int, int]]) -> WriteGate:
    """The job's gate, also refusing this clip's source; without one, a gate for this clip alone."""
    if gate is None:
        return WriteGate((clip.source,), (os.path.dirname(clip.plan.request.output_path),), source_ids=source_ids)
    return gate.with_ids(source_ids) if source_ids - gate.ids else gate


def _check_targets(clip: PreparedClip, gate: WriteGate) -> None:
    """Every final and temp name the gate allows: refused at validate, checked again here for a job
    prepared before its sources moved."""
    req = clip.plan.request
    for final, temp in zip(_finals(req), (req.temp_path, *(t.temp_path for t in req.extra_outputs)), strict=True):
        why = gate.refusal(final) or gate.temp_refusal(temp)
        if why:
            raise _Stop("output_exists", f"{why}; it was left untouched and the clip was not made")


def _keep_verified(run: _ClipRun, engines: EngineSet, source_ids: frozenset[tuple[int, int]]) -> None:
    """``skip_verified`` with a file under the clip's final name: keep it if it verifies against the source."""
    plan = run.clip.plan
    req = plan.request
    if req.extra_outputs:
        raise _Stop(
            "output_exists",
            f"{req.output_path} (or another file of this OP-Atom clip) already exists and "
            f'was left untouched: "skip_verified" does not verify OP-Atom clips yet; '
            f'delete the clip\'s files or set "existing_outputs": "overwrite"',
        )
    _check_source(run.clip)
    verdict = judge_existing(plan, engines.get(plan.engine), engines.clip_checks, source_ids=source_ids)
    run.output = OutputRecord(
        path=req.output_path, size=verdict.size, sha256=verdict.sha256, verification=verdict.verification
    )
    if not verdict.ok:
        raise _Stop("output_exists", verdict.message or f"{req.output_path} could not be verified")
    assert verdict.verification is not None  # ok: verified
    run.relink_verdicts(verdict.verification.output_info, op_atom=req.layout == Layout.AVID_MXF)


def _check_source(clip: PreparedClip, discard: tuple[TempClaim, ...] = ()) -> None:
    changed = _source_changed(clip)
    if changed:
        raise _Stop("io_error", changed + (_discard(*discard) if discard else ""))


def _check_ready(clip: PreparedClip, *, replace: bool, rerun: str) -> None:
    """Before any file is touched: no final name taken (unless the policy replaces), the source and
    the look files unchanged since validation, the clip's folders made."""
    req = clip.plan.request
    for path in _finals(req):
        if os.path.lexists(path) and not replace:
            raise _Stop("output_exists", f"{path} already exists and was left untouched; delete it, or {rerun}")
    _check_source(clip)
    if req.look is not None and changed_files(req.look):
        raise _Stop(
            "io_error",
            f"{changed_files(req.look)[0]} (/look) changed since the job was validated; the "
            f"clip was not made with a LUT other than the one validated: run the job again",
        )
    try:
        make_folders(clip.folders)  # layouts: only inside declared folders, never a parent (layouts.py)
    except OSError as exc:
        raise _Stop("io_error", f"cannot create folder {exc.filename}: {exc.strerror or exc}") from exc


def _claim_temps(clip: PreparedClip, gate: WriteGate, *, overwrite: bool, rerun: str) -> list[TempClaim]:
    """Own every temp file of the clip (OP-Atom: all of them the same way), or none."""
    req = clip.plan.request
    claims: list[TempClaim] = []
    try:
        # skip_verified resumes an interrupted run: a leftover temp nobody holds is taken over too
        claims.append(TempClaim.take(req.temp_path, overwrite=overwrite, is_source=gate.is_source))
        for target in req.extra_outputs:
            claims.append(TempClaim.take(target.temp_path, overwrite=overwrite, is_source=gate.is_source))
    except TempExists as exc:
        _released(claims)
        raise _Stop(
            "output_exists",
            (
                f"temporary output {_temp_named(exc, req, claims)} exists (an earlier run was interrupted or failed "
                f"verification, or another run of this job is in progress); inspect and delete it, "
                f"or {rerun}"
            ),
        ) from exc
    except TempBusy as exc:
        _released(claims)
        raise _Stop("output_exists", f"{exc}; it was left untouched") from exc
    except TempIsSource as exc:
        _released(claims)
        raise _Stop(
            "output_exists", f"{_temp_named(exc, req, claims)} is a source of this job and was left untouched"
        ) from exc
    except OSError as exc:
        _released(claims)
        raise _Stop("io_error", f"cannot create {_temp_named(exc, req, claims)}: {exc.strerror or exc}") from exc
    return claims


def _make(
    run: _ClipRun, engines: EngineSet, cancel: threading.Event, events: EventFn | None, claims: list[TempClaim]
) -> Verification:
    """execute, probe_output and the core's verification of the temp files; the source checked again.
    Any failure removes the temp files this run still owns (a failed verification keeps the video
    file for inspection)."""
    clip = run.clip
    plan, req = clip.plan, clip.plan.request
    engine = engines.get(plan.engine)
    with InputWatch(clip, cancel) as watch:  # a source or LUT replaced mid-encode stops it at once
        try:
            assert engine is not None  # the plan was made by this engine set
            run.records = _execute(run, engine, watch.cancel, events)
        except Exception as exc:  # a failure or an engine bug: fail this clip, keep the job going
            run.records = exc.records if isinstance(exc, ClipFailure) and exc.records else run.records
            if watch.reason:  # the engine was stopped because an input changed: that is the failure
                raise _Stop("io_error", watch.reason + _discard(*claims)) from exc
            raise _stop_of(exc, plan.engine, req.temp_path, claims) from exc
    if watch.reason:
        raise _Stop("io_error", watch.reason + _discard(*claims))
    return _judge(run, engine, engines, claims)


def _stop_of(exc: Exception, engine: str, temp_path: str, claims: list[TempClaim]) -> _Stop:
    """How an exception from an engine's step ends the clip: its category (storage errors are
    ``io_error``, anything unexpected an engine bug), the temp files this run owns removed."""
    if isinstance(exc, ClipFailure):
        return _Stop(exc.category, exc.message + _discard(*claims))
    if isinstance(exc, OSError):
        return _Stop("io_error", f"{exc.filename or temp_path}: {exc.strerror or exc}" + _discard(*claims))
    return _Stop("engine_failed", f"engine {engine!r} raised {type(exc).__name__}: {exc}" + _discard(*claims))


def _judge(run: _ClipRun, engine: Engine, engines: EngineSet, claims: list[TempClaim]) -> Verification:
    """After the engine ran: its temp files held, probed, verified by the core; the source checked
    again. A failed verification keeps the video file for inspection; any other failure removes them."""
    clip = run.clip
    plan, req = clip.plan, clip.plan.request
    try:
        # engines that render elsewhere rename their file into place: hold that file before verifying it
        if any(not c.adopt() and os.path.lexists(c.path) for c in claims):
            raise _Stop(
                "output_exists",
                f"{req.temp_path} was replaced by another run of this job while this clip "
                f"was encoding; this run published nothing",
            )
        for claim in claims:  # hashed and written to disk while the output is probed and verified
            claim.publish_behind()
        output_info = engine.probe_output(plan)  # the core judges the output; the engine only describes it
        if req.extra_outputs:  # OP-Atom: every file checked, the clip judged as one
            verification, judged = verify_clip(plan, output_info, engine, engines.clip_checks(plan, output_info))
        else:
            verification = verify_output(plan, output_info, engine, engines.clip_checks(plan, output_info))
            judged = output_info
        run.relink_verdicts(judged, op_atom=bool(req.extra_outputs) or req.layout == Layout.AVID_MXF)
    except _Stop:
        raise
    except Exception as exc:  # a failure or an engine bug: fail this clip, keep the job going
        run.records = exc.records if isinstance(exc, ClipFailure) and exc.records else run.records
        raise _stop_of(exc, plan.engine, req.temp_path, claims) from exc
    if not verification.ok:
        bad = ", ".join(f"{c.name} expected {c.expected!r} got {c.actual!r}" for c in verification.failed_checks())
        kept = req.temp_path if claims[0].at_path() else None
        run.output = OutputRecord(
            path=req.output_path, size=None, sha256=None, verification=verification, kept_temp_path=kept
        )
        where = f"kept for inspection at {kept}" if kept else "the engine left no output to keep"
        raise _Stop("verification_failed", f"output does not match its source: {bad}; {where}")
    _check_source(clip, discard=tuple(claims))
    return verification


def _execute(
    run: _ClipRun, engine: Engine, cancel: threading.Event, events: EventFn | None
) -> tuple[CommandRecord, ...]:
    """The engine's execute on one of the job's slots, with live progress when both the caller and the
    engine want it; a chunked clip's chunks and join instead (proxx_core.features.chunkrun)."""
    clip = run.clip
    if clip.chunked is not None:
        assert run.is_source is not None  # run_clip sets it
        if run.seat is not None:  # the chunks take the job's slots themselves, this one among them
            run.seat.give_back()
        return execute_chunked(
            clip.chunked, engine, cancel, run.slots, overwrite=run.overwrite, is_source=run.is_source
        )
    if run.seat is not None:
        try:
            return _execute_whole(clip, engine, cancel, events)
        finally:
            run.seat.give_back()
    if run.slots is not None:
        with run.slots.hold():
            return _execute_whole(clip, engine, cancel, events)
    return _execute_whole(clip, engine, cancel, events)


def _execute_whole(
    clip: PreparedClip, engine: Engine, cancel: threading.Event, events: EventFn | None, plan: ClipPlan | None = None
) -> tuple[CommandRecord, ...]:
    """The engine's execute of ``plan`` (a TogetherPlan making this clip and others; default the clip's
    own), with live progress when both the caller and the engine want it."""
    plan = plan or clip.plan
    if events is not None and accepts_progress(engine.execute):
        tracker = ClipTracker(clip.index, clip.source, clip.plan.request.output_path, events)
        # ``progress`` is an optional keyword of the engine contract (docs/engine-authors.md), not on
        # Engine.execute: accepts_progress has checked that this engine's execute declares it
        execute: Callable[..., tuple[CommandRecord, ...]] = engine.execute
        return execute(plan, cancel, progress=tracker)
    return engine.execute(plan, cancel)


def _publish(
    clip: PreparedClip, gate: WriteGate, claims: list[TempClaim], verification: Verification, *, replace: bool
) -> OutputRecord:
    """Every file of the clip through the write gate, the video file first; all or nothing."""
    req = clip.plan.request
    published: list[tuple[str, TempClaim]] = []
    files_published: list[PublishedFile] = []
    kinds = ("video", *(t.kind for t in req.extra_outputs))
    for kind, final, held in zip(kinds, _finals(req), claims, strict=True):
        try:
            digest, size = gate.publish_claim(held, final, replace=replace)
        except WriteRefused as exc:  # _discard removes only temp files still this run's own
            raise _Stop(exc.category, exc.message + _unpublish(published) + _discard(*claims)) from exc
        except FileExistsError as exc:
            raise _Stop(
                "output_exists",
                f"{final} appeared while this clip ran and was left untouched"
                + _unpublish(published)
                + _discard(*claims),
            ) from exc
        except OSError as exc:
            raise _Stop(
                "io_error",
                f"{exc.filename or final}: {exc.strerror or exc}" + _unpublish(published) + _discard(*claims),
            ) from exc
        published.append((final, held))
        files_published.append(PublishedFile(kind=kind, path=final, size=size, sha256=digest))
    files = tuple(files_published) if req.extra_outputs else None
    return OutputRecord(
        path=req.output_path,
        size=files_published[0].size,
        sha256=files_published[0].sha256,
        verification=verification,
        files=files,
    )


def _discard(*claims: TempClaim) -> str:
    """Delete this run's temp outputs (only where the temp name still holds this run's file). Never
    raises: on a read-only or failing volume the clip's failure says what was left behind."""
    said = ""
    for claim in claims:
        if not claim.at_path():
            continue
        try:
            os.unlink(claim.path)
        except FileNotFoundError:
            continue
        except OSError as exc:
            said += f" (the temporary file {claim.path} could not be removed: {exc.strerror or exc})"
    return said


def _released(claims: list[TempClaim]) -> None:
    """A clip that could not own all its temp files gives back (and removes) those it took."""
    _discard(*claims)
    for c in claims:
        c.release()


def _temp_named(exc: BaseException, req: ClipRequest, claims: list[TempClaim]) -> str:
    """The temp path a claim failed on: the next one after those already taken."""
    paths: list[str] = [req.temp_path, *(t.temp_path for t in req.extra_outputs)]
    return paths[min(len(claims), len(paths) - 1)]


def _unpublish(published: list[tuple[str, TempClaim]]) -> str:
    """Remove files this run published (only those still this run's own file)."""
    said = ""
    for path, claim in published:
        if lidentity(path) == claim.identity():
            try:
                os.unlink(path)
            except OSError as exc:
                said += f" ({path} could not be removed: {exc.strerror or exc})"
    return "; the clip's other published files were removed" + said if published else ""


def _spec_keys(existing_outputs: str | None) -> dict[str, str]:
    """The part of the spec a rerun hint needs: whether it uses ``existing_outputs``."""
    return {} if existing_outputs is None else {"existing_outputs": existing_outputs}


def _unexpected(clip: PreparedClip, exc: Exception) -> ClipResult:
    """The result of a clip whose run raised: storage errors are io_error, anything else is a bug."""
    if isinstance(exc, OSError):
        failure = Failure(
            category=Category.IO_ERROR,
            message=f"{exc.filename or clip.plan.request.output_path}: {exc.strerror or exc}",
        )
    else:
        failure = Failure(
            category=Category.ENGINE_FAILED, message=f"internal error {type(exc).__name__}: {exc}; please report it"
        )
    now = now_rfc3339()
    return ClipResult(
        index=clip.index,
        source=_source_record(clip),
        engine=clip.plan.engine,
        profile=clip.plan.request.profile.name,
        output=None,
        status=FAILED,
        failure=failure,
        route=to_data(clip.route),
        look=_look_record(clip.plan.request),
        timing={"started_at": now, "finished_at": now, "seconds": 0.0},
        rendition=clip.rendition,
    )


def _look_record(req: ClipRequest) -> dict[str, Any] | None:
    """The clip's ``look`` record (docs/results.md): what was applied, with each file's SHA-256."""
    return req.look.record() if req.look is not None else None


def _done_event(res: ClipResult, source: str, output: str) -> ProgressEvent:
    return ProgressEvent(
        event=DONE,
        index=res.index,
        source=source,
        output=output,
        status=res.status,
        category=res.failure.category if res.failure else None,
    )


def _distribution_names(engines: EngineSet, used: list[str]) -> tuple[str, ...]:
    labels = (engines.loaded[n].distribution for n in used)
    return tuple(label.rsplit(" ", 1)[0] for label in labels if label)


#: what runs as one (:func:`work_units`): a clip alone (no plan), or the renditions one TogetherPlan makes
WorkUnit = tuple[TogetherPlan | None, tuple[PreparedClip, ...]]


def work_units(job: PreparedJob) -> list[WorkUnit]:
    """What runs as one: a clip alone, or the renditions of a source one TogetherPlan makes (at the
    place of its first member), in the order of ``job.clips``."""
    owner = {m.request.output_path: plan for plan in job.together for m in plan.members}
    units: list[WorkUnit] = []
    started: set[int] = set()
    for clip in job.clips:
        plan = owner.get(clip.plan.request.output_path)
        if plan is None:
            units.append((None, (clip,)))
        elif id(plan) not in started:
            started.add(id(plan))
            outputs = [m.request.output_path for m in plan.members]
            units.append(
                (
                    plan,
                    tuple(
                        sorted(
                            (c for c in job.clips if c.plan.request.output_path in outputs),
                            key=lambda c: outputs.index(c.plan.request.output_path),
                        )
                    ),
                )
            )
    return units


@attrs.frozen
class UnitOptions:
    """What a job's work units are run with, whichever front end runs them (``proxx run``, a fleet
    node): the keywords :func:`run_clip` and :func:`run_together` share, under their names (their
    docstrings say what each means)."""

    overwrite: bool
    cancel: threading.Event
    existing_outputs: str | None = None
    events: EventFn | None = None
    gate: WriteGate | None = None
    source_ids: frozenset[tuple[int, int]] = frozenset()
    rerun: str | None = None


def run_unit(
    unit: WorkUnit,
    engines: EngineSet,
    options: UnitOptions,
    *,
    seat: Seat | None = None,
    slots: ChunkSource | None = None,
) -> list[ClipResult]:
    """The results of a work unit's clips, in its order: a lone clip by :func:`run_clip` (its chunks
    on ``slots``), a source's renditions by :func:`run_together`. ``seat``: the slot held for the
    unit (see :func:`run_clip`). An exception neither of them expected fails each clip of the unit
    with a result of its own (:func:`_unexpected`), so the job's (or the task's) other units keep
    theirs: one rule for ``proxx run`` and a fleet node."""
    plan, clips = unit
    keywords = attrs.asdict(options, recurse=False)  # named as both functions' keywords
    try:
        if plan is None:
            return [run_clip(clips[0], engines, **keywords, slots=slots, seat=seat)]
        return run_together(plan, clips, engines, **keywords, seat=seat)  # one run of the engine on this unit's slot
    except Exception as exc:  # never lose the result of the other clips
        return [_unexpected(clip, exc) for clip in clips]


def job_gate(job: PreparedJob, source_ids: frozenset[tuple[int, int]] = frozenset()) -> WriteGate:
    """The write gate of a prepared job: every source of the spec, the folders its layout writes."""
    spec = job.spec
    if spec.renditions:  # every rendition's folders (JobSpec 1.2)
        return WriteGate(spec.sources, rendition_folders(spec), source_ids=source_ids)
    return job_write_gate(spec.sources, layout=spec.layout, output_dir=spec.output_dir, source_ids=source_ids)


def run_job(
    job: PreparedJob,
    engines: EngineSet,
    *,
    max_workers: int | str = 1,
    cancel: threading.Event | None = None,
    events: EventFn | None = None,
) -> JobResult:
    """``max_workers``: clips at once, or ``"auto"`` (proxx_core.support.workers); the choice is recorded
    under the result's ``timing.workers``. ``events``: live ProgressEvents (start, progress, done)
    for a display; clips refused under ``fail_clip`` are reported ``done`` first."""
    cancel = cancel or threading.Event()
    prepare_while_encoding()  # the result's converters, made while the first encoder runs (endprep.py)
    workers = choose_workers(
        max_workers,
        codec=job.clips[0].plan.request.profile.codec if job.clips else None,
        clips=sum(len(c.chunked.spans) if c.chunked else 1 for c in job.clips),
    )
    started_at, t0 = now_rfc3339(), time.monotonic()

    source_ids = frozenset((c.source_stat.dev, c.source_stat.ino) for c in job.clips if c.source_stat is not None)
    options = UnitOptions(
        overwrite=job.spec.overwrite,
        cancel=cancel,
        existing_outputs=policy_of(job.spec),
        events=events,
        gate=job_gate(job, source_ids),
        source_ids=source_ids,
        rerun=rerun_hint(job.document),
    )

    refused = [
        refused_clip(r.index, r.source, r.problem, r.profile or job.spec.proxy_profile, r.rendition)
        for r in job.refused
    ]
    for r in refused:
        safe_emit(events, _done_event(r, r.source.path, ""))

    def unit(work: WorkUnit) -> list[ClipResult]:
        """One clip, or a source's renditions made by one run of the engine (one start for the run:
        displays key clips by index, which the renditions share; a done for each)."""
        clips = work[1]
        first = clips[0]
        with slots.seat() as seat:  # started when a slot is free; given back when the engine run ends
            safe_emit(
                events,
                ProgressEvent(
                    event=START, index=first.index, source=first.source, output=first.plan.request.output_path
                ),
            )
            results = run_unit(work, engines, options, seat=seat, slots=slots)
        for clip, res in zip(clips, results, strict=True):
            safe_emit(events, _done_event(res, clip.source, clip.plan.request.output_path))
        return results

    slots = Slots(workers.max_workers)  # whole clips and chunks share them (proxx_core.features.chunkrun)
    try:
        # one thread more than slots: a clip is verified and published while the next one encodes
        ran = tuple(res for done in _in_order(unit, work_units(job), workers.max_workers + 1) for res in done)
    finally:
        slots.close()
    clips = tuple(sorted((*ran, *refused), key=lambda c: c.index)) if refused else ran
    used = sorted({c.plan.engine for c in job.clips})
    return finished(
        job,
        clips,
        identities=[engines.identity(n) for n in used],
        distributions=_distribution_names(engines, used),
        started_at=started_at,
        started_monotonic=t0,
        finished_monotonic=time.monotonic(),
        workers=workers.record(),
    )


def _in_order(
    fn: Callable[[WorkUnit], list[ClipResult]], units: list[WorkUnit], threads: int
) -> list[list[ClipResult]]:
    """``fn`` of each unit on up to ``threads`` threads, results in the units' order. One unit runs on one
    thread of its own, as it would in the pool, without importing concurrent.futures and logging (~6 ms
    of a one-clip job's start)."""
    if not units:
        return []
    if len(units) == 1:
        box: list[list[ClipResult]] = []
        failed: list[BaseException] = []

        def only() -> None:
            try:
                box.append(fn(units[0]))
            except BaseException as exc:  # raised in the caller, as the pool's map raises it
                failed.append(exc)

        thread = threading.Thread(target=only, name="proxx-clip_0")
        thread.start()
        thread.join()
        if failed:
            raise failed[0]
        return box
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=threads, thread_name_prefix="proxx-clip") as pool:
        return list(pool.map(fn, units))


# -- JobSpec 1.2 renditions: the renditions of one source that one engine run makes ----------------
# (Engine.plan_together). Each rendition is checked, claimed, verified and published on its own with
# the steps above, in their order; the engine runs once for all of them. Before the run, a rendition
# that cannot start (its final name taken, its temp file busy, skip_verified keeping a verified file)
# leaves the group with its own result; the others are planned together again (a pure call) or, if
# one is left, run with its own plan. After the run each rendition is judged alone: one failing its
# verification or its publish never loses the others. A failed run fails every rendition it was
# making (one process: a cancel, a timeout or a crash ends all of them).


def run_together(
    plan: TogetherPlan,
    clips: tuple[PreparedClip, ...],
    engines: EngineSet,
    *,
    overwrite: bool,
    cancel: threading.Event,
    source_ids: frozenset[tuple[int, int]] = frozenset(),
    existing_outputs: str | None = None,
    events: EventFn | None = None,
    gate: WriteGate | None = None,
    rerun: str | None = None,
    seat: Seat | None = None,
) -> list[ClipResult]:
    """The results of ``clips`` (the members of ``plan``, in its order), as :func:`.runner.run_clip`
    would give each, made by one run of the engine. ``seat``: the slot held for the run, given back
    when the engine run ends (see :func:`run_clip`)."""
    rules = _UnitRules(clips[0], overwrite, existing_outputs, rerun, source_ids, gate)
    results: dict[int, ClipResult] = {}
    ready: list[tuple[int, _ClipRun, list[TempClaim]]] = []
    try:
        for k, clip in enumerate(clips):
            # no seat: a rendition left to run alone keeps the unit's slot until the unit ends
            run = _ClipRun(clip, overwrite=rules.overwrite, is_source=rules.gate.is_source)  # chunk files as its own
            try:
                claims = _before_engine(run, rules, engines, cancel)
                if claims is None:
                    results[k] = run.result(SKIPPED)
                    continue
                ready.append((k, run, claims))
            except _Stop as stop:
                results[k] = run.result(FAILED, Failure(category=stop.category, message=stop.message))
        together = _replanned(plan, [run.clip.plan for _k, run, _c in ready], engines)
        failed = None
        if together is not None:
            try:
                failed = _run_once(together, ready, engines, cancel, events)
            finally:
                if seat is not None:
                    seat.give_back()
        for k, run, claims in ready:
            try:
                if failed is not None:
                    raise failed
                if together is None:  # alone after all: the runner's own steps
                    verification = _make(run, engines, cancel, events, claims)
                else:
                    engine = engines.get(together.engine)
                    assert engine is not None  # the plan was made by this engine set
                    verification = _judge(run, engine, engines, claims)
                run.output = _publish(run.clip, rules.gate, claims, verification, replace=rules.replace)
                results[k] = run.result(COMPLETED)
            except _Stop as stop:
                results[k] = run.result(FAILED, Failure(category=stop.category, message=stop.message))
    finally:
        for _k, _run, claims in ready:
            for c in claims:
                c.release()
    return [results[k] for k in range(len(clips))]


def _replanned(plan: TogetherPlan, members: list[ClipPlan], engines: EngineSet) -> TogetherPlan | None:
    """The run for the renditions still to make: the validated plan when all are, else planned again."""
    if len(members) == len(plan.members):
        return plan
    engine = engines.get(plan.engine)
    if len(members) < 2 or engine is None:
        return None
    return engine.plan_together(tuple(members))


def _run_once(
    plan: TogetherPlan,
    ready: list[tuple[int, _ClipRun, list[TempClaim]]],
    engines: EngineSet,
    cancel: threading.Event,
    events: EventFn | None,
) -> _Stop | None:
    """Execute ``plan`` once; every member's run records its commands. A failure is every member's
    (their temp files removed), returned to end each of them with the same message."""
    runs = [run for _k, run, _c in ready]
    claims = [c for _k, _run, cs in ready for c in cs]
    engine = engines.get(plan.engine)
    records: tuple[CommandRecord, ...] = ()
    failed: _Stop | None = None
    with InputWatch(runs[0].clip, cancel) as watch:  # one source (and look) for every rendition
        try:
            assert engine is not None  # the plan was made by this engine set
            records = _execute_whole(runs[0].clip, engine, watch.cancel, events, plan)
        except Exception as exc:  # a failure or an engine bug: fail these renditions, keep the job going
            records = exc.records if isinstance(exc, ClipFailure) else ()
            if not watch.reason:
                failed = _stop_of(exc, plan.engine, plan.request.temp_path, claims)
    if watch.reason:  # the engine was stopped (or finished) with an input changed: that is the failure
        failed = _Stop("io_error", watch.reason + _discard(*claims))
    for run in runs:
        run.records = records
    return failed
