"""`proxx worker`: a Celery worker that runs clips with the same code as `proxx run`.

It consumes one queue per engine usable on this node (``proxx.v1.<engine>``, plus
``proxx.v1.<engine>.<build sha256>`` for jobs that require its exact build), registers itself in
Redis with a heartbeat, and runs each clip it is handed only after claiming it atomically. The
pool is ``threads`` on every OS (each clip mostly waits on an engine subprocess; Celery's prefork
pool is unreliable on Windows), so ``--max-workers N`` clips run at once in one process.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import time
from typing import Any

import attrs

from proxx_core import (
    EngineSet,
    NodeConfig,
    now_rfc3339,
    to_data,
)

from .app import TASK_NAME, make_app
from .chunks import CHUNK_TASK, render_chunk
from .chunks import beat as beat_chunk
from .clips import failed_clip, lost_message, lost_payload, node_record
from .end import end_job
from .log import WorkerLog
from .settings import MISSED_BEATS, REAPS_PER_BEAT, queue_for
from .store import Store
from .task import run_task
from .units import slot, source_of


@attrs.define
class Node:
    name: str
    engines: EngineSet
    usable: tuple[str, ...]
    config: NodeConfig
    store: Store
    heartbeat: float
    max_workers: int
    log: WorkerLog
    started_at: str = attrs.field(factory=now_rfc3339)
    #: (job id, clip index) -> cancel event of each running clip
    running: dict[tuple[str, int], threading.Event] = attrs.field(factory=dict)
    #: (job id, clip index) -> the running clip's last progress (percent, eta_seconds, speed), sent with each beat
    progress: dict[tuple[str, int], dict[str, float | None]] = attrs.field(factory=dict)
    #: (job id, clip index, run, chunk index) -> cancel event of each chunk encoding here (chunks.py)
    chunks: dict[tuple[str, int, str, int], threading.Event] = attrs.field(factory=dict)
    lock: threading.Lock = attrs.field(factory=threading.Lock)

    @property
    def ttl(self) -> float:
        return self.heartbeat * MISSED_BEATS

    @property
    def clip_ttl(self) -> float:
        """A running clip's heartbeat expires one reaping interval before MISSED_BEATS beats, so
        the fleet has recorded a killed worker's clip ``worker_lost`` within MISSED_BEATS beats."""
        return self.heartbeat * (MISSED_BEATS - 1 / REAPS_PER_BEAT)

    def builds(self) -> dict[str, dict[str, Any]]:
        return {n: to_data(self.engines.identity(n)) for n in self.usable}

    def queues(self) -> list[str]:
        out = []
        for name, ident in self.builds().items():
            out.append(queue_for(name))
            if ident.get("binary_sha256"):
                out.append(queue_for(name, ident["binary_sha256"]))
        return out

    def record(self) -> dict[str, Any]:
        with self.lock:
            running = [f"{j}:{i}" for j, i in sorted(self.running)]
        return {
            "node": self.name,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "engines": self.builds(),
            "queues": self.queues(),
            "path_map": self.config.path_map.to_data(),
            "config": self.config.path,
            "allow": {kind: list(roots) for kind, roots in self.config.allow.items()} or None,
            "max_workers": self.max_workers,
            "running": running,
            "load": len(running),
            "started_at": self.started_at,
            "heartbeat_at": now_rfc3339(),
            "heartbeat_seconds": self.heartbeat,
            "platform": sys.platform,
        }


def _beat(node: Node, stop: threading.Event) -> None:
    """Refresh the registry and every running clip's heartbeat; pass `proxx cancel` on."""
    while not stop.is_set():
        try:
            node.store.register_worker(node.record(), node.ttl)
            with node.lock:
                running = dict(node.running)
                progress = dict(node.progress)
            for (job_id, index), cancel in running.items():
                node.store.beat(job_id, index, node.name, node.clip_ttl, progress.get((job_id, index)))
                if node.store.cancelled(job_id):
                    cancel.set()
            with node.lock:
                chunks = dict(node.chunks)
            for key, cancel in chunks.items():
                beat_chunk(node, key)
                if node.store.cancelled(key[0]):
                    cancel.set()
        except Exception as exc:  # Redis unreachable: keep trying; expiry tells the others
            node.log.event("heartbeat_failed", reason=f"{type(exc).__name__}: {exc}")
        stop.wait(node.heartbeat)


