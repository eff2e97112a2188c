"""Runs a prepared job's clips: N at once, each to a temp name, verified, then atomically renamed.

Results come back in source order whatever the completion order. Nothing is retried; a failed clip
never stops the others.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .clock import now_rfc3339
from .engine import ClipRequest, CommandRecord
from .errors import ClipFailure
from .existing import FAIL, OVERWRITE, SKIP_VERIFIED, judge_existing, policy_of, rerun_hint
from .layouts import job_write_gate, make_folders
from .look import changed_files
from .opatom import verify_clip
from .planning import PreparedClip, PreparedJob
from .plugins import EngineSet
from .preflight import SourceStat
from .progress import DONE, START, ClipTracker, EventFn, ProgressEvent, accepts_progress, safe_emit
from .relink import ProxyFacts, verdicts
from .relink import to_data as relink_data
from .results import (
    COMPLETED,
    FAILED,
    SKIPPED,
    ClipResult,
    Failure,
    JobResult,
    OutputRecord,
    finished,
    refused_clip,
)
from .serialization import to_data
from .tempclaim import TempBusy, TempClaim, TempExists, TempIsSource
from .verify import verify_output
from .workers import choose as choose_workers
from .writegate import WriteGate, WriteRefused, lidentity


def _source_record(clip: PreparedClip) -> dict[str, Any]:
    # the size of the file that was probed, not of whatever the path names now
    size = clip.source_stat.size if clip.source_stat is not None else None
    return {"path": clip.source, "size": size, "info": to_data(clip.source_info)}


def _source_changed(clip: PreparedClip) -> str | None:
    """Why the source path no longer names the file that was probed, or None."""
    if clip.source_stat is None:
        return None
    now = SourceStat.of(clip.source)
    if now is None:
        return f"source {clip.source} vanished after it was probed"
    if now != clip.source_stat:
        return (f"source {clip.source} changed after it was probed (size, modification time or file identity "
                f"differ); nothing was published. Run the job again once the source is final")
    return None


def run_clip(clip: PreparedClip, engines: EngineSet, *, overwrite: bool, cancel: threading.Event,
             source_ids: frozenset[tuple[int, int]] = frozenset(), existing_outputs: str | None = None,
             events: EventFn | None = None, gate: WriteGate | None = None, rerun: str | None = None) -> ClipResult:
    """Make one clip. ``source_ids`` are the (st_dev, st_ino) of every source of the job: no file
    with one of these identities is ever replaced, whatever its name. ``existing_outputs``: the
    JobSpec 1.1 policy (proxx_core.existing); None: ``overwrite`` decides, as in 1.0. ``events``:
    receives this clip's ``progress`` events when the engine reports progress. ``gate``: the job's
    write gate (proxx_core.writegate), through which every file of the clip is published; None:
    one for this clip's source and folder. ``rerun``: how to let a rerun keep or replace existing files,
    in the spec's vocabulary (:func:`proxx_core.existing.rerun_hint` of the document)."""
    policy = existing_outputs or (OVERWRITE if overwrite else FAIL)
    rerun = rerun or rerun_hint(_spec_keys(existing_outputs))
    overwrite = policy == OVERWRITE
    plan = clip.plan
    req = plan.request
    started_at, t0 = now_rfc3339(), time.monotonic()
    records: tuple[CommandRecord, ...] = ()
    output = None
    failure = None
    relink = None
    if clip.source_stat is not None:
        source_ids = source_ids | {(clip.source_stat.dev, clip.source_stat.ino)}
    if gate is None:
        gate = WriteGate((clip.source,), (os.path.dirname(req.output_path),), source_ids=source_ids)
    elif source_ids - gate.ids:
        gate = gate.with_ids(source_ids)

    def result(status: str) -> ClipResult:
        return ClipResult(index=clip.index, source=_source_record(clip), engine=plan.engine, profile=req.profile.name,
                          output=output, commands=tuple(to_data(r) for r in records), status=status,
                          failure=failure, route=to_data(clip.route), look=_look_record(req),
                          timing={"started_at": started_at, "finished_at": now_rfc3339(),
                                  "seconds": round(time.monotonic() - t0, 3)}, relink=relink)

    def fail(category: str, message: str) -> ClipResult:
        nonlocal failure
        failure = Failure(category=category, message=message)
        return result(FAILED)

    if cancel.is_set():
        return fail("interrupted", "the run was interrupted before this clip started")
    finals = (req.output_path, *(t.path for t in req.extra_outputs))
    for final, temp in zip(finals, (req.temp_path, *(t.temp_path for t in req.extra_outputs)), strict=True):
        why = gate.refusal(final) or gate.temp_refusal(temp)
        if why:  # refused at validate; checked again here for a job prepared before its sources moved
            return fail("output_exists", f"{why}; it was left untouched and the clip was not made")
    if policy == SKIP_VERIFIED and any(os.path.lexists(p) for p in finals):
        if req.extra_outputs:
            return fail("output_exists", f"{req.output_path} (or another file of this OP-Atom clip) already exists and "
                                         f"was left untouched: \"skip_verified\" does not verify OP-Atom clips yet; "
                                         f"delete the clip's files or set \"existing_outputs\": \"overwrite\"")
        changed = _source_changed(clip)
        if changed:
            return fail("io_error", changed)
        verdict = judge_existing(plan, engines.get(plan.engine), engines.clip_checks, source_ids=source_ids)
        output = OutputRecord(path=req.output_path, size=verdict.size, sha256=verdict.sha256,
                              verification=verdict.verification)
        if not verdict.ok:
            return fail("output_exists", verdict.message or f"{req.output_path} could not be verified")
        assert verdict.verification is not None  # ok: verified
        relink = relink_data(verdicts(req.source_info, verdict.verification.output_info, ProxyFacts(
            source_path=req.source, output_path=req.output_path, layout=req.layout, op_atom=req.layout == "avid_mxf")))
        return result(SKIPPED)
    for path in finals:
        if os.path.lexists(path) and not overwrite:
            return fail("output_exists", f"{path} already exists and was left untouched; delete it, or "
                                         f"{rerun}")
    changed = _source_changed(clip)
    if changed:
        return fail("io_error", changed)
    if req.look is not None and changed_files(req.look):
        return fail("io_error", f"{changed_files(req.look)[0]} (/look) changed since the job was validated; the "
                                f"clip was not made with a LUT other than the one validated: run the job again")
    try:
        make_folders(clip.folders)  # layouts: only inside declared folders, never a parent (layouts.py)
    except OSError as exc:
        return fail("io_error", f"cannot create folder {exc.filename}: {exc.strerror or exc}")
    claims: list[TempClaim] = []
    try:
        # skip_verified resumes an interrupted run: a leftover temp nobody holds is taken over too
        claim = TempClaim.take(req.temp_path, overwrite=policy != FAIL, is_source=gate.is_source)
        claims.append(claim)
        for target in req.extra_outputs:  # OP-Atom: every file of the clip is owned the same way
            claims.append(TempClaim.take(target.temp_path, overwrite=policy != FAIL, is_source=gate.is_source))
    except TempExists as exc:
        return _released(claims, fail("output_exists", (
            f"temporary output {_temp_named(exc, req, claims)} exists (an earlier run was interrupted or failed "
            f"verification, or another run of this job is in progress); inspect and delete it, "
            f"or {rerun}")))
    except TempBusy as exc:
        return _released(claims, fail("output_exists", f"{exc}; it was left untouched"))
    except TempIsSource as exc:
        return _released(claims, fail("output_exists", f"{_temp_named(exc, req, claims)} is a source of this job "
                                                       f"and was left untouched"))
    except OSError as exc:
        return _released(claims, fail("io_error", f"cannot create {_temp_named(exc, req, claims)}: "
                                                  f"{exc.strerror or exc}"))
    try:
        engine = engines.get(plan.engine)
        try:
            assert engine is not None  # the plan was made by this engine set
            if events is not None and accepts_progress(engine.execute):
                tracker = ClipTracker(clip.index, clip.source, req.output_path, events)
                # ``progress`` is an optional keyword of the engine contract (docs/engine-authors.md), not on
                # Engine.execute: accepts_progress has checked that this engine's execute declares it
                execute: Callable[..., tuple[CommandRecord, ...]] = engine.execute
                records = execute(plan, cancel, progress=tracker)
            else:
                records = engine.execute(plan, cancel)
            # engines that render elsewhere rename their file into place: hold that file before verifying it
            foreign = any(not c.adopt() and os.path.lexists(c.path) for c in claims)
            if foreign:
                verification = None
            else:  # the core judges the output; the engine only describes it
                output_info = engine.probe_output(plan)
                if req.extra_outputs:  # OP-Atom: every file checked, the clip judged as one
                    verification, judged = verify_clip(plan, output_info, engine,
                                                       engines.clip_checks(plan, output_info))
                else:
                    verification = verify_output(plan, output_info, engine, engines.clip_checks(plan, output_info))
                    judged = output_info
                relink = relink_data(verdicts(req.source_info, judged, ProxyFacts(
                    source_path=req.source, output_path=req.output_path, layout=req.layout,
                    op_atom=bool(req.extra_outputs) or req.layout == "avid_mxf")))
        except ClipFailure as exc:
            records = exc.records or records
            return fail(exc.category, exc.message + _discard(*claims))
        except OSError as exc:
            return fail("io_error", f"{exc.filename or req.temp_path}: {exc.strerror or exc}" + _discard(*claims))
        except Exception as exc:  # engine bug: fail this clip, keep the job going
            return fail("engine_failed",
                        f"engine {plan.engine!r} raised {type(exc).__name__}: {exc}" + _discard(*claims))
        if verification is None:
            return fail("output_exists", f"{req.temp_path} was replaced by another run of this job while this clip "
                                         f"was encoding; this run published nothing")
        if not verification.ok:
            bad = ", ".join(f"{c.name} expected {c.expected!r} got {c.actual!r}" for c in verification.failed_checks())
            kept = req.temp_path if claim.at_path() else None
            output = OutputRecord(path=req.output_path, size=None, sha256=None, verification=verification,
                                  kept_temp_path=kept)
            where = f"kept for inspection at {kept}" if kept else "the engine left no output to keep"
            return fail("verification_failed", f"output does not match its source: {bad}; {where}")
        changed = _source_changed(clip)
        if changed:
            return fail("io_error", changed + _discard(*claims))
        # every file of the clip through the write gate, the video file first; all or nothing
        published: list[tuple[str, TempClaim]] = []
        files_published: list[dict[str, Any]] = []
        kinds = ("video", *(t.kind for t in req.extra_outputs))
        for kind, final, held in zip(kinds, finals, claims, strict=True):
            try:
                digest, size = gate.publish_claim(held, final, replace=overwrite)
            except WriteRefused as exc:  # _discard removes only temp files still this run's own
                return fail(exc.category, exc.message + _unpublish(published) + _discard(*claims))
            except FileExistsError:
                return fail("output_exists", f"{final} appeared while this clip ran and was left untouched"
                            + _unpublish(published) + _discard(*claims))
            except OSError as exc:
                return fail("io_error", f"{exc.filename or final}: {exc.strerror or exc}"
                            + _unpublish(published) + _discard(*claims))
            published.append((final, held))
            files_published.append({"kind": kind, "path": final, "size": size, "sha256": digest})
        digest, size = files_published[0]["sha256"], files_published[0]["size"]
        files = tuple(files_published) if req.extra_outputs else None
        output = OutputRecord(path=req.output_path, size=size, sha256=digest, verification=verification, files=files)
        return result(COMPLETED)
    finally:
        for c in claims:
            c.release()


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


