"""Reads a watch folder into a :class:`~.model.Snapshot`, from what the watch processes already
record (docs/watch-folders.md): ``pending/`` names, each ``running/<owner>/`` folder (``owner.json``,
the live state ``owner.progress``, the claimed specs) and the results in ``completed/`` and
``failed/``. A filed result never changes, so each is parsed once (cached by its size and
modification time); a read costs a few listings plus the small live files.

Whether an owner is alive is judged exactly as recovering watchers judge it
(:func:`proxx_core.watch.owner.judge`: pid, start token, boot id) for owners of this node; another
node's owner is judged by the age of its heartbeat (the live file's ``updated_at``).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from proxx_core import (
    CHILDREN_FILE,
    FINISHING_SUFFIX,
    HEARTBEAT_SECONDS,
    OWNER_FILE,
    PROGRESS_FILE,
    Owner,
    Status,
    decisive_stderr_line,
    is_candidate_name,
    judge,
    now_rfc3339,
    read_json,
)

from .model import ALIVE, LOST, UNKNOWN, Failure, Job, Node, Slot, Snapshot
from .settings import DEFAULT_STALL_SECONDS

#: another node's owner whose heartbeat is older than this is shown lost
DEFAULT_LOST_SECONDS = 3 * HEARTBEAT_SECONDS
#: how many filed jobs the page lists (the counts and /metrics cover every one)
DEFAULT_HISTORY = 50
RESULT_SUFFIX = ".result.json"


def parse_time(text: Any) -> float | None:
    """Seconds since the epoch of an RFC 3339 time stamp, or None."""
    if not isinstance(text, str):
        return None
    try:
        return datetime.fromisoformat(text).timestamp()
    except ValueError:
        return None


def _obj(value: Any) -> dict[str, Any]:
    """A JSON object, or an empty one for anything else (files may be written by other versions)."""
    return value if isinstance(value, dict) else {}


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


class WatchFolderReader:
    """The :class:`~.model.Reader` of one watch folder. ``node``: this machine's node name as its
    watchers see it (default as `proxx watch`: ``PROXX_WATCH_NODE``, else the host name)."""

    def __init__(
        self,
        root: Path,
        *,
        node: str | None = None,
        stall_seconds: float = DEFAULT_STALL_SECONDS,
        lost_seconds: float = DEFAULT_LOST_SECONDS,
        history: int = DEFAULT_HISTORY,
        clock: Callable[[], float] = time.time,
    ):
        self.root = Path(os.path.abspath(root))
        self.me = Owner.current(node=node if node is not None else os.environ.get("PROXX_WATCH_NODE"))
        self.stall_seconds, self.lost_seconds, self.history, self.clock = stall_seconds, lost_seconds, history, clock
        self._filed: dict[str, tuple[tuple[int, int], Job, Counter[str], str | None]] = {}

    # ---------------------------------------------------------------------------- whole
    def read(self) -> Snapshot:
        started = time.perf_counter()
        now = self.clock()
        errors: list[str] = []
        pending = sum(1 for name in self._list("pending", errors) if is_candidate_name(name))
        nodes, slots, running = self._running(now, errors)
        history, filed_clips, reports = self._history(errors)
        clips: Counter[str] = Counter(filed_clips)
        for job in running:
            clips.update({k: v for k, v in job.by_status.items()})
        jobs = Counter(job.state for job in history)
        jobs.update(job.state for job in running)
        jobs["pending"] = pending
        shown = tuple(sorted(history, key=lambda j: j.finished_at or "", reverse=True)[: self.history])
        return Snapshot(
            source=str(self.root),
            taken_at=now_rfc3339(),
            nodes=tuple(nodes),
            slots=tuple(slots),
            running=tuple(running),
            pending=pending,
            history=shown,
            clips_by_status=dict(clips),
            jobs_by_state=dict(jobs),
            reports=reports,
            errors=tuple(errors),
            read_seconds=round(time.perf_counter() - started, 4),
        )

    def _list(self, sub: str, errors: list[str]) -> list[str]:
        try:
            return os.listdir(self.root / sub)
        except OSError as exc:
            errors.append(f"cannot list {self.root / sub}: {exc.strerror or exc}")
            return []

    # -------------------------------------------------------------------------- running
    def _running(self, now: float, errors: list[str]) -> tuple[list[Node], list[Slot], list[Job]]:
        nodes: list[Node] = []
        slots: list[Slot] = []
        jobs: list[Job] = []
        for entry in sorted(self._list("running", errors)):
            folder = self.root / "running" / entry
            if entry.startswith(".") or not folder.is_dir():
                continue
            owner = Owner.from_json(read_json(folder / OWNER_FILE))
            live = _obj(read_json(folder / PROGRESS_FILE))
            node = self._node(entry, owner, live, now)
            try:
                claimed = sorted(
                    n
                    for n in os.listdir(folder)
                    if not n.startswith(".")
                    and n not in (OWNER_FILE, CHILDREN_FILE, PROGRESS_FILE)
                    and not n.endswith(FINISHING_SUFFIX)
                )
            except OSError:
                continue  # filed and removed meanwhile
            live_jobs = _obj(live.get("jobs"))
            for name in claimed:
                job, job_slots = self._live_job(name, node, live_jobs.get(name), now)
                jobs.append(job)
                slots.extend(job_slots)
            nodes.append(node if node.jobs == len(claimed) else _with_jobs(node, len(claimed)))
        return nodes, slots, jobs

    def _node(self, entry: str, owner: Owner | None, live: Mapping[str, Any], now: float) -> Node:
        beat = parse_time(live.get("updated_at"))
        age = None if beat is None else round(max(0.0, now - beat), 1)
        if owner is None:
            state, reason = UNKNOWN, "no readable owner.json"
        else:
            verdict = judge(owner, self.me)
            if verdict.state == "dead":
                state, reason = LOST, verdict.reason
            elif verdict.state == "alive":
                state, reason = ALIVE, verdict.reason
            elif age is None:
                state, reason = UNKNOWN, f"{verdict.reason}; it records no heartbeat"
            elif age > self.lost_seconds:
                state, reason = LOST, f"no heartbeat for {age:.0f} s (another node: judged by its heartbeat)"
            else:
                state, reason = ALIVE, f"heartbeat {age:.0f} s ago"
        load = live.get("load")
        engines = live.get("engines")
        return Node(
            name=entry,
            node=owner.node if owner else entry.rsplit(".", 2)[0],
            pid=owner.pid if owner else None,
            state=state,
            reason=reason,
            heartbeat_age=age,
            load=tuple(x for x in load if isinstance(x, (int, float))) if isinstance(load, list) else None,
            max_workers=live.get("max_workers") if isinstance(live.get("max_workers"), int) else None,
            engines=engines if isinstance(engines, dict) else {},
            started_at=owner.started_at if owner else None,
        )

    def _live_job(self, name: str, node: Node, live: Any, now: float) -> tuple[Job, list[Slot]]:
        lost = node.state == LOST
        if not isinstance(live, dict):  # claimed, not started yet (or a watcher without a live file)
            return Job(name=name, job_id=None, state=LOST if lost else "claimed", node=node.node), []
        done = {k: v for k, v in (live.get("done") or {}).items() if isinstance(v, int)}
        slots = []
        media_running = 0.0
        for clip in live.get("running") or []:
            if not isinstance(clip, dict):
                continue
            percent = _number(clip.get("percent"))
            last = parse_time(clip.get("updated_at")) or parse_time(clip.get("started_at"))
            quiet = None if last is None else round(max(0.0, now - last), 1)
            media_running += (percent or 0.0) / 100 * (_number(clip.get("source_seconds")) or 0.0)
            slots.append(
                Slot(
                    node=node.node,
                    job=name,
                    index=int(clip.get("index") or 0),
                    file=str(clip.get("file")),
                    percent=percent,
                    fps=_number(clip.get("fps")),
                    speed=_number(clip.get("speed")),
                    eta_seconds=None if lost else _number(clip.get("eta_seconds")),
                    quiet_seconds=quiet,
                    stalled=not lost and quiet is not None and quiet > self.stall_seconds,
                    lost=lost,
                )
            )
        total = _number(live.get("source_seconds"))
        done_seconds = (_number(live.get("done_seconds")) or 0.0) + media_running
        began = parse_time(live.get("started_at"))
        eta = None
        if not lost and total and began is not None and done_seconds > 0 and now > began:
            eta = round(max(0.0, (total - done_seconds) * (now - began) / done_seconds), 1)
        by_status = dict(done)
        if slots:
            by_status[LOST.upper() if lost else "RUNNING"] = len(slots)
        failures = tuple(
            Failure(index=int(f.get("index") or 0), file=str(f.get("file")), category=str(f.get("category")))
            for f in live.get("failures") or []
            if isinstance(f, dict)
        )
        return Job(
            name=name,
            job_id=live.get("job_id"),
            state=LOST if lost else "running",
            node=node.node,
            clips_total=int(live.get("clips") or 0),
            clips_done=sum(done.values()),
            by_status=by_status,
            source_seconds=total,
            source_seconds_done=round(done_seconds, 1),
            eta_seconds=eta,
            failures=failures,
            started_at=live.get("started_at"),
        ), slots

    # -------------------------------------------------------------------------- history
    def _history(self, errors: list[str]) -> tuple[list[Job], Counter[str], dict[str, str]]:
        jobs: list[Job] = []
        clips: Counter[str] = Counter()
        reports: dict[str, str] = {}
        seen = set()
        for sub in ("completed", "failed"):
            for entry in self._scan(sub, errors):
                if not entry.name.endswith(RESULT_SUFFIX) or entry.name.startswith("."):
                    continue
                rel = f"{sub}/{entry.name}"
                seen.add(rel)
                try:
                    st = entry.stat()
                except OSError:
                    continue
                sig = (st.st_mtime_ns, st.st_size)
                cached = self._filed.get(rel)
                if cached is None or cached[0] != sig:
                    cached = (sig, *summarise(rel, read_json(Path(entry.path)), st.st_mtime))
                    self._filed[rel] = cached
                _, job, counts, report = cached
                jobs.append(job)
                clips.update(counts)
                if report:
                    reports[rel] = report
        for gone in set(self._filed) - seen:
            del self._filed[gone]
        return jobs, clips, reports

    def _scan(self, sub: str, errors: list[str]) -> Iterable[os.DirEntry[str]]:
        try:
            with os.scandir(self.root / sub) as it:
                return list(it)
        except OSError as exc:
            errors.append(f"cannot list {self.root / sub}: {exc.strerror or exc}")
            return []


def _with_jobs(node: Node, jobs: int) -> Node:
    import attrs

    return attrs.evolve(node, jobs=jobs)


def summarise(rel: str, data: Any, mtime: float) -> tuple[Job, Counter[str], str | None]:
    """One filed result as a history row, its clips by status, and its HTML report's path."""
    name = rel.split("/", 1)[1][: -len(RESULT_SUFFIX)] + ".json"
    if not isinstance(data, dict):
        return Job(name=name, job_id=None, state="UNREADABLE", result=rel), Counter(), None
    clips = [c for c in data.get("clips") or [] if isinstance(c, dict)]
    counts = Counter(str(c.get("status")) for c in clips)
    failures = [_failure(c) for c in clips if isinstance(c.get("failure"), dict)]
    for problem in data.get("problems") or []:
        if isinstance(problem, dict):
            failures.append(
                Failure(
                    index=0,
                    file=str(problem.get("path") or "/"),
                    category=str(problem.get("category")),
                    message=str(problem.get("message")),
                )
            )
    timing = _obj(data.get("timing"))
    watch = _obj(timing.get("watch"))
    owner = _obj(watch.get("owner"))
    seconds = [_number(_obj(_obj(c.get("source")).get("info")).get("duration_seconds")) for c in clips]
    total = round(sum(s for s in seconds if s), 3)
    made = (Status.COMPLETED, Status.SKIPPED)
    done = round(sum(s for s, c in zip(seconds, clips, strict=True) if s and c.get("status") in made), 3)
    report = next(
        (
            d["path"]
            for d in data.get("deliverables") or []
            if isinstance(d, dict)
            and d.get("name") == "report"
            and isinstance(d.get("path"), str)
            and d["path"].endswith(".html")
            and d.get("sha256")
        ),
        None,
    )
    finished = timing.get("finished_at") or watch.get("recovered_at") or datetime.fromtimestamp(mtime).isoformat()
    job = Job(
        name=name,
        job_id=data.get("job_id"),
        state=str(data.get("status")),
        node=owner.get("node"),
        clips_total=len(clips),
        clips_done=len(clips),
        by_status=dict(counts),
        source_seconds=total,
        source_seconds_done=done,
        failures=tuple(failures),
        started_at=timing.get("started_at"),
        finished_at=str(finished),
        seconds=_number(timing.get("seconds")),
        result=rel,
        report_url=f"report/{rel}" if report else None,
    )
    return job, counts, report


def _failure(clip: Mapping[str, Any]) -> Failure:
    failure = clip["failure"]
    commands = [c for c in clip.get("commands") or [] if isinstance(c, dict) and c.get("stderr_tail")]
    failed = [c for c in commands if c.get("exit_code") not in (0, None)] or commands
    line = decisive_stderr_line(str(failed[-1]["stderr_tail"])) if failed else None
    source = _obj(clip.get("source"))
    return Failure(
        index=int(clip.get("index") or 0),
        file=Path(str(source.get("path") or "")).name,
        category=str(failure.get("category")),
        message=str(failure.get("message") or ""),
        stderr_line=line,
    )
