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

from .atomic import fsync_file, publish, sha256_file
from .errors import ClipFailure
from .jobs import PreparedClip, PreparedJob
from .plugins import EngineSet
from .results import (
    COMPLETED, FAILED, RESULT_VERSION, ClipResult, Failure, JobResult, OutputRecord, environment,
    job_timing, now_rfc3339, proxx_version, status_for, to_data,
)
from .workers import choose as choose_workers

#: progress callback: (event, clip index, message) with event in {"start", "done"}
ProgressFn = Callable[[str, int, str], None]


def _source_record(clip: PreparedClip) -> dict:
    try:
        size = os.path.getsize(clip.source)
    except OSError:
        size = None
    return {"path": clip.source, "size": size, "info": to_data(clip.source_info)}


def run_clip(clip: PreparedClip, engines: EngineSet, *, overwrite: bool, cancel: threading.Event) -> ClipResult:
    plan = clip.plan
    req = plan.request
    started_at, t0 = now_rfc3339(), time.monotonic()
    records: tuple = ()
    output = None
    failure = None

    def result(status: str) -> ClipResult:
        return ClipResult(index=clip.index, source=_source_record(clip), engine=plan.engine, profile=req.profile.name,
                          output=output, commands=tuple(to_data(r) for r in records), status=status,
                          failure=failure, route=to_data(clip.route),
                          timing={"started_at": started_at, "finished_at": now_rfc3339(),
                                  "seconds": round(time.monotonic() - t0, 3)})

    def fail(category: str, message: str) -> ClipResult:
        nonlocal failure
        failure = Failure(category=category, message=message)
        return result(FAILED)

    if cancel.is_set():
        return fail("interrupted", "the run was interrupted before this clip started")
    if os.path.lexists(req.output_path) and not overwrite:
        return fail("output_exists", f"{req.output_path} already exists and was left untouched; "
                                     f"delete it or set \"overwrite\": true")
    try:
        if os.path.lexists(req.temp_path):
            if not overwrite:
                return fail("output_exists", (
                    f"temporary output {req.temp_path} exists (an earlier run was interrupted or failed "
                    f"verification, or another run of this job is in progress); inspect and delete it, "
                    f"or set \"overwrite\": true"))
            os.unlink(req.temp_path)
        # claim the temp name exclusively so two runs never write the same file
        os.close(os.open(req.temp_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    except OSError as exc:
        return fail("io_error", f"cannot create {req.temp_path}: {exc.strerror or exc}")

    engine = engines.get(plan.engine)
    try:
        records = engine.execute(plan, cancel)
        verification = engine.verify(plan)
    except ClipFailure as exc:
        records = exc.records or records
        _discard(req.temp_path)
        return fail(exc.category, exc.message)
    except OSError as exc:
        _discard(req.temp_path)
        return fail("io_error", f"{exc.filename or req.temp_path}: {exc.strerror or exc}")
    except Exception as exc:  # engine bug: fail this clip, keep the job going
        _discard(req.temp_path)
        return fail("engine_failed", f"engine {plan.engine!r} raised {type(exc).__name__}: {exc}")

    if not verification.ok:
        bad = ", ".join(f"{c.name} expected {c.expected!r} got {c.actual!r}" for c in verification.failed_checks())
        output = OutputRecord(path=req.output_path, size=None, sha256=None, verification=verification,
                              kept_temp_path=req.temp_path)
        return fail("verification_failed", f"output does not match its source: {bad}; "
                                           f"kept for inspection at {req.temp_path}")
    try:
        fsync_file(req.temp_path)
        digest, size = sha256_file(req.temp_path)
        publish(req.temp_path, req.output_path, overwrite=overwrite)
    except FileExistsError:
        _discard(req.temp_path)
        return fail("output_exists", f"{req.output_path} appeared while this clip ran and was left untouched")
    except OSError as exc:
        _discard(req.temp_path)
        return fail("io_error", f"{exc.filename or req.output_path}: {exc.strerror or exc}")
    output = OutputRecord(path=req.output_path, size=size, sha256=digest, verification=verification)
    return result(COMPLETED)


def _discard(path: str) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _distribution_names(engines: EngineSet, used: list[str]) -> tuple[str, ...]:
    labels = (engines.loaded[n].distribution for n in used)
    return tuple(label.rsplit(" ", 1)[0] for label in labels if label)


def run_job(job: PreparedJob, engines: EngineSet, *, max_workers: int | str = 1, cancel: threading.Event | None = None,
            progress: ProgressFn | None = None) -> JobResult:
    """``max_workers``: clips at once, or ``"auto"`` (proxx_core.workers); the choice is recorded
    under the result's ``timing.workers``."""
    cancel = cancel or threading.Event()
    workers = choose_workers(max_workers, codec=job.clips[0].plan.request.profile.codec if job.clips else None,
                             clips=len(job.clips))
    started_at, t0 = now_rfc3339(), time.monotonic()

    def one(clip: PreparedClip) -> ClipResult:
        if progress:
            progress("start", clip.index, clip.source)
        res = run_clip(clip, engines, overwrite=job.spec.overwrite, cancel=cancel)
        if progress:
            progress("done", clip.index, res.status if res.failure is None else f"{res.status} ({res.failure.category})")
        return res

    with ThreadPoolExecutor(max_workers=workers.max_workers, thread_name_prefix="proxx-clip") as pool:
        clips = tuple(pool.map(one, job.clips))  # map keeps source order
    status, exit_code = status_for(clips)
    used = sorted({c.plan.engine for c in job.clips})
    return JobResult(result_version=RESULT_VERSION, proxx_version=proxx_version(), job_id=job.job_id,
                     jobspec_sha256=job.jobspec_sha256, status=status, exit_code=exit_code,
                     environment=environment([engines.get(n).identity() for n in used],
                                             _distribution_names(engines, used)),
                     user_metadata=job.spec.user_metadata, clips=clips,
                     timing={**job_timing(started_at, t0, time.monotonic()), "workers": workers.record()},
                     jobspec=job.document)
