"""A long intra clip's chunks spread over the fleet (proxx_core.features.chunkrun.ChunkSource).

The node running the clip (the joiner) claims the chunk files, sends one ``render_chunk`` task per
chunk to the clip's queue (high priority: a started clip finishes first), and works through the chunks
itself too: whoever claims a chunk first (``SET NX``, like a clip) encodes it, so an idle node takes
one while the joiner encodes another and no chunk waits for a busy fleet. The joiner then verifies
every chunk's frame count and joins them (proxx_core.features.chunkrun). A chunk that fails, or whose node
stops heartbeating (``worker_lost``), fails the clip naming the chunk; nothing is joined with a gap.

Every node cuts nothing itself: the task carries the span (first frame, frame count), and each node
derives the chunk file's name from its own plan of the clip (its own path map).

Keys (prefix ``proxx:v1:``), one set per run of a clip (``run``: a random token), expiring after a day::

    chunk:<id>:<i>:<run>:<k>       hash  state (running|done|failed), node, result
    chunkclaim:<id>:<i>:<run>:<k>  str   the node that claimed the chunk (SET NX: exactly once)
    chunkhb:<id>:<i>:<run>:<k>     str   the running node, expires after MISSED_BEATS heartbeats
"""

from __future__ import annotations

import json
import os
import secrets
import threading
from concurrent.futures import Future
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, Any

from proxx_core import (
    ChunkedPlan,
    ChunkSpan,
    ClipFailure,
    CommandRecord,
    Engine,
    check_document,
    chunk_job,
    chunk_temp_path,
    from_data,
    map_document,
    span_label,
    to_data,
)

from .settings import PRIORITIES
from .units import slot

if TYPE_CHECKING:
    from .worker import Node

CHUNK_TASK = "proxx.v1.render_chunk"
#: chunk keys outlive any clip, then go
KEY_SECONDS = 24 * 3600
POLL_SECONDS = 0.2

_CLAIM = """
if not redis.call('set', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[3]) then return 0 end
redis.call('hset', KEYS[2], 'state', 'running', 'node', ARGV[1])
redis.call('expire', KEYS[2], ARGV[3])
redis.call('set', KEYS[3], ARGV[1], 'PX', ARGV[2])
return 1
"""
_FINISH = """
if redis.call('hget', KEYS[1], 'state') ~= 'running' or redis.call('hget', KEYS[1], 'node') ~= ARGV[1] then
  return 0
end
redis.call('hset', KEYS[1], 'state', ARGV[2], 'result', ARGV[3])
redis.call('del', KEYS[2])
return 1
"""


def _keys(node: Node, job_id: str, index: int, run: str, k: int) -> tuple[str, str, str]:
    k_ = node.store.k
    return (
        k_("chunkclaim", job_id, index, run, k),
        k_("chunk", job_id, index, run, k),
        k_("chunkhb", job_id, index, run, k),
    )


def claim(node: Node, job_id: str, index: int, run: str, k: int) -> bool:
    """Whether this node encodes chunk ``k``: true for exactly one node."""
    script = node.store.r.register_script(_CLAIM)
    return bool(
        script(keys=list(_keys(node, job_id, index, run, k)), args=[node.name, int(node.clip_ttl * 1000), KEY_SECONDS])
    )


def finish(node: Node, job_id: str, index: int, run: str, k: int, state: str, result: dict[str, Any]) -> None:
    _claim, chunk, hb = _keys(node, job_id, index, run, k)
    node.store.r.register_script(_FINISH)(keys=[chunk, hb], args=[node.name, state, json.dumps(result)])


def beat(node: Node, key: tuple[str, int, str, int]) -> None:
    """Keep a running chunk alive (worker._beat, with the clips)."""
    job_id, index, run, k = key
    node.store.r.set(_keys(node, job_id, index, run, k)[2], node.name, px=int(node.clip_ttl * 1000))


def _state(node: Node, job_id: str, index: int, run: str, k: int) -> tuple[dict[str, str], bool]:
    _claim, chunk, hb = _keys(node, job_id, index, run, k)
    pipe = node.store.r.pipeline(transaction=False)
    pipe.hgetall(chunk)
    pipe.exists(hb)
    data, alive = pipe.execute()
    return data, bool(alive)