def _reap_loop(node: Node, stop: threading.Event) -> None:
    """Every live worker reaps: lost workers are noticed with nobody running `status` or `wait`."""
    while not stop.wait(node.heartbeat / REAPS_PER_BEAT):
        try:
            reap(node)
        except Exception as exc:  # Redis unreachable: the next pass (or another worker) will do it
            node.log.event("reap_failed", reason=f"{type(exc).__name__}: {exc}")


def reap(node: Node) -> None:
    """Record every running clip whose heartbeat expired as ``worker_lost`` (atomically: exactly one
    reaper wins each), then end its job if that was the job's last clip."""
    for job_id, index in node.store.running_without_heartbeat():
        job = node.store.job(job_id)
        if job is None:
            continue
        owner = node.store.clip_node(job_id, index)
        finals = node.store.mark_lost(job_id, index, lost_payload(job, index, owner, by=node.name))
        if finals:
            node.log.event("lost", job_id=job_id, index=index, worker=owner)
            _announce_lost(node, job_id, index, owner)
            if finals >= job["count"]:
                _end(node, job_id)


def _announce_lost(node: Node, job_id: str, index: int, owner: str | None) -> None:
    """Hand the lost clip to every plugin's ``proxx_event`` (notifications); never raises."""
    from proxx_core import WORKER_LOST, ProxxEvent

    job = node.store.job(job_id)
    clip = slot(job["document"], index) if job else None
    event = ProxxEvent(
        kind=WORKER_LOST,
        job_id=job_id,
        node=owner or "unknown",
        clip_index=clip.index if clip else index,
        message=f"{clip.label() if clip else f'clip {index}'} of job {job_id} was recorded worker_lost by "
        f"{node.name}: " + lost_message(owner),
    )
    try:
        errors = node.engines.event(event)
    except Exception as exc:  # a bug in the hook caller must not stop the reaper
        errors = (f"{type(exc).__name__}: {exc}",)
    for message in errors:
        node.log.event("event_error", job_id=job_id, index=index, reason=message)


def _end(node: Node, job_id: str) -> None:
    """Run the job's end of job here if this worker is the one to (see end.py); never raises."""
    try:
        finished = end_job(node.store, job_id, node.engines, by=node.name, path_map=node.config.path_map)
    except Exception as exc:
        node.log.event("end_failed", job_id=job_id, reason=f"{type(exc).__name__}: {exc}")
        return
    if finished is not None:
        result = finished.result
        node.log.event(
            "job_finished",
            job_id=job_id,
            status=result.status,
            exit_code=result.exit_code,
            deliverables=len(result.deliverables) or None,
        )
        for message in (*finished.sink_errors, *finished.hook_errors):
            node.log.event("end_error", job_id=job_id, reason=message)


def render(node: Node, payload: dict) -> str:
    """The task body: claim every clip of the task (one clip, or a source's renditions made by one run),
    run them with the core runner (task.py), record each. Never raises, never retries."""
    job_id, document, engine = payload["job_id"], payload["document"], payload["engine"]
    numbers = [int(n) for n in payload.get("slots") or (payload["index"],)]
    if not node.store.claim_task(job_id, numbers, node.name, node.clip_ttl, now_rfc3339()):
        return "already claimed"  # started elsewhere, finished, or cancelled: never a second run
    for n in numbers:  # one line per clip (each rendition its own), as every other clip event
        node.log.event(
            "claimed",
            job_id=job_id,
            index=slot(document, n).index,
            rendition=slot(document, n).rendition,
            engine=engine,
            source=source_of(document, n),
        )
    cancel = threading.Event()
    with node.lock:
        for n in numbers:
            node.running[(job_id, n)] = cancel
    try:
        if node.store.cancelled(job_id):
            cancel.set()
        results = run_task(node, payload, numbers, cancel)
    except Exception as exc:  # a bug here must still end every clip of the task, as engine_failed
        why = f"worker {node.name} raised {type(exc).__name__}: {exc}"
        results = {
            n: {
                "clip": failed_clip(document, n, engine, "engine_failed", why, node_record(node.name, document, n)),
                "environment": None,
            }
            for n in numbers
        }
    finally:
        with node.lock:
            for n in numbers:
                node.running.pop((job_id, n), None)
                node.progress.pop((job_id, n), None)
    for n in numbers:
        _record(node, job_id, n, results[n])
    return ",".join(str(results[n]["clip"]["status"]) for n in numbers)


