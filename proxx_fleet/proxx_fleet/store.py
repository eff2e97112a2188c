"""Proxx's own state in Redis: jobs, per-clip claims and heartbeats, the worker registry.

Celery only carries messages. Whether a clip ran, where, and how it ended lives here, in keys
Proxx controls, so "at most once" does not depend on the broker: a clip starts only after an
atomic ``SET NX`` of its claim key, and every state change is a compare-and-set (Lua), so a clip
marked lost or cancelled can never be overwritten by a late worker.

Keys (prefix ``proxx:v1:``)::

    job:<id>          hash  document, engines (per clip), queues, submitted_at, submitter, count
                            (a clip is an entry of the result: a source, or a source's rendition, units.py)
    clip:<id>:<i>     hash  state (queued|running|done|lost|cancelled), node, started_at, progress, result
    claim:<id>:<i>    str   the node that claimed the clip, or "cancelled"   (exactly once; a task's clips together)
    hb:<id>:<i>       str   the running node, expires after MISSED_BEATS heartbeats
    cancel:<id>       str   set by `proxx cancel`; running clips are interrupted at the next beat
    worker:<node>     str   JSON registry record, expires after MISSED_BEATS heartbeats
    workers           set   node names ever seen (pruned when their record has expired)
    running           set   JSON [job id, index] of every running clip (what reapers scan)
    finals:<id>       int   how many clips are final: the transition that makes it ``count`` ends the job
    end:<id>          str   who runs the job's end of job (SET NX: exactly once per submission)
    final:<id>        str   the final result JSON, written by whoever won ``end:<id>``
"""

from __future__ import annotations

import json
import time
from typing import Any

PREFIX = "proxx:v1:"
FINAL = ("done", "lost", "cancelled")

