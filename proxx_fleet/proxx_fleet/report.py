"""`proxx status`, `wait` and `cancel`: clip states from Redis, lost workers detected (workers reap
them too, see worker.py), and waiting until every clip is final (the result itself: end.py)."""

from __future__ import annotations

import json
import time
from typing import Any

from .clips import failed_clip, lost_payload, node_record
from .store import FINAL, Store


def refresh(store: Store, job_id: str) -> tuple[dict, list[dict]] | None:
    """The job and its clips, after marking running clips whose heartbeat expired as lost."""
    job = store.job(job_id)
    if job is None:
        return None
    clips = store.clips(job_id, job["count"])
    changed = False
    for i, clip in enumerate(clips, start=1):
        if clip.get("state") == "running" and not clip["heartbeat"]:
            changed |= store.mark_lost(job_id, i, lost_payload(job, i, clip.get("node")))
    if changed:
        clips = store.clips(job_id, job["count"])
    return job, clips


def status_doc(job_id: str, job: dict, clips: list[dict]) -> dict[str, Any]:
    counts: dict[str, int]
    rows, counts = [], {}
    for i, clip in enumerate(clips, start=1):
        state = clip.get("state", "queued")
        counts[state] = counts.get(state, 0) + 1
        result = json.loads(clip["result"])["clip"] if clip.get("result") else None
        rows.append({"index": i, "source": job["document"]["sources"][i - 1], "engine": job["engines"][i - 1],
                     "queue": job["queues"][i - 1], "state": state, "node": clip.get("node"),
                     "status": result["status"] if result else None,
                     "failure": result["failure"] if result else None})
    return {"job_id": job_id, "finished": all(c.get("state") in FINAL for c in clips), "counts": counts,
            "clips": rows, "timing": {"submitted_at": job["submitted_at"], "submitter": job["submitter"]}}


def wait_for(store: Store, job_id: str, *, timeout: float | None, poll: float = 0.2):
    """(job, clips) once every clip is final, or None on timeout; KeyError when the job is unknown."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        got = refresh(store, job_id)
        if got is None:
            raise KeyError(job_id)
        job, clips = got
        if all(c.get("state") in FINAL for c in clips):
            return job, clips
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(poll)


def cancel(store: Store, job_id: str) -> dict[str, int] | None:
    """Cancel queued clips (they can then never start) and ask running ones to stop."""
    job = store.job(job_id)
    if job is None:
        return None
    store.request_cancel(job_id)
    queued = 0
    for i in range(1, job["count"] + 1):
        payload = {"clip": failed_clip(job["document"], i, job["engines"][i - 1], "interrupted",
                                       "cancelled by `proxx cancel` before it started",
                                       node_record(None, job["document"], i)), "environment": None}
        queued += store.cancel_queued(job_id, i, payload)
    running = sum(c.get("state") == "running" for c in store.clips(job_id, job["count"]))
    return {"cancelled_queued": queued, "interrupting_running": running}
