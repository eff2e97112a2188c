"""A watch process's live state on disk, for status pages (``proxx dashboard``): the file
``running/<owner>/owner.progress`` (docs/watch-folders.md, "Live state").

The log lines (``event=clip_progress``) go to the watcher's stderr, which a status page on another
machine cannot read; this small JSON file is what it reads instead. It holds the node's engines
and load, and per running job its clip counts, source seconds and each running clip's last
progress sample. Its size depends on the worker count, not on the job's length (finished clips are
counted, never listed), and it is rewritten atomically: at most once per :data:`WRITE_SECONDS`
while clips progress, at once when a clip starts or ends, and at least every
:data:`HEARTBEAT_SECONDS` (its ``updated_at`` is the process's heartbeat). Not fsynced: it
describes a live process, and nothing after a power cut depends on it. Its name does not end in
``.json``, so it can never be taken for a claimed job.
"""

from __future__ import annotations

import json
import math
import os
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..contract.events import CLIP_STALLED, ProxxEvent
from ..contract.progress import DONE, PROGRESS, START, EventFn, ProgressEvent
from ..io.clock import now_rfc3339
from ..pipeline.serialization import to_data
from ..support.plugins import EngineSet
from .owner import PROGRESS_FILE
from .protocol import write_new

#: a running clip's progress is written at most this often
WRITE_SECONDS = 1.0
#: the file is rewritten at least this often while the process lives (its heartbeat)
HEARTBEAT_SECONDS = 5.0
#: the most recent failures of a job kept in the file (with category), newest last
KEPT_FAILURES = 20
#: a running clip without a progress sample for this long is stalled: the status page's default
#: (``proxx dashboard --stall-seconds``) judging the same samples; ``PROXX_WATCH_STALL_SECONDS`` sets it
STALL_SECONDS = 60.0


def stall_seconds() -> float:
    try:
        return max(0.1, float(os.environ.get("PROXX_WATCH_STALL_SECONDS", STALL_SECONDS)))
    except ValueError:
        return STALL_SECONDS


def engine_builds(engines: EngineSet) -> dict[str, dict[str, Any]]:
    """Each loaded engine's identity (version, build, binary hash), as results record it."""
    return {name: to_data(engines.identity(name)) for name in engines.names}


def load_average() -> list[float] | None:
    try:
        return [round(x, 2) for x in os.getloadavg()]
    except (OSError, AttributeError):
        return None


