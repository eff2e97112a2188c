"""`proxx status`, `wait` and `cancel`: clip states from Redis, lost workers detected (workers reap
them too, see worker.py), and waiting until every clip is final (the result itself: end.py)."""

from __future__ import annotations

import json
import time
from typing import Any

from .clips import failed_clip, lost_of, lost_payload, node_record
from .store import FINAL, Store
from .units import slot, source_of


def refresh(store: Store, job_id: str, by: str | None = None) -> tuple[dict, list[dict]] | None:
    """The job and its clips, after marking running clips whose heartbeat expired as lost (``by``:
    who is looking, recorded as the loss's ``recorded_by``)."""
    job = store.job(job_id)
    if job is None:
        return None
    clips = store.clips(job_id, job["count"])
    changed = False
    for i, clip in enumerate(clips, start=1):
        if clip.get("state") == "running" and not clip["heartbeat"]:
            changed |= bool(store.mark_lost(job_id, i, lost_payload(job, i, clip.get("node"), by)))
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
        progress = json.loads(clip["progress"]) if clip.get("progress") and state == "running" else {}
        unsampled = 0.0 if state == "queued" else None
        clip_slot = slot(job["document"], i)
        rows.append(
            {
                "index": clip_slot.index,
                "rendition": clip_slot.rendition,
                "source": source_of(job["document"], i),
                "engine": job["engines"][i - 1],
                "queue": job["queues"][i - 1],
                "state": state,
                "node": clip.get("node"),
                "percent": 100.0 if state in FINAL else progress.get("percent", unsampled),
                "eta_seconds": 0.0 if state in FINAL else progress.get("eta_seconds"),
                "status": result["status"] if result else None,
                "failure": result["failure"] if result else None,
                "lost": lost_of(result) if state == "lost" else None,
            }
        )
    return {
        "job_id": job_id,
        "finished": all(c.get("state") in FINAL for c in clips),
        "counts": counts,
        "progress": job_progress(rows),
        "clips": rows,
        "lost_workers": lost_workers(rows),
        "timing": {"submitted_at": job["submitted_at"], "submitter": job["submitter"]},
    }


def lost_workers(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per worker the job lost clips with, in the order first recorded: its name, when the
    fleet recorded the first loss, who recorded it, and the clips (index, source and, JobSpec 1.2, the
    rendition) lost with it."""
    found: dict[str | None, dict[str, Any]] = {}
    for row in sorted((r for r in rows if r.get("lost")), key=lambda r: (r["lost"]["at"] or "", r["index"])):
        lost = row["lost"]
        entry = found.setdefault(
            lost["worker"],
            {"worker": lost["worker"], "at": lost["at"], "recorded_by": lost["recorded_by"], "clips": []},
        )
        lost_clip = {"index": row["index"], "source": row["source"]}
        if row.get("rendition"):  # JobSpec 1.2: which rendition of the source
            lost_clip["rendition"] = row["rendition"]
        entry["clips"].append(lost_clip)
    return list(found.values())


def lost_lines(job_id: str, lost: list[dict[str, Any]]) -> list[str]:
    """What a person reads about each lost worker: who, when, which clips, what to do."""
    lines = []
    for entry in lost:
        clips = ", ".join(f"clip {c['index']}{_rendition(c)} ({c['source']})" for c in entry["clips"])
        by = f" by {entry['recorded_by']}" if entry["recorded_by"] else ""
        lines.append(
            f"job {job_id}: worker {entry['worker'] or 'unknown'} was lost (recorded at {entry['at']}{by}) "
            f"while running {clips}: not re-run; check that node, delete its hidden temporary "
            f"outputs (.<name>.proxx-partial) and submit again with a new job_id"
        )
    return lines


def _rendition(clip: dict[str, Any]) -> str:
    return f" rendition {clip['rendition']!r}" if clip.get("rendition") else ""


def job_progress(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The job's percent (mean over clips; a running clip without a sample counts 0) and ETA: the
    longest running clip's when no clip waits; unknown (None) while clips are queued or unsampled."""
    if not rows:
        return {"percent": 100.0, "eta_seconds": 0.0}
    percent = round(sum(r["percent"] or 0.0 for r in rows) / len(rows), 1)
    open_rows = [r for r in rows if r["state"] not in FINAL]
    etas = [r["eta_seconds"] for r in open_rows]
    eta = 0.0 if not open_rows else (max(etas) if all(e is not None for e in etas) else None)
    return {"percent": percent, "eta_seconds": eta}


def wait_for(
    store: Store, job_id: str, *, timeout: float | None, poll: float = 0.2, on_poll=None, by: str | None = None
):
    """(job, clips) once every clip is final, or None on timeout; KeyError when the job is unknown.
    ``on_poll(job, clips)`` sees every poll (the terminal progress line of `proxx wait`, lost workers).
    ``by``: as for :func:`refresh`."""
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        got = refresh(store, job_id, by)
        if got is None:
            raise KeyError(job_id)
        job, clips = got
        if on_poll is not None:
            on_poll(job, clips)
        if all(c.get("state") in FINAL for c in clips):
            return job, clips
        if deadline is not None and time.monotonic() >= deadline:
            return None
        time.sleep(poll)


def progress_line(job_id: str, job: dict, clips: list[dict]) -> str:
    """One line for a terminal: clips done, the job's percent and ETA."""
    doc = status_doc(job_id, job, clips)
    done = sum(r["state"] in FINAL for r in doc["clips"])
    eta = doc["progress"]["eta_seconds"]
    left = "ETA unknown" if eta is None else f"ETA {int(eta) // 60}m{int(eta) % 60:02d}s"
    running = sum(r["state"] == "running" for r in doc["clips"])
    return (
        f"proxx wait: job {job_id}: {done}/{len(clips)} clip(s) done, {running} running, "
        f"{doc['progress']['percent']:.0f}%, {left}"
    )


def cancel(store: Store, job_id: str) -> dict[str, int] | None:
    """Cancel queued clips (they can then never start) and ask running ones to stop."""
    job = store.job(job_id)
    if job is None:
        return None
    store.request_cancel(job_id)
    queued = 0
    for i in range(1, job["count"] + 1):
        payload = {
            "clip": failed_clip(
                job["document"],
                i,
                job["engines"][i - 1],
                "interrupted",
                "cancelled by `proxx cancel` before it started",
                node_record(None, job["document"], i),
            ),
            "environment": None,
        }
        queued += bool(store.cancel_queued(job_id, i, payload))
    running = sum(c.get("state") == "running" for c in store.clips(job_id, job["count"]))
    return {"cancelled_queued": queued, "interrupting_running": running}
