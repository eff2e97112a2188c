"""Proxx's own state in Redis: jobs, per-clip claims and heartbeats, the worker registry.

Celery only carries messages. Whether a clip ran, where, and how it ended lives here, in keys
Proxx controls, so "at most once" does not depend on the broker: a clip starts only after an
atomic ``SET NX`` of its claim key, and every state change is a compare-and-set (Lua), so a clip
marked lost or cancelled can never be overwritten by a late worker.

Keys (prefix ``proxx:v1:``)::

    job:<id>          hash  document, engines (per clip), queues, submitted_at, submitter, count
    clip:<id>:<i>     hash  state (queued|running|done|lost|cancelled), node, started_at, result
    claim:<id>:<i>    str   the node that claimed the clip, or "cancelled"   (SET NX: exactly once)
    hb:<id>:<i>       str   the running node, expires after MISSED_BEATS heartbeats
    cancel:<id>       str   set by `proxx cancel`; running clips are interrupted at the next beat
    worker:<node>     str   JSON registry record, expires after MISSED_BEATS heartbeats
    workers           set   node names ever seen (pruned when their record has expired)
"""

from __future__ import annotations

import json
import time
from typing import Any

PREFIX = "proxx:v1:"
FINAL = ("done", "lost", "cancelled")

_CLAIM = """
if not redis.call('set', KEYS[1], ARGV[1], 'NX') then return 0 end
redis.call('hset', KEYS[2], 'state', 'running', 'node', ARGV[1], 'started_at', ARGV[3])
redis.call('set', KEYS[3], ARGV[1], 'PX', ARGV[2])
return 1
"""
_FINISH = """
if redis.call('hget', KEYS[1], 'state') ~= 'running' or redis.call('hget', KEYS[1], 'node') ~= ARGV[1] then
  return 0
end
redis.call('hset', KEYS[1], 'state', 'done', 'result', ARGV[2])
redis.call('del', KEYS[2])
return 1
"""
_LOSE = """
if redis.call('hget', KEYS[1], 'state') ~= 'running' or redis.call('exists', KEYS[2]) == 1 then return 0 end
redis.call('hset', KEYS[1], 'state', 'lost', 'result', ARGV[1])
return 1
"""
_CANCEL_QUEUED = """
if not redis.call('set', KEYS[1], 'cancelled', 'NX') then return 0 end
redis.call('hset', KEYS[2], 'state', 'cancelled', 'result', ARGV[1])
return 1
"""