def _encode(node: Node, key: tuple[str, int, str, int], work: Any, cancel: threading.Event) -> dict[str, Any]:
    """Run one chunk here, its heartbeat kept by the node's beat; the result as stored."""
    with node.lock:
        node.chunks[key] = cancel
    try:
        records = work()
        return {"state": "done", "records": [to_data(r) for r in records]}
    except ClipFailure as exc:
        return {
            "state": "failed",
            "category": exc.category,
            "message": exc.message,
            "records": [to_data(r) for r in exc.records],
        }
    except Exception as exc:  # a bug fails this chunk (and so the clip), never the worker
        return {
            "state": "failed",
            "category": "engine_failed",
            "message": f"worker {node.name} raised {type(exc).__name__}: {exc}",
            "records": [],
        }
    finally:
        with node.lock:
            node.chunks.pop(key, None)


class FleetChunks:
    """The ChunkSource of a clip run by a fleet worker: its chunks on every node that takes one."""

    def __init__(self, node: Node, payload: dict[str, Any]):
        self.node, self.payload = node, payload

    def hold(self) -> AbstractContextManager[None]:
        return nullcontext()  # the join runs in the clip's own Celery slot

    def start(self, chunked: ChunkedPlan, engine: Engine, cancel: threading.Event) -> list[Future]:  # type: ignore[type-arg]
        run = secrets.token_hex(6)
        futures: list[Future] = [Future() for _ in chunked.spans]  # type: ignore[type-arg]
        try:
            self._send(chunked, run)
        except Exception as exc:  # the broker refused: this node encodes every chunk itself, as claims allow
            self.node.log.event(
                "chunks_not_sent",
                job_id=self.payload["job_id"],
                index=self.payload["index"],
                reason=f"{type(exc).__name__}: {exc}",
            )
        threading.Thread(
            target=self._drive, args=(chunked, engine, cancel, run, futures), daemon=True, name="proxx-chunks"
        ).start()
        return futures

    def _send(self, chunked: ChunkedPlan, run: str) -> None:
        from .app import make_app

        node, p = self.node, self.payload
        job = node.store.job(p["job_id"])
        queue = job["queues"][int(p["index"]) - 1] if job else None
        app = make_app(node.store.url)
        for span in chunked.spans:
            task = {
                "job_id": p["job_id"],
                "index": p["index"],
                "engine": p["engine"],
                "document": p["document"],
                "run": run,
                "chunk": span.index,
                "first_frame": span.first_frame,
                "frame_count": span.frame_count,
                "count": len(chunked.spans),
                "joiner": node.name,
            }
            app.send_task(
                CHUNK_TASK,
                args=[task],
                queue=queue,
                priority=PRIORITIES["high"],
                task_id=f"{p['job_id']}:{p['index']}:{run}:{span.index}",
            )

    def _drive(
        self, chunked: ChunkedPlan, engine: Engine, cancel: threading.Event, run: str, futures: list[Future]
    ) -> None:  # type: ignore[type-arg]
        """Claim and encode what nobody has taken yet; collect what other nodes made; never raises."""
        node, job_id, index = self.node, self.payload["job_id"], int(self.payload["index"])
        count = len(chunked.spans)
        pending = list(range(count))
        try:
            while pending:
                progressed = False
                for i in list(pending):
                    span, k = chunked.spans[i], chunked.spans[i].index
                    data, alive = _state(node, job_id, index, run, k)
                    if not data and not cancel.is_set() and claim(node, job_id, index, run, k):
                        result = _encode(
                            node,
                            (job_id, index, run, k),
                            chunk_job(engine, chunked.chunks[i], span, count, cancel),
                            cancel,
                        )
                        finish(node, job_id, index, run, k, result["state"], result)
                        data, alive = {"state": result["state"], "node": node.name, "result": json.dumps(result)}, False
                    if _settle(futures[i], data, alive, span, count, cancel):
                        pending.remove(i)
                        progressed = True
                        break  # look at the first unclaimed chunk again
                if pending and not progressed:
                    cancel.wait(POLL_SECONDS)
        except Exception as exc:  # Redis unreachable: the clip fails, naming why
            for i in pending:
                if not futures[i].done():
                    futures[i].set_exception(
                        ClipFailure(
                            f"{span_label(chunked.spans[i], count)}: the fleet's state could not be read "
                            f"({type(exc).__name__}: {exc})",
                            category="io_error",
                        )
                    )