# every clip of a task (a source's renditions made by one run) or none: KEYS claim, clip, hb per clip,
# then the running set; ARGV node, ttl, started_at, then each clip's member of the running set
_CLAIM = """
local n = (#KEYS - 1) / 3
for i = 0, n - 1 do
  if redis.call('exists', KEYS[3 * i + 1]) == 1 then return 0 end
end
for i = 0, n - 1 do
  redis.call('set', KEYS[3 * i + 1], ARGV[1])
  redis.call('hset', KEYS[3 * i + 2], 'state', 'running', 'node', ARGV[1], 'started_at', ARGV[3])
  redis.call('set', KEYS[3 * i + 3], ARGV[1], 'PX', ARGV[2])
  redis.call('sadd', KEYS[#KEYS], ARGV[4 + i])
end
return 1
"""
_FINISH = """
if redis.call('hget', KEYS[1], 'state') ~= 'running' or redis.call('hget', KEYS[1], 'node') ~= ARGV[1] then
  return 0
end
redis.call('hset', KEYS[1], 'state', 'done', 'result', ARGV[2])
redis.call('del', KEYS[2])
redis.call('srem', KEYS[3], ARGV[3])
return redis.call('incr', KEYS[4])
"""
_LOSE = """
if redis.call('hget', KEYS[1], 'state') ~= 'running' or redis.call('exists', KEYS[2]) == 1 then
  if redis.call('hget', KEYS[1], 'state') ~= 'running' then redis.call('srem', KEYS[3], ARGV[2]) end
  return 0
end
redis.call('hset', KEYS[1], 'state', 'lost', 'result', ARGV[1])
redis.call('srem', KEYS[3], ARGV[2])
return redis.call('incr', KEYS[4])
"""
_CANCEL_QUEUED = """
if not redis.call('set', KEYS[1], 'cancelled', 'NX') then return 0 end
redis.call('hset', KEYS[2], 'state', 'cancelled', 'result', ARGV[1])
return redis.call('incr', KEYS[3])
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
        return {
            "document": json.loads(data["document"]),
            "engines": json.loads(data["engines"]),
            "queues": json.loads(data["queues"]),
            "submitted_at": data["submitted_at"],
            "submitted_epoch": float(data["submitted_epoch"]),
            "submitter": data["submitter"],
            "count": int(data["count"]),
        }

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

    def create_job(
        self,
        job_id: str,
        *,
        document: dict,
        engines: list[str | None],
        queues: list[str | None],
        submitted_at: str,
        submitter: str,
        finished: dict[int, dict] | None = None,
    ) -> None:
        """Record a job and its queued clips, replacing a finished earlier run of the same id;
        ``finished`` holds the results of clips final at submission (refused under fail_clip)."""
        finished = finished or {}
        count = len(engines)
        keys = [self.k("cancel", job_id), self.k("end", job_id), self.k("final", job_id), self.k("finals", job_id)]
        for i in range(1, 10_000):
            if not self.r.exists(self.k("clip", job_id, i)):
                break
            keys += [self.k(kind, job_id, i) for kind in ("clip", "claim", "hb")]
        pipe = self.r.pipeline(transaction=True)
        if keys:
            pipe.delete(*keys)
        pipe.hset(
            self.k("job", job_id),
            mapping={
                "document": json.dumps(document, ensure_ascii=False),
                "engines": json.dumps(engines),
                "queues": json.dumps(queues),
                "submitted_at": submitted_at,
                "submitted_epoch": repr(time.time()),
                "submitter": submitter,
                "count": count,
            },
        )
        pipe.set(self.k("finals", job_id), len(finished))
        for i in range(1, count + 1):
            if i in finished:
                pipe.hset(
                    self.k("clip", job_id, i),
                    mapping={"state": "done", "engine": "", "result": json.dumps(finished[i], ensure_ascii=False)},
                )
            else:
                pipe.hset(self.k("clip", job_id, i), mapping={"state": "queued", "engine": engines[i - 1] or ""})
        pipe.execute()

    # ---------------------------------------------------------------- clip lifecycle
    @staticmethod
    def member(job_id: str, index: int) -> str:
        """A running clip in the ``running`` set (job ids may hold any character, so JSON)."""
        return json.dumps([job_id, index], ensure_ascii=False)

    def claim(self, job_id: str, index: int, node: str, ttl: float, started_at: str) -> bool:
        return self.claim_task(job_id, [index], node, ttl, started_at)

    def claim_task(self, job_id: str, indices: list[int], node: str, ttl: float, started_at: str) -> bool:
        """Claim every clip of a task at once (a source's renditions made by one run), or none: true for
        exactly one node, and never once one of them was claimed or cancelled."""
        keys = [self.k(kind, job_id, i) for i in indices for kind in ("claim", "clip", "hb")]
        members = [self.member(job_id, i) for i in indices]
        return bool(self._claim(keys=[*keys, self.k("running")], args=[node, int(ttl * 1000), started_at, *members]))

    def clip_node(self, job_id: str, index: int) -> str | None:
        """The node that claimed the clip (None before a claim)."""
        node = self.r.hget(self.k("clip", job_id, index), "node")
        return None if node is None else str(node)

    def beat(self, job_id: str, index: int, node: str, ttl: float, progress: dict | None = None) -> None:
        """Keep a running clip alive; ``progress`` (percent, eta_seconds, speed) for `status`/`wait`."""
        pipe = self.r.pipeline(transaction=False)
        pipe.set(self.k("hb", job_id, index), node, px=int(ttl * 1000))
        if progress is not None:
            pipe.hset(self.k("clip", job_id, index), "progress", json.dumps(progress))
        pipe.execute()

    # Each transition to a final state returns how many clips of the job are final after it (0: it
    # did not happen), so exactly one caller sees the job's last clip end without reading them all.
    def finish(self, job_id: str, index: int, node: str, payload: dict) -> int:
        keys = [self.k("clip", job_id, index), self.k("hb", job_id, index), self.k("running"), self.k("finals", job_id)]
        return int(
            self._finish(keys=keys, args=[node, json.dumps(payload, ensure_ascii=False), self.member(job_id, index)])
        )

    def mark_lost(self, job_id: str, index: int, payload: dict) -> int:
        """Record a running clip whose heartbeat expired as lost: non-zero for exactly one caller."""
        keys = [self.k("clip", job_id, index), self.k("hb", job_id, index), self.k("running"), self.k("finals", job_id)]
        return int(self._lose(keys=keys, args=[json.dumps(payload, ensure_ascii=False), self.member(job_id, index)]))

    def count(self, job_id: str) -> int:
        """How many clips the job has (0: no such job)."""
        return int(self.r.hget(self.k("job", job_id), "count") or 0)

    def running_without_heartbeat(self) -> list[tuple[str, int]]:
        """(job id, index) of every running clip whose heartbeat has expired, across all jobs."""
        members = sorted(self.r.smembers(self.k("running")))
        if not members:
            return []
        clips = [tuple(json.loads(m)) for m in members]
        alive = self.r.mget([self.k("hb", job_id, index) for job_id, index in clips])
        return [(str(job_id), int(index)) for (job_id, index), hb in zip(clips, alive, strict=True) if hb is None]

    # ---------------------------------------------------------------- end of job
    def claim_end(self, job_id: str, by: str) -> bool:
        """Whether ``by`` runs this job's end of job: true for exactly one caller per submission."""
        return bool(self.r.set(self.k("end", job_id), by, nx=True))

    def end_claimed_by(self, job_id: str) -> str | None:
        value = self.r.get(self.k("end", job_id))
        return None if value is None else str(value)

    def store_final(self, job_id: str, result: dict) -> None:
        self.r.set(self.k("final", job_id), json.dumps(result, ensure_ascii=False))

    def final(self, job_id: str) -> dict | None:
        raw = self.r.get(self.k("final", job_id))
        return None if raw is None else json.loads(raw)

    def cancel_queued(self, job_id: str, index: int, payload: dict) -> int:
        keys = [self.k("claim", job_id, index), self.k("clip", job_id, index), self.k("finals", job_id)]
        return int(self._cancel(keys=keys, args=[json.dumps(payload, ensure_ascii=False)]))

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
