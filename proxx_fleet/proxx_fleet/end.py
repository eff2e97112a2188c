"""End of a fleet job, exactly once: when its last clip is final, whoever sees that first (the
worker that finished the clip, a worker that reaped a lost one, or `proxx wait`) wins ``end:<id>``
in Redis (``SET NX``) and runs the core's ``finish_job`` (deliverables, ``proxx_job_finished``), as
`proxx run` does; the final result is stored for `proxx wait`. Nobody else runs it again."""

from __future__ import annotations

import json
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from proxx_core import (
    ClipResult,
    EngineSet,
    FinishedJob,
    JobResult,
    PathMap,
    finish_job,
    from_data,
    jobspec_sha256,
    map_document,
    merged,
    now_rfc3339,
    to_data,
)

from .settings import shown
from .store import FINAL, Store


def merged_result(job_id: str, job: dict, clips: list[dict], *, extra_timing: dict | None = None) -> JobResult:
    """The job's result from its nodes' clip results (typed, in source order), as `proxx run`'s."""
    payloads = [json.loads(clip["result"]) for clip in clips]
    typed = tuple(from_data(ClipResult, p["clip"]) for p in payloads)
    finished = max((c.timing.get("finished_at", "") for c in typed), default="") or now_rfc3339()
    timing = {
        "started_at": job["submitted_at"],
        "finished_at": finished,
        "seconds": round(time.time() - job["submitted_epoch"], 3),
        "host": socket.gethostname(),
        "submitter": job["submitter"],
        "argv": [shown(a) if "://" in a else a for a in sys.argv],  # --broker
        **(extra_timing or {}),
    }
    document = job["document"]
    return merged(
        document,
        typed,
        job_id=job_id,
        jobspec_sha256=jobspec_sha256(document),
        environments=[p["environment"] for p in payloads if p.get("environment")],
        timing=timing,
    )


def all_final(clips: list[dict]) -> bool:
    return all(c.get("state") in FINAL for c in clips)


def end_job(
    store: Store, job_id: str, engines: EngineSet, *, by: str, path_map: PathMap | None = None
) -> FinishedJob | None:
    """Run the job's end of job if every clip is final and ``by`` wins the claim; else None.

    ``path_map`` is the finishing node's: sidecars are written into ``output_dir`` as that node
    sees it, while the result keeps the JobSpec as submitted."""
    job = store.job(job_id)
    if job is None:
        return None
    clips = store.clips(job_id, job["count"])
    if not all_final(clips) or not store.claim_end(job_id, by):
        return None
    result = merged_result(job_id, job, clips)
    try:
        here = map_document(job["document"], path_map)[0] if path_map is not None else None
        finished = finish_job(result, engines, deliver_jobspec=here, timing={"fleet": {"finished_by": by}})
    except Exception as exc:  # a bug: `wait` still gets the clips' result, saying the end of job failed
        data = to_data(result)
        data["timing"]["fleet"] = {"finished_by": by, "end_error": f"{type(exc).__name__}: {exc}"}
        store.store_final(job_id, data)
        raise
    data = to_data(finished.result)
    data["timing"]["fleet"]["hook_errors"] = list(finished.hook_errors)
    store.store_final(job_id, data)
    return finished


#: how long a claimant of the end of job that is not a live worker gets to store the result
CLAIMANT_GRACE_SECONDS = 10.0


def await_final(
    store: Store, job_id: str, engines: Callable[[], EngineSet], *, by: str, timeout: float | None, poll: float = 0.2
) -> tuple[dict[str, Any] | None, str | None]:
    """The stored final result of a job whose clips are all final: ends the job here if nobody has
    claimed its end yet; waits for the claimant otherwise. (result data or None on timeout, a note
    when the claimant died before storing it: then the merged result, without its end of job)."""
    deadline = None if timeout is None else time.monotonic() + timeout
    gone_since: float | None = None
    while True:
        final = store.final(job_id)
        if final is not None:
            return final, None
        claimant = store.end_claimed_by(job_id)
        if claimant is None:
            end_job(store, job_id, engines(), by=by)
            continue
        gone = claimant != by and claimant not in {w["node"] for w in store.live_workers()}
        gone_since = (gone_since or time.monotonic()) if gone else None
        if gone_since is not None and time.monotonic() - gone_since >= CLAIMANT_GRACE_SECONDS:
            job = store.job(job_id)
            assert job is not None
            note = (
                f"the end of job (deliverables, proxx_job_finished) was claimed by {claimant}, which stopped "
                f"before storing the result; this is the clips' result without it"
            )
            return to_data(merged_result(job_id, job, store.clips(job_id, job["count"]))), note
        if deadline is not None and time.monotonic() >= deadline:
            return None, None
        time.sleep(poll)