def _settle(
    future: Future,
    data: dict[str, str],
    alive: bool,
    span: ChunkSpan,
    count: int,  # type: ignore[type-arg]
    cancel: threading.Event,
) -> bool:
    """Give ``future`` the chunk's outcome if it has one; True when settled."""
    label = span_label(span, count)
    state = data.get("state")
    if state in ("done", "failed"):
        result = json.loads(data["result"])
        records = tuple(from_data(CommandRecord, r) for r in result.get("records", ()))
        if state == "done":
            future.set_result(records)
        else:
            message = result["message"]
            if not message.startswith(label):
                message = f"{label} on worker {data.get('node')}: {message}"
            future.set_exception(ClipFailure(message, category=result["category"], records=records))
        return True
    if state == "running" and not alive:
        future.set_exception(
            ClipFailure(
                f"{label} was lost: worker {data.get('node')} stopped sending heartbeats while encoding it (killed, "
                f"crashed or cut off from Redis); nothing was joined. Check that node and submit again with a new "
                f"job_id",
                category="worker_lost",
            )
        )
        return True
    if cancel.is_set():  # another chunk failed, or the job was cancelled: no need to wait for this one
        future.set_exception(
            ClipFailure(
                f"{label} was not started: the clip was interrupted or another chunk failed", category="interrupted"
            )
        )
        return True
    return False


def render_chunk(node: Node, payload: dict[str, Any]) -> str:
    """The ``render_chunk`` task body: claim the chunk, plan the clip as this node sees it, encode the
    span into the chunk file the joiner claimed, record the outcome. Never raises."""
    job_id, index, run, k = payload["job_id"], int(payload["index"]), payload["run"], int(payload["chunk"])
    if node.store.r.hget(node.store.k("clip", job_id, index), "state") != "running" or node.store.cancelled(job_id):
        return "clip not running"  # it ended (failed, lost, cancelled) while this task waited in the queue
    if not claim(node, job_id, index, run, k):
        return "already claimed"
    cancel = threading.Event()
    span = ChunkSpan(index=k, first_frame=int(payload["first_frame"]), frame_count=int(payload["frame_count"]))
    count = int(payload["count"])
    node.log.event("chunk_claimed", job_id=job_id, index=index, chunk=k, joiner=payload.get("joiner"))
    result = _encode(node, (job_id, index, run, k), lambda: _plan_and_run(node, payload, span, count, cancel), cancel)
    finish(node, job_id, index, run, k, result["state"], result)
    node.log.event("chunk_" + result["state"], job_id=job_id, index=index, chunk=k)
    return str(result["state"])


def _plan_and_run(
    node: Node, payload: dict[str, Any], span: ChunkSpan, count: int, cancel: threading.Event
) -> tuple[CommandRecord, ...]:
    from .policy import clip_reads_and_writes, refusals

    index, label = int(payload["index"]), span_label(span, count)
    mapped, _paths = map_document(payload["document"], node.config.path_map)
    refused = refusals(clip_reads_and_writes(mapped, index), node.config)
    if refused:
        raise ClipFailure(
            f"{label}: refused by node {node.name}'s [allow] policy: " + "; ".join(refused), category="validation"
        )
    number = slot(payload["document"], index)  # the fleet's clip number: a source, or a source's rendition
    checked = check_document(mapped, node.engines, only=number.index)
    clips = [c for c in checked.job.clips if c.rendition == number.rendition] if checked.job is not None else []
    if not clips:
        why = "; ".join(p.message for p in checked.problems) or "refused at validation"
        raise ClipFailure(f"{label}: node {node.name} cannot plan this clip: {why}", category="validation")
    clip = clips[0]
    engine = node.engines.get(clip.plan.engine)
    if engine is None or clip.plan.engine != payload["engine"] or not hasattr(engine, "plan_chunk"):
        raise ClipFailure(
            f"{label}: node {node.name} routes this clip to {clip.plan.engine!r}, which does not "
            f"encode {payload['engine']!r} chunks",
            category="engine_unavailable",
        )
    path = chunk_temp_path(clip.plan.request.temp_path, span)
    if not os.path.isfile(path):  # the joiner claims every chunk file first; gone: the clip already ended
        raise ClipFailure(
            f"{label}: its chunk file {path} is not there (the clip ended, or this node's path map "
            f"names another folder)",
            category="io_error",
        )
    plan = engine.plan_chunk(clip.plan.request, span.first_frame, span.frame_count, path)  # type: ignore[attr-defined]
    return chunk_job(engine, plan, span, count, cancel)()
