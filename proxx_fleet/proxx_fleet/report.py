"""`proxx status`, `wait` and `cancel`: clip states from Redis, lost workers detected, and the final
result assembled in the same schema as `proxx run` (plus each clip's ``node``)."""

from __future__ import annotations

import json
import socket
import sys
import time
from types import SimpleNamespace
from typing import Any

from proxx_core.clock import now_rfc3339
from proxx_core.document import jobspec_sha256
from proxx_core.results import (
    RESULT_VERSION,
    JobResult,
    environment,
    proxx_version,
    status_for,
    to_data,
)

from .clips import failed_clip, node_record
from .store import FINAL, Store


def lost_message(node: str | None) -> str:
    return (f"worker {node} stopped sending heartbeats while running this clip (killed, crashed or cut off "
            f"from Redis). It is not re-run: check that node, delete any hidden temporary output "
            f"(.<name>.proxx-partial) it left in the output folder, and submit again with a new job_id")


def refresh(store: Store, job_id: str) -> tuple[dict, list[dict]] | None:
    """The job and its clips, after marking running clips whose heartbeat expired as lost."""
    job = store.job(job_id)
    if job is None:
        return None
    clips = store.clips(job_id, job["count"])
    changed = False
    for i, clip in enumerate(clips, start=1):
        if clip.get("state") == "running" and not clip["heartbeat"]:
            node = clip.get("node")
            payload = {"clip": failed_clip(job["document"], i, job["engines"][i - 1], "worker_lost",
                                           lost_message(node), node_record(node, job["document"], i)),
                       "environment": None}
            changed |= store.mark_lost(job_id, i, payload)
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


def final_result(job_id: str, job: dict, clips: list[dict]) -> dict[str, Any]:
    """The result document (as data) in `proxx run`'s schema, clips in source order."""
    document = job["document"]
    datas, envs = [], []
    for clip in clips:
        payload = json.loads(clip["result"])
        datas.append(payload["clip"])
        if payload.get("environment"):
            envs.append(payload["environment"])
    status, exit_code = status_for(tuple(
        SimpleNamespace(status=d["status"], failure=SimpleNamespace(**d["failure"]) if d["failure"] else None)  # type: ignore[misc]  # duck-typed: status_for reads .status, .failure.category
        for d in datas))
    env = dict(envs[0]) if envs else to_data(environment([]))
    seen, engines = set(), []
    for e in (x for env_ in envs for x in env_["engines"]):
        key = (e["name"], e.get("binary_sha256"), e.get("version"))
        if key not in seen:
            seen.add(key)
            engines.append(e)
    env["engines"] = sorted(engines, key=lambda e: (e["name"], e.get("binary_sha256") or ""))
    finished = max((d["timing"].get("finished_at", "") for d in datas), default="") or now_rfc3339()
    timing = {"started_at": job["submitted_at"], "finished_at": finished,
              "seconds": round(time.time() - job["submitted_epoch"], 3), "host": socket.gethostname(),
              "submitter": job["submitter"], "argv": list(sys.argv)}
    result = JobResult(result_version=RESULT_VERSION, proxx_version=proxx_version(), job_id=job_id,
                       jobspec_sha256=jobspec_sha256(document), status=status, exit_code=exit_code, environment=env,
                       user_metadata=document.get("user_metadata"), clips=(), timing=timing, jobspec=document)
    data = to_data(result)
    data["clips"] = datas
    return data


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
