"""`proxx submit`: validate locally, pick each clip's queue, refuse up front when no live worker can
take a clip, then enqueue one task per work unit: a clip, or (JobSpec 1.2 ``renditions``) a source's
renditions routed to one engine that makes them in one run, so a node decodes each source once, as
`proxx run` does (units.py). Under ``"unsupported_sources": "fail_clip"`` a clip no engine can make is
recorded FAILED at submission (as `proxx run` reports it) and the rest are queued."""

from __future__ import annotations

import socket
from typing import Any

import attrs

from proxx_core import (
    PROFILES,
    Category,
    Engine,
    EngineSet,
    NoRoute,
    Problem,
    derive_job_id,
    fails_clip,
    no_route_problem,
    route_source,
    static_problems,
)

from .app import TASK_NAME, make_app
from .settings import PRIORITIES, queue_for
from .store import FINAL, Store
from .units import slot, slots, source_of, tasks

#: why the submitting machine needs the fleet's engines too (routing runs here first)
FLEET_HINT = (
    " (install the engine distributions of your fleet on this machine too, so it can route every clip; "
    "proxx-engine-resolve installs without DaVinci Resolve)"
)


@attrs.frozen(kw_only=True)
class Submission:
    job_id: str | None
    #: per clip; None for a clip refused under fail_clip (no task is sent for it)
    engines: tuple[str | None, ...] = ()
    queues: tuple[str | None, ...] = ()
    problems: tuple[Problem, ...] = ()
    #: (clip number, why) of the clips refused under ``"unsupported_sources": "fail_clip"``
    refused: tuple[tuple[int, Problem], ...] = ()
    #: the clip numbers (units.py) each task makes: one clip, or a source's renditions made by one run
    tasks: tuple[tuple[int, ...], ...] = ()

    @property
    def queued(self) -> int:
        return sum(1 for q in self.queues if q is not None)


def plan_submission(document, engines: EngineSet) -> Submission:
    """Each clip's engine and queue, as routing on this machine decides it (the same pure function
    every node applies). A clip needing an engine this machine has installed but cannot use goes
    to that engine's queue; anything else wrong is a validation problem, or under
    ``"unsupported_sources": "fail_clip"`` a refused clip when its category allows (as `proxx run`)."""
    parsed, problems = static_problems(document)
    if parsed is None:
        return Submission(job_id=None, problems=tuple(problems))
    spec = parsed.spec
    chosen: list[str | None] = []
    problems = []
    refused: list[tuple[int, Problem]] = []
    decisions: dict[tuple[int, str], Any] = {}  # a source routed once per profile
    for clip in slots(document):
        i, source = clip.index - 1, spec.sources[clip.index - 1]
        key = (i, clip.profile)
        if key not in decisions:
            decisions[key] = route_source(source, engines, PROFILES[clip.profile], pin=spec.engine)
        decision = decisions[key]
        if not isinstance(decision, NoRoute):
            chosen.append(decision.engine)
        elif decision.category == Category.ENGINE_UNAVAILABLE and (decision.needs or spec.engine):
            chosen.append(spec.engine or decision.needs[0])  # installed here, unusable: a node with it makes it
        else:
            problem = no_route_problem(source, f"/sources/{i}", decision, engines)
            if problem.category == Category.ENGINE_UNAVAILABLE:
                problem = attrs.evolve(problem, message=problem.message + FLEET_HINT)
            if clip.rendition is not None:
                problem = attrs.evolve(problem, message=f"rendition {clip.rendition!r}: {problem.message}")
            if fails_clip(spec, problem):
                refused.append((clip.number, problem))
                chosen.append(None)
            elif problem not in problems:
                problems.append(problem)
    if problems:
        return Submission(job_id=None, problems=tuple(problems))
    required = spec.require_builds
    queues = tuple(None if e is None else queue_for(e, required.get(e) if required else None) for e in chosen)
    return Submission(
        job_id=derive_job_id(document),
        engines=tuple(chosen),
        queues=queues,
        refused=tuple(refused),
        tasks=tuple(tasks(document, chosen, lambda name: makes_together(engines, name))),
    )


