"""Runs the renditions of one source that one engine run makes (JobSpec 1.2 ``renditions``,
``Engine.plan_together``): each rendition checked, claimed, verified and published on its own, the
engine run once for all of them.

The steps are the runner's (:mod:`.runner`), in its order. Before the run, a rendition that cannot
start (its final name taken, its temp file busy, ``skip_verified`` keeping a verified file) leaves the
group and gets its own result; the others are planned together again (a pure call) or, if one is
left, run with its own plan. After the run each rendition is judged alone: one failing its
verification or its publish never loses the others. A failed run fails every rendition it was
making (one process: a cancel, a timeout or a crash ends all of them).
"""

from __future__ import annotations

import os
import threading

from .engine import ClipPlan, CommandRecord, TogetherPlan
from .errors import ClipFailure
from .existing import FAIL, OVERWRITE, SKIP_VERIFIED, rerun_hint
from .planning import PreparedClip
from .plugins import EngineSet
from .progress import EventFn
from .results import COMPLETED, FAILED, SKIPPED, ClipResult, Failure
from .runner import (
    _check_ready,
    _check_targets,
    _claim_temps,
    _clip_gate,
    _ClipRun,
    _discard,
    _execute,
    _finals,
    _judge,
    _keep_verified,
    _make,
    _publish,
    _spec_keys,
    _Stop,
)
from .tempclaim import TempClaim
from .writegate import WriteGate


def run_together(plan: TogetherPlan, clips: tuple[PreparedClip, ...], engines: EngineSet, *, overwrite: bool,
                 cancel: threading.Event, source_ids: frozenset[tuple[int, int]] = frozenset(),
                 existing_outputs: str | None = None, events: EventFn | None = None, gate: WriteGate | None = None,
                 rerun: str | None = None) -> list[ClipResult]:
    """The results of ``clips`` (the members of ``plan``, in its order), as :func:`.runner.run_clip`
    would give each, made by one run of the engine."""
    policy = existing_outputs or (OVERWRITE if overwrite else FAIL)
    rerun = rerun or rerun_hint(_spec_keys(existing_outputs))
    if clips[0].source_stat is not None:
        source_ids = source_ids | {(clips[0].source_stat.dev, clips[0].source_stat.ino)}
    gate = _clip_gate(clips[0], gate, source_ids)
    results: dict[int, ClipResult] = {}
    ready: list[tuple[int, _ClipRun, list[TempClaim]]] = []
    try:
        for k, clip in enumerate(clips):
            run = _ClipRun(clip)
            try:
                if cancel.is_set():
                    raise _Stop("interrupted", "the run was interrupted before this clip started")
                _check_targets(clip, gate)
                if policy == SKIP_VERIFIED and any(os.path.lexists(p) for p in _finals(clip.plan.request)):
                    _keep_verified(run, engines, source_ids)
                    results[k] = run.result(SKIPPED)
                    continue
                _check_ready(clip, replace=policy == OVERWRITE, rerun=rerun)
                ready.append((k, run, _claim_temps(clip, gate, overwrite=policy != FAIL, rerun=rerun)))
            except _Stop as stop:
                results[k] = run.result(FAILED, Failure(category=stop.category, message=stop.message))
        together = _replanned(plan, [run.clip.plan for _k, run, _c in ready], engines)
        failed = _run_once(together, ready, engines, cancel, events) if together is not None else None
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
                run.output = _publish(run.clip, gate, claims, verification, replace=policy == OVERWRITE)
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


def _run_once(plan: TogetherPlan, ready: list[tuple[int, _ClipRun, list[TempClaim]]], engines: EngineSet,
              cancel: threading.Event, events: EventFn | None) -> _Stop | None:
    """Execute ``plan`` once; every member's run records its commands. A failure is every member's
    (their temp files removed), returned to end each of them with the same message."""
    runs = [run for _k, run, _c in ready]
    claims = [c for _k, _run, cs in ready for c in cs]
    engine = engines.get(plan.engine)
    records: tuple[CommandRecord, ...] = ()
    failed: _Stop | None = None
    try:
        assert engine is not None  # the plan was made by this engine set
        records = _execute(runs[0].clip, engine, cancel, events, plan)
    except ClipFailure as exc:
        records = exc.records
        failed = _Stop(exc.category, exc.message + _discard(*claims))
    except OSError as exc:
        failed = _Stop("io_error", f"{exc.filename or plan.request.temp_path}: {exc.strerror or exc}"
                       + _discard(*claims))
    except Exception as exc:  # engine bug: fail these renditions, keep the job going
        failed = _Stop("engine_failed", f"engine {plan.engine!r} raised {type(exc).__name__}: {exc}"
                       + _discard(*claims))
    for run in runs:
        run.records = records
    return failed