class Store:
    def __init__(self, url: str):
        import redis

        self.url = url
        self.r = redis.Redis.from_url(url, decode_responses=True, socket_timeout=30, health_check_interval=30)
        self._claim = self.r.register_script(_CLAIM)
        self._finish = self.r.register_script(_FINISH)
        self._lose = self.r.register_script(_LOSE)
        self._cancel = self.r.register_script(_CANCEL_QUEUED)

    # ---------------------------------------------------------------- keys
    @staticmethod
    def k(*parts: Any) -> str:
        return PREFIX + ":".join(str(p) for p in parts)

    # ---------------------------------------------------------------- jobs
    def job(self, job_id: str) -> dict | None:
        data = self.r.hgetall(self.k("job", job_id))
        if not data:
            return None
        return {"document": json.loads(data["document"]), "engines": json.loads(data["engines"]),
                "queues": json.loads(data["queues"]), "submitted_at": data["submitted_at"],
                "submitted_epoch": float(data["submitted_epoch"]), "submitter": data["submitter"],
                "count": int(data["count"])}

    def clips(self, job_id: str, count: int) -> list[dict]:
        pipe = self.r.pipeline(transaction=False)
        for i in range(1, count + 1):
            pipe.hgetall(self.k("clip", job_id, i))
            pipe.exists(self.k("hb", job_id, i))
        raw = pipe.execute()
        out = []
        for i in range(count):
            clip, alive = raw[2 * i], raw[2 * i + 1]
            out.append({**clip, "heartbeat": bool(alive)})
        return out

    def create_job(self, job_id: str, *, document: dict, engines: list[str | None], queues: list[str | None],
                   submitted_at: str, submitter: str, finished: dict[int, dict] | None = None) -> None:
        """Record a job and its queued clips, replacing a finished earlier run of the same id;
        ``finished`` holds the results of clips final at submission (refused under fail_clip)."""
        finished = finished or {}
        count = len(engines)
        keys = [self.k("cancel", job_id)]
        for i in range(1, 10_000):
            if not self.r.exists(self.k("clip", job_id, i)):
                break
            keys += [self.k(kind, job_id, i) for kind in ("clip", "claim", "hb")]
        pipe = self.r.pipeline(transaction=True)
        if keys:
            pipe.delete(*keys)
        pipe.hset(self.k("job", job_id), mapping={
            "document": json.dumps(document, ensure_ascii=False), "engines": json.dumps(engines),
            "queues": json.dumps(queues), "submitted_at": submitted_at, "submitted_epoch": repr(time.time()),
            "submitter": submitter, "count": count})
        for i in range(1, count + 1):
            if i in finished:
                pipe.hset(self.k("clip", job_id, i), mapping={
                    "state": "done", "engine": "", "result": json.dumps(finished[i], ensure_ascii=False)})
            else:
                pipe.hset(self.k("clip", job_id, i), mapping={"state": "queued", "engine": engines[i - 1] or ""})
        pipe.execute()

    # ---------------------------------------------------------------- clip lifecycle
    def claim(self, job_id: str, index: int, node: str, ttl: float, started_at: str) -> bool:
        keys = [self.k("claim", job_id, index), self.k("clip", job_id, index), self.k("hb", job_id, index)]
        return bool(self._claim(keys=keys, args=[node, int(ttl * 1000), started_at]))

    def beat(self, job_id: str, index: int, node: str, ttl: float) -> None:
        self.r.set(self.k("hb", job_id, index), node, px=int(ttl * 1000))

    def finish(self, job_id: str, index: int, node: str, payload: dict) -> bool:
        keys = [self.k("clip", job_id, index), self.k("hb", job_id, index)]
        return bool(self._finish(keys=keys, args=[node, json.dumps(payload, ensure_ascii=False)]))

    def mark_lost(self, job_id: str, index: int, payload: dict) -> bool:
        keys = [self.k("clip", job_id, index), self.k("hb", job_id, index)]
        return bool(self._lose(keys=keys, args=[json.dumps(payload, ensure_ascii=False)]))

    def cancel_queued(self, job_id: str, index: int, payload: dict) -> bool:
        keys = [self.k("claim", job_id, index), self.k("clip", job_id, index)]
        return bool(self._cancel(keys=keys, args=[json.dumps(payload, ensure_ascii=False)]))

    def request_cancel(self, job_id: str) -> None:
        self.r.set(self.k("cancel", job_id), "1")

    def cancelled(self, job_id: str) -> bool:
        return bool(self.r.exists(self.k("cancel", job_id)))

    # ---------------------------------------------------------------- worker registry
    def register_worker(self, record: dict, ttl: float) -> None:
        pipe = self.r.pipeline(transaction=False)
        pipe.set(self.k("worker", record["node"]), json.dumps(record, ensure_ascii=False), px=int(ttl * 1000))
        pipe.sadd(self.k("workers"), record["node"])
        pipe.execute()

    def unregister_worker(self, node: str) -> None:
        self.r.delete(self.k("worker", node))

    def live_workers(self) -> list[dict]:
        names = sorted(self.r.smembers(self.k("workers")))
        if not names:
            return []
        records = self.r.mget([self.k("worker", n) for n in names])
        dead = [n for n, rec in zip(names, records, strict=False) if rec is None]
        if dead:
            self.r.srem(self.k("workers"), *dead)
        return [json.loads(rec) for rec in records if rec is not None]