def _released(claims: list[TempClaim], res: ClipResult) -> ClipResult:
    """A clip that could not own all its temp files gives back (and removes) those it took."""
    _discard(*claims)
    for c in claims:
        c.release()
    return res


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
        failure = Failure(category="io_error", message=f"{exc.filename or clip.plan.request.output_path}: "
                                                       f"{exc.strerror or exc}")
    else:
        failure = Failure(category="engine_failed",
                          message=f"internal error {type(exc).__name__}: {exc}; please report it")
    now = now_rfc3339()
    return ClipResult(index=clip.index, source=_source_record(clip), engine=clip.plan.engine,
                      profile=clip.plan.request.profile.name, output=None, status=FAILED, failure=failure,
                      route=to_data(clip.route), look=_look_record(clip.plan.request),
                      timing={"started_at": now, "finished_at": now, "seconds": 0.0})


def _look_record(req: ClipRequest) -> dict[str, Any] | None:
    """The clip's ``look`` record (docs/results.md): what was applied, with each file's SHA-256."""
    return req.look.record() if req.look is not None else None


def _done_event(res: ClipResult, source: str, output: str) -> ProgressEvent:
    return ProgressEvent(event=DONE, index=res.index, source=source, output=output, status=res.status,
                         category=res.failure.category if res.failure else None)