class LiveRecord:
    """Keeps ``owner.progress`` equal to what this process runs now; every method is thread-safe
    and never raises (a status page must never cost a job)."""

    def __init__(
        self,
        owner_dir: Path,
        *,
        node: str,
        pid: int,
        max_workers: int,
        engines: dict[str, dict[str, Any]],
        on_error: Callable[[OSError], None] | None = None,
        on_stall: Callable[[ProxxEvent], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.path = owner_dir / PROGRESS_FILE
        self.node = node
        self.head = {"node": node, "pid": pid, "max_workers": max_workers, "engines": engines}
        self.on_error, self.on_stall, self.clock = on_error, on_stall, clock
        self.stall_seconds = stall_seconds()
        #: (job name, clip index) -> clock time of its last sample; stalled clips are told once
        self._sampled: dict[tuple[str, int], float] = {}
        self._stalled: set[tuple[str, int]] = set()
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._write_lock = threading.Lock()  # one writer at a time, so the newest state lands last
        self._written = -math.inf
        self._dirty = False

    # ------------------------------------------------------------------------------ jobs
    def job_started(self, name: str, job_id: str, durations: dict[int, float | None], workers: int) -> None:
        known = [d for d in durations.values() if d]
        with self._lock:
            self._jobs[name] = {
                "job_id": job_id,
                "started_at": now_rfc3339(),
                "workers": workers,
                "clips": len(durations),
                "source_seconds": round(sum(known), 3),
                "unknown_durations": len(durations) - len(known),
                "done": {},
                "done_seconds": 0.0,
                "running": {},
                "failures": [],
                "_durations": durations,
            }
        self.write()

    def job_finished(self, name: str) -> None:
        with self._lock:
            self._jobs.pop(name, None)
            for key in [k for k in self._sampled if k[0] == name]:
                del self._sampled[key]
            self._stalled = {k for k in self._stalled if k[0] != name}
        self.write()

    def listener(self, name: str) -> EventFn:
        """The ProgressEvent callback for one job's clips."""
        return lambda event: self.event(name, event)

    def event(self, name: str, event: ProgressEvent) -> None:
        with self._lock:
            job = self._jobs.get(name)
            if job is None:
                return
            key = str(event.index)
            if event.event in (START, PROGRESS):
                self._sampled[(name, event.index)] = self.clock()
                self._stalled.discard((name, event.index))
            else:
                self._sampled.pop((name, event.index), None)
                self._stalled.discard((name, event.index))
            if event.event == START:
                job["running"][key] = {
                    "index": event.index,
                    "file": Path(event.source).name,
                    "started_at": now_rfc3339(),
                    "percent": 0.0,
                    "source_seconds": job["_durations"].get(event.index),
                }
            elif event.event == PROGRESS and key in job["running"]:
                clip = job["running"][key]
                clip.update(
                    {
                        k: getattr(event, k)
                        for k in ("percent", "fps", "speed", "eta_seconds")
                        if getattr(event, k) is not None
                    }
                )
                clip["updated_at"] = now_rfc3339()
            elif event.event == DONE:
                clip = job["running"].pop(key, None) or {"index": event.index, "file": Path(event.source).name}
                status = event.status or "UNKNOWN"
                job["done"][status] = job["done"].get(status, 0) + 1
                job["done_seconds"] = round(job["done_seconds"] + (job["_durations"].get(event.index) or 0.0), 3)
                if event.category:
                    job["failures"] = [
                        *job["failures"],
                        {"index": event.index, "file": clip["file"], "status": status, "category": event.category},
                    ][-KEPT_FAILURES:]
            self._dirty = True
            throttled = event.event == PROGRESS and self.clock() - self._written < WRITE_SECONDS
        if not throttled:
            self.write()

    # ----------------------------------------------------------------------------- disk
    def beat(self) -> None:
        """Called by the watch loop: write what progress was throttled, and the heartbeat; tell
        ``on_stall`` about each running clip that made no progress for the stall time."""
        self._tell_stalls()
        now = self.clock()
        with self._lock:
            due = (self._dirty and now - self._written >= WRITE_SECONDS) or now - self._written >= HEARTBEAT_SECONDS
        if due:
            self.write()

    def _tell_stalls(self) -> None:
        if self.on_stall is None:
            return
        now, found = self.clock(), []
        with self._lock:
            for (name, index), last in self._sampled.items():
                job = self._jobs.get(name)
                if job is None or (name, index) in self._stalled or now - last <= self.stall_seconds:
                    continue
                self._stalled.add((name, index))
                clip = job["running"].get(str(index)) or {}
                found.append(
                    ProxxEvent(
                        kind=CLIP_STALLED,
                        job_id=job["job_id"],
                        node=self.node,
                        clip_index=index,
                        message=(
                            f"clip {index} ({clip.get('file', '?')}) of job {job['job_id']} made no "
                            f"progress for {now - last:.0f} s (last at {clip.get('percent', 0):.1f} %) "
                            f"on node {self.node}"
                        ),
                    )
                )
        for event in found:
            self.on_stall(event)

    def next_due(self) -> float:
        """Seconds until :meth:`beat` has something to write (the loop sleeps no longer)."""
        with self._lock:
            wait = WRITE_SECONDS if self._dirty else HEARTBEAT_SECONDS
            return max(0.0, self._written + wait - self.clock())

    def document(self) -> dict[str, Any]:
        with self._lock:
            jobs = {
                name: {k: v for k, v in job.items() if not k.startswith("_")}
                | {"running": sorted(job["running"].values(), key=lambda c: c["index"])}
                for name, job in self._jobs.items()
            }
        return {"version": 1, **self.head, "updated_at": now_rfc3339(), "load": load_average(), "jobs": jobs}

    def write(self) -> None:
        with self._write_lock:
            with self._lock:
                self._written = self.clock()
                self._dirty = False
            try:
                write_new(self.path, json.dumps(self.document(), sort_keys=True) + "\n", durable=False, overwrite=True)
            except OSError as exc:  # e.g. the owner folder was removed under us: logged once by the caller
                if self.on_error is not None:
                    self.on_error(exc)

    def remove(self) -> None:
        try:
            os.unlink(self.path)
        except OSError:
            pass
