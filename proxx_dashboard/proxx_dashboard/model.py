"""What a status page shows, as plain frozen values: a :class:`Snapshot` of nodes, worker slots,
jobs and recent history. A :class:`Reader` makes one from what a watch folder (or a fleet) records;
the page, the JSON and ``/metrics`` only read snapshots, never the disk."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import Any, Protocol

import attrs

#: node states: the process runs, is gone (its jobs are lost until recovered), or cannot be judged
ALIVE, LOST, UNKNOWN = "alive", "lost", "unknown"


@attrs.frozen(kw_only=True)
class Slot:
    """One clip being encoded now (a worker slot in use)."""

    node: str
    job: str
    index: int
    file: str
    percent: float | None = None
    fps: float | None = None
    speed: float | None = None  # × real time
    eta_seconds: float | None = None
    #: seconds since its last progress sample (or its start)
    quiet_seconds: float | None = None
    stalled: bool = False
    lost: bool = False


@attrs.frozen(kw_only=True)
class Node:
    """One watch process (or fleet worker): who it is, whether it lives, what it has."""

    name: str  # the owner folder (watch) or node name (fleet)
    node: str
    pid: int | None
    state: str
    reason: str
    heartbeat_age: float | None = None
    load: tuple[float, ...] | None = None
    max_workers: int | None = None
    engines: dict[str, dict[str, Any]] = attrs.field(factory=dict)
    started_at: str | None = None
    jobs: int = 0
    #: fleet workers: the node config's allowed roots (sources, looks, outputs), when it sets any
    allowed: dict[str, Any] = attrs.field(factory=dict)


@attrs.frozen(kw_only=True)
class Failure:
    index: int
    file: str
    category: str
    message: str = ""
    stderr_line: str | None = None


@attrs.frozen(kw_only=True)
class Job:
    """A job in running/ (with live counts) or filed in completed/ or failed/ (history)."""

    name: str  # the spec's file name
    job_id: str | None
    state: str  # running, lost, or the result's status (COMPLETED, PARTIAL, FAILED)
    node: str | None = None
    clips_total: int = 0
    clips_done: int = 0
    by_status: dict[str, int] = attrs.field(factory=dict)
    source_seconds: float | None = None
    source_seconds_done: float | None = None
    eta_seconds: float | None = None
    failures: tuple[Failure, ...] = ()
    started_at: str | None = None
    finished_at: str | None = None
    seconds: float | None = None
    #: the result file (history only), relative to the folder, and the report's URL if the job made one
    result: str | None = None
    report_url: str | None = None

    @property
    def source_seconds_left(self) -> float | None:
        if self.source_seconds is None or self.source_seconds_done is None:
            return None
        return max(0.0, self.source_seconds - self.source_seconds_done)


@attrs.frozen(kw_only=True)
class Snapshot:
    """Everything one page shows, read at ``taken_at`` (RFC 3339) in ``read_seconds``."""

    source: str
    taken_at: str
    read_seconds: float = 0.0
    nodes: tuple[Node, ...] = ()
    slots: tuple[Slot, ...] = ()
    running: tuple[Job, ...] = ()
    pending: int = 0
    history: tuple[Job, ...] = ()
    #: every clip of every known job (filed and running) by status, running clips as RUNNING
    clips_by_status: dict[str, int] = attrs.field(factory=dict)
    jobs_by_state: dict[str, int] = attrs.field(factory=dict)
    #: files behind report links: URL key -> absolute path (never shown, only served)
    reports: dict[str, str] = attrs.field(factory=dict)
    errors: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        data = attrs.asdict(self, recurse=True)
        data.pop("reports")
        for key in ("running", "history"):
            for job, obj in zip(data[key], getattr(self, key), strict=True):
                job["source_seconds_left"] = obj.source_seconds_left
        return data


class Reader(Protocol):
    """Makes a snapshot from what a watch folder or a fleet records. Called by one thread only."""

    def read(self) -> Snapshot: ...


def _summed(dicts: Sequence[dict[str, int]]) -> dict[str, int]:
    total: Counter[str] = Counter()
    for d in dicts:
        total.update(d)
    return dict(total)


def merge(snapshots: Sequence[Snapshot]) -> Snapshot:
    """One page for a watch folder and a fleet: everything side by side, counts added."""
    if len(snapshots) == 1:
        return snapshots[0]
    return Snapshot(
        source=" + ".join(s.source for s in snapshots),
        taken_at=max(s.taken_at for s in snapshots),
        read_seconds=round(sum(s.read_seconds for s in snapshots), 4),
        nodes=tuple(n for s in snapshots for n in s.nodes),
        slots=tuple(c for s in snapshots for c in s.slots),
        running=tuple(j for s in snapshots for j in s.running),
        pending=sum(s.pending for s in snapshots),
        history=tuple(
            sorted((j for s in snapshots for j in s.history), key=lambda j: j.finished_at or "", reverse=True)
        ),
        clips_by_status=_summed([s.clips_by_status for s in snapshots]),
        jobs_by_state=_summed([s.jobs_by_state for s in snapshots]),
        reports={k: v for s in snapshots for k, v in s.reports.items()},
        errors=tuple(e for s in snapshots for e in s.errors),
    )


class Combined:
    """Several readers as one (a watch folder and a fleet on one page)."""

    def __init__(self, readers: Sequence[Reader]):
        self.readers = tuple(readers)

    def read(self) -> Snapshot:
        return merge([r.read() for r in self.readers])