def _distribution_names(engines: EngineSet, used: list[str]) -> tuple[str, ...]:
    labels = (engines.loaded[n].distribution for n in used)
    return tuple(label.rsplit(" ", 1)[0] for label in labels if label)


def job_gate(job: PreparedJob, source_ids: frozenset[tuple[int, int]] = frozenset()) -> WriteGate:
    """The write gate of a prepared job: every source of the spec, the folders its layout writes."""
    spec = job.spec
    return job_write_gate(spec.sources, layout=spec.layout, output_dir=spec.output_dir, source_ids=source_ids)


def run_job(job: PreparedJob, engines: EngineSet, *, max_workers: int | str = 1, cancel: threading.Event | None = None,
            events: EventFn | None = None) -> JobResult:
    """``max_workers``: clips at once, or ``"auto"`` (proxx_core.workers); the choice is recorded
    under the result's ``timing.workers``. ``events``: live ProgressEvents (start, progress, done)
    for a display; clips refused under ``fail_clip`` are reported ``done`` first."""
    cancel = cancel or threading.Event()
    workers = choose_workers(max_workers, codec=job.clips[0].plan.request.profile.codec if job.clips else None,
                             clips=len(job.clips))
    started_at, t0 = now_rfc3339(), time.monotonic()

    source_ids = frozenset((c.source_stat.dev, c.source_stat.ino) for c in job.clips if c.source_stat is not None)
    gate = job_gate(job, source_ids)

    policy = policy_of(job.spec)
    rerun = rerun_hint(job.document)
    refused = [refused_clip(r.index, r.source, r.problem, job.spec.proxy_profile) for r in job.refused]
    for r in refused:
        safe_emit(events, _done_event(r, r.source["path"], ""))

    def one(clip: PreparedClip) -> ClipResult:
        safe_emit(events, ProgressEvent(event=START, index=clip.index, source=clip.source,
                                        output=clip.plan.request.output_path))
        try:
            res = run_clip(clip, engines, overwrite=job.spec.overwrite, cancel=cancel, source_ids=source_ids,
                           existing_outputs=policy, events=events, gate=gate, rerun=rerun)
        except Exception as exc:  # never lose the result of the other clips
            res = _unexpected(clip, exc)
        safe_emit(events, _done_event(res, clip.source, clip.plan.request.output_path))
        return res

    with ThreadPoolExecutor(max_workers=workers.max_workers, thread_name_prefix="proxx-clip") as pool:
        ran = tuple(pool.map(one, job.clips))  # map keeps source order
    clips = tuple(sorted((*ran, *refused), key=lambda c: c.index)) if refused else ran
    used = sorted({c.plan.engine for c in job.clips})
    return finished(job, clips, identities=[engines.identity(n) for n in used],
                    distributions=_distribution_names(engines, used), started_at=started_at,
                    started_monotonic=t0, finished_monotonic=time.monotonic(), workers=workers.record())