def _record(node: Node, job_id: str, number: int, result: dict) -> None:
    """Store one clip's result; the clip that makes the job's last final runs the end of job here."""
    finals = node.store.finish(job_id, number, node.name, result)
    if finals:
        node.log.clip_ended(job_id, result["clip"]["index"], result["clip"])
        if finals >= node.store.count(job_id):  # this was the job's last clip
            _end(node, job_id)
    else:  # a reaper recorded it lost meanwhile (this worker was cut off from Redis too long)
        node.log.event("discarded", job_id=job_id, index=number, reason="already recorded lost or cancelled")


def run_worker(
    *,
    broker: str,
    name: str,
    engines: EngineSet,
    config: NodeConfig,
    max_workers: int,
    heartbeat: float,
    loglevel: str = "WARNING",
    log_format: str = "text",
) -> int:
    usable = tuple(n for n in engines.names if engines.capabilities(n).available)
    if not usable:
        print(
            "proxx worker: no engine is usable on this node (see `proxx engines`); not starting",
            file=sys.stderr,
            flush=True,
        )
        return 1
    log = WorkerLog(name, log_format)
    node = Node(
        name=name,
        engines=engines,
        usable=usable,
        config=config,
        store=Store(broker),
        heartbeat=heartbeat,
        max_workers=max_workers,
        log=log,
    )
    _quiet_root_warning(log)
    app = make_app(broker)

    @app.task(name=TASK_NAME, acks_late=False, reject_on_worker_lost=False, max_retries=0, ignore_result=True)
    def render_clip(payload: dict) -> str:
        return render(node, payload)

    @app.task(name=CHUNK_TASK, acks_late=False, reject_on_worker_lost=False, max_retries=0, ignore_result=True)
    def render_chunk_task(payload: dict) -> str:
        return render_chunk(node, payload)

    stop = threading.Event()
    node.store.register_worker(node.record(), node.ttl)
    for target, label in ((_beat, "proxx-heartbeat"), (_reap_loop, "proxx-reaper")):
        threading.Thread(target=target, args=(node, stop), name=label, daemon=True).start()
    log.event("started", engines=",".join(usable), queues=",".join(node.queues()), max_workers=max_workers)
    try:
        app.worker_main(
            [
                "worker",
                "-Q",
                ",".join(node.queues()),
                "-n",
                f"proxx@{name}",
                "-P",
                "threads",
                "-c",
                str(max_workers),
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "-l",
                loglevel,
            ]
        )
    finally:
        stop.set()
        try:
            node.store.unregister_worker(name)
        except Exception:
            pass
    return 0


def _quiet_root_warning(log: WorkerLog) -> None:
    """Celery warns a root worker to use its ``--uid`` option, which `proxx worker` does not have;
    say what to do with Proxx instead (docs/fleet.md: a dedicated user)."""
    import warnings

    from celery.exceptions import SecurityWarning

    warnings.filterwarnings("ignore", category=SecurityWarning)
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        log.event(
            "warning",
            reason="running as root: run `proxx worker` as a dedicated user (systemd User=, see docs/fleet.md)",
        )


def default_name() -> str:
    return socket.gethostname()


def wait_until(predicate, timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(interval)
    return predicate()