def makes_together(engines: EngineSet, name: str) -> bool:
    """Whether engine ``name`` can make several renditions of a source in one run (contract 1.3: it
    implements ``plan_together``); not installed here: each rendition is a task of its own."""
    engine = engines.get(name)
    return engine is not None and type(engine).plan_together is not Engine.plan_together


def capacity_problems(sub: Submission, workers: list[dict], document: dict) -> list[Problem]:
    """One problem per clip no live worker consumes the queue of."""
    consumed = {q for w in workers for q in w.get("queues", ())}
    problems: list[Problem] = []
    for number, (engine, queue) in enumerate(zip(sub.engines, sub.queues, strict=False), start=1):
        if queue is None or queue in consumed:  # None: refused under fail_clip, never queued
            continue
        i = slot(document, number).index - 1
        have = sorted({w["node"] for w in workers if engine in w.get("engines", {})})
        why = (
            f"live workers with {engine} ({', '.join(have)}) run another build than /require_builds/{engine}"
            if have
            else f"no live worker has {engine} usable (live workers: "
            f"{', '.join(sorted(w['node'] for w in workers)) or 'none'})"
        )
        problem = Problem(
            path=f"/sources/{i}",
            category="engine_unavailable",
            message=f"{document['sources'][i]}: {why}; start `proxx worker` on a node that has it, then submit again",
        )
        if problem not in problems:  # a source's renditions on one engine: said once
            problems.append(problem)
    return problems


def enqueue(store: Store, broker: str, document: dict, sub: Submission) -> None:
    from proxx_core import now_rfc3339, refused_clip, to_data

    from .clips import node_record

    finished = {}
    for number, problem in sub.refused:
        clip = slot(document, number)
        refused = refused_clip(clip.index, source_of(document, number), problem, clip.profile, clip.rendition)
        finished[number] = {
            "clip": {**to_data(refused), "node": node_record(None, document, number)},
            "environment": None,
        }
    assert sub.job_id is not None  # only called without problems: the job id is set
    store.create_job(
        sub.job_id,
        document=document,
        engines=list(sub.engines),
        queues=list(sub.queues),
        submitted_at=now_rfc3339(),
        submitter=socket.gethostname(),
        finished=finished,
    )
    app = make_app(broker)
    priority = PRIORITIES[document.get("priority", "normal")]
    with app.connection_for_write() as conn:
        with app.producer_or_acquire() as producer:
            for numbers in sub.tasks:  # clips refused under fail_clip are in none: already final
                index = numbers[0]
                payload = {
                    "job_id": sub.job_id,
                    "index": index,
                    "slots": list(numbers),
                    "engine": sub.engines[index - 1],
                    "document": document,
                }
                app.send_task(
                    TASK_NAME,
                    args=[payload],
                    queue=sub.queues[index - 1],
                    task_id=f"{sub.job_id}:{index}",
                    producer=producer,
                    connection=conn,
                    priority=priority,
                )


def unfinished(store: Store, job_id: str) -> int:
    job = store.job(job_id)
    if job is None:
        return 0
    return sum(c.get("state") not in FINAL for c in store.clips(job_id, job["count"]))


def policy_warnings(sub: Submission, workers: list[dict], document: dict) -> list[str]:
    """One warning per queued clip that no live worker consuming its queue admits under its
    ``[allow]`` policy (that worker would refuse it; a worker started later might not)."""
    from .policy import nobody_admits

    out = []
    for i, queue in enumerate(sub.queues, start=1):
        if queue is None:
            continue
        consumers = [w for w in workers if queue in w.get("queues", ())]
        if consumers and nobody_admits(document, i, consumers):
            out.append(
                f"{slot(document, i).label()} ({source_of(document, i)}): no live worker on {queue} allows its paths "
                f"([allow] of {', '.join(sorted(w['node'] for w in consumers))}); it will be refused unless "
                f"a worker that allows them takes it"
            )
    return out
