"""Reads a fleet (Celery + Redis, docs/fleet.md) into a :class:`~.model.Snapshot`, only through
``proxx_fleet``'s store functions (``live_workers``, ``job``, ``clips``): never a second copy of its
key layout. Nodes are the live workers' registry records; jobs are those a worker runs a clip of
now, plus any the operator follows (``--fleet-job``), which stay on the page once finished.

It reads, and changes nothing a job depends on: unlike ``proxx status`` it never marks a clip lost
(a running clip whose heartbeat expired is shown lost; ``proxx status``/``wait`` record it). The
registry lookup drops expired worker names from the registry's name set, as ``proxx workers`` does.
"""

from __future__ import annotations

import json
import time
from collections import Counter
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from proxx_core import Status, now_rfc3339

from .model import ALIVE, LOST, Job, Node, Slot, Snapshot
from .watchreader import _failure, _number, _obj, parse_time

#: clip states of the fleet store that are final
FINAL = ("done", "lost", "cancelled")


def shown_url(url: str) -> str:
    """The broker URL without its password (the page and its JSON show it)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = f"{parts.username}:***@" if parts.username else ":***@"
    host = parts.netloc.rsplit("@", 1)[1]
    return urlunsplit(parts._replace(netloc=user + host))


class FleetReader:
    """The :class:`~.model.Reader` of a fleet's Redis (``url`` as ``proxx worker --broker``)."""

    def __init__(
        self, url: str, *, follow: Iterable[str] = (), store: Any = None, clock: Callable[[], float] = time.time
    ):
        if store is None:
            from proxx_fleet.store import Store

            store = Store(url)
        self.url, self.store, self.follow, self.clock = shown_url(url), store, tuple(follow), clock

    def read(self) -> Snapshot:
        started = time.perf_counter()
        now = self.clock()
        errors: list[str] = []
        try:
            workers = self.store.live_workers()
        except Exception as exc:  # Redis unreachable: say so on the page, keep going
            return Snapshot(source=self.url, taken_at=now_rfc3339(), errors=(f"cannot read the fleet: {exc}",))
        nodes = [self._node(w, now) for w in workers]
        job_ids = dict.fromkeys(self.follow)
        for w in workers:
            for entry in w.get("running") or []:
                job_ids.setdefault(str(entry).rsplit(":", 1)[0])
        running: list[Job] = []
        history: list[Job] = []
        slots: list[Slot] = []
        clips: Counter[str] = Counter()
        for job_id in job_ids:
            try:
                job = self.store.job(job_id)
                rows = self.store.clips(job_id, job["count"]) if job else []
            except Exception as exc:
                errors.append(f"cannot read fleet job {job_id}: {exc}")
                continue
            if job is None:
                errors.append(f"no fleet job {job_id!r}")
                continue
            view, job_slots, counts = self._job(job_id, job, rows, now)
            (history if view.state not in ("running", "queued") else running).append(view)
            slots.extend(job_slots)
            clips.update(counts)
        jobs = Counter(j.state for j in (*running, *history))
        return Snapshot(
            source=self.url,
            taken_at=now_rfc3339(),
            nodes=tuple(nodes),
            slots=tuple(slots),
            running=tuple(running),
            history=tuple(history),
            clips_by_status=dict(clips),
            jobs_by_state=dict(jobs),
            errors=tuple(errors),
            read_seconds=round(time.perf_counter() - started, 4),
        )

    def _node(self, record: dict[str, Any], now: float) -> Node:
        beat = parse_time(record.get("heartbeat_at"))
        age = None if beat is None else round(max(0.0, now - beat), 1)
        load = record.get("load")
        return Node(
            name=str(record.get("node")),
            node=str(record.get("node")),
            pid=record.get("pid"),
            state=ALIVE,
            reason=f"registered in the fleet; heartbeat every {record.get('heartbeat_seconds')} s",
            heartbeat_age=age,
            load=(float(load),) if isinstance(load, (int, float)) else None,
            max_workers=record.get("max_workers"),
            engines=_obj(record.get("engines")),
            started_at=record.get("started_at"),
            jobs=len(record.get("running") or []),
            allowed=_obj(record.get("allow")),
        )

    def _job(
        self, job_id: str, job: dict[str, Any], rows: list[dict[str, Any]], now: float
    ) -> tuple[Job, list[Slot], Counter[str]]:
        sources = job["document"].get("sources") or []
        renditions = job["document"].get("renditions")
        per_source = len(renditions) if isinstance(renditions, list) and renditions else 1  # proxx_fleet/units.py
        counts: Counter[str] = Counter()
        slots, failures = [], []
        for i, row in enumerate(rows, start=1):
            state = row.get("state", "queued")
            result = _obj(json.loads(row["result"]).get("clip")) if row.get("result") else {}
            if state == "running":
                progress = _obj(json.loads(row["progress"])) if row.get("progress") else {}
                lost = not row.get("heartbeat")
                began = parse_time(row.get("started_at"))
                slots.append(
                    Slot(
                        node=str(row.get("node")),
                        job=job_id,
                        index=i,
                        file=Path(str(sources[(i - 1) // per_source] if i <= len(sources) * per_source else "")).name,
                        percent=_number(progress.get("percent")),
                        speed=_number(progress.get("speed")),
                        fps=_number(progress.get("fps")),
                        eta_seconds=_number(progress.get("eta_seconds")),
                        quiet_seconds=None if began is None else round(max(0.0, now - began), 1),
                        lost=lost,
                    )
                )
                counts[LOST.upper() if lost else "RUNNING"] += 1
            elif state in FINAL and result:
                counts[str(result.get("status"))] += 1
                if isinstance(result.get("failure"), dict):
                    failures.append(_failure(result))
            else:
                counts[state.upper()] += 1
        done = sum(n for s, n in counts.items() if s not in ("RUNNING", "QUEUED", "LOST"))
        if counts.get("RUNNING") or counts.get("QUEUED"):
            state = "running" if counts.get("RUNNING") or done else "queued"
        elif counts.get("LOST"):
            state = LOST
        else:
            state = (
                Status.COMPLETED
                if set(counts) <= {Status.COMPLETED, Status.SKIPPED}
                else (Status.PARTIAL if counts.get(Status.COMPLETED) else Status.FAILED)
            )
        view = Job(
            name=job_id,
            job_id=job_id,
            state=state,
            node=None,
            clips_total=len(rows),
            clips_done=done,
            by_status=dict(counts),
            failures=tuple(failures),
            started_at=job.get("submitted_at"),
        )
        return view, slots, counts
