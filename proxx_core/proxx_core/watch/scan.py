"""Settle and scan ``pending/``: which names are candidates, which names can carry a result, and
when a file is complete enough to take.

Cost per job is constant whatever the queue length: :class:`PendingQueue` keeps every pending name
in memory, fed by filesystem events and a periodic listing, and re-checks a name only when its stat
signature changes. A finished job never causes a rescan.

**Settled** (the stability rule, docs/watch-folders.md "Dropping jobs safely"): a file renamed into
``pending/`` (a filesystem event says so) is complete by the drop protocol and is ready at once; any
other file is ready once its signature was unchanged across two looks at least ``stable_seconds``
apart (this process's monotonic clock, never file times). Either way it must then parse as JSON
(checked when it is taken), or be unchanged for the invalid-JSON grace period.
"""

from __future__ import annotations

import heapq
import os
import stat
import threading
from collections import Counter
from pathlib import Path

import attrs

from .log import WatchLog

#: a pending file whose name is longer (UTF-8 bytes) or not UTF-8 is set aside, never run: its result's
#: name and the temporary names beside it must fit the usual 255-byte file-name limit
MAX_SPEC_NAME_BYTES = 200

Signature = tuple[int, int, int, int]


def is_candidate_name(name: str) -> bool:
    """A pending file Proxx considers: ``*.json``, not a result, not hidden or an editor temp."""
    return (
        name.endswith(".json")
        and not name.endswith(".result.json")
        and not name.startswith((".", "~"))
        and len(name) > len(".json")
    )


def bad_name_reason(name: str) -> str | None:
    """Why a job file's name cannot be used for its result (so the job is set aside), or None."""
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "has a name that is not UTF-8 text"
    if size > MAX_SPEC_NAME_BYTES:
        return (
            f"has a name {size} bytes long; the limit is {MAX_SPEC_NAME_BYTES} bytes, so that "
            f"<name>.result.json fits the file system's name limit"
        )
    return None


def signature(st: os.stat_result) -> Signature:
    """What must stay the same for a file to count as unchanged: device, inode, size, mtime."""
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


@attrs.define
class Entry:
    """What this process knows about one pending name."""

    sig: Signature
    #: monotonic time this version (signature) was first seen
    since: float
    #: settling (waiting for its second look) | ready (to take when a slot is free) | waiting (not
    #: JSON yet: looked at again when the grace is over) | left (needs an engine this node lacks) |
    #: ignored (not a regular file); the last two are looked at again only when the file changes.
    #: taking (being checked and claimed now) | blocked (a job of that name runs here).
    state: str = "settling"
    #: the invalid-JSON grace is over: take it even if it does not parse (it is filed as invalid)
    grace_over: bool = False


class PendingQueue:
    """Every pending candidate in memory, ready names in name order.

    ``checks`` counts the file checks (``lstat``) and listings it makes, for benchmarks and tests.
    Thread-safe only for :meth:`touch` (called from the filesystem-event thread).
    """

    def __init__(self, pending: Path, log: WatchLog, *, stable_seconds: float, invalid_grace_seconds: float):
        self.pending = pending
        self.log = log
        self.stable_seconds = stable_seconds
        self.invalid_grace_seconds = invalid_grace_seconds
        self.entries: dict[str, Entry] = {}
        self.checks: Counter[str] = Counter()
        self._ready: list[str] = []  # heap of names (stale items are skipped when popped)
        self._timers: list[tuple[float, str]] = []  # heap of (due, name): second looks, grace ends
        self._touched: dict[str, bool] = {}  # name -> renamed into pending/ (from events)
        self._touch_lock = threading.Lock()
        self._states: Counter[str] = Counter()  # entries per state, so busy() costs O(1)

    def _set(self, entry: Entry, state: str) -> None:
        self._states[entry.state] -= 1
        entry.state = state
        self._states[state] += 1

    def _add(self, name: str, entry: Entry) -> None:
        self._drop(name)
        self.entries[name] = entry
        self._states[entry.state] += 1

    def _drop(self, name: str) -> None:
        entry = self.entries.pop(name, None)
        if entry is not None:
            self._states[entry.state] -= 1

    # -------------------------------------------------------------------- feeding
    def touch(self, name: str, moved: bool = False) -> None:
        """A filesystem event named ``name`` (``moved``: it was renamed into pending/)."""
        with self._touch_lock:
            self._touched[name] = self._touched.get(name, False) or moved

    def refresh(self, now: float) -> bool:
        """The periodic listing: new names are looked at, gone names forgotten; names already
        known are looked at again only where a change matters and no event may come (waiting,
        left, ignored). Returns False when pending/ cannot be listed."""
        try:
            with os.scandir(self.pending) as it:
                names = {e.name for e in it if is_candidate_name(e.name)}
        except OSError as exc:
            self.log.once(
                ("scan_error", str(exc)), "error", reason=f"cannot list {self.pending}: {exc.strerror or exc}"
            )
            return False
        self.checks["listings"] += 1
        self.checks["listed"] += len(names)
        for gone in [n for n in self.entries if n not in names]:
            self._drop(gone)
        for name in sorted(names):
            entry = self.entries.get(name)
            if entry is None or entry.state in ("waiting", "left", "ignored"):
                self.look(name, now)
            elif entry.state == "blocked":
                self._make_ready(name, entry)
        return True

    def process(self, now: float) -> None:
        """Look at the names events touched, and at the names whose second look is due."""
        with self._touch_lock:
            touched, self._touched = self._touched, {}
        for name, moved in touched.items():
            if is_candidate_name(name):
                self.look(name, now, moved=moved)
        while self._timers and self._timers[0][0] <= now:
            _, name = heapq.heappop(self._timers)
            entry = self.entries.get(name)
            if entry is None:
                continue
            if entry.state == "settling" and now - entry.since >= self.stable_seconds:
                if self.look(name, now) is entry:  # unchanged across two looks: settled
                    self._make_ready(name, entry)
            elif entry.state == "waiting" and now - entry.since >= self.invalid_grace_seconds:
                if self.look(name, now) is entry:
                    entry.grace_over = True
                    self._make_ready(name, entry)

    def look(self, name: str, now: float, moved: bool = False) -> Entry | None:
        """lstat one name and record what changed; returns its entry (a new one if it changed)."""
        self.checks["lstat"] += 1
        try:
            st = os.lstat(self.pending / name)
        except OSError:
            self._drop(name)
            return None
        sig = signature(st)
        entry = self.entries.get(name)
        if entry is not None and entry.sig == sig:
            if moved and entry.state == "settling":
                self._make_ready(name, entry)
            return entry
        entry = Entry(sig=sig, since=now)
        self._add(name, entry)
        if not stat.S_ISREG(st.st_mode):
            self._set(entry, "ignored")
            self.log.once(
                ("notfile", name, sig),
                "ignored",
                job=name,
                reason="not a regular file (symlinks and folders are not taken)",
            )
        elif moved:
            self._make_ready(name, entry)  # renamed into pending/: complete by the drop protocol
        else:
            heapq.heappush(self._timers, (now + self.stable_seconds, name))
        return entry

    # ------------------------------------------------------------------- taking
    def _make_ready(self, name: str, entry: Entry) -> None:
        self._set(entry, "ready")
        heapq.heappush(self._ready, name)

    def pop_ready(self) -> tuple[str, Entry] | None:
        """The first ready name in name order (it stays known until it is taken or parked)."""
        while self._ready:
            name = heapq.heappop(self._ready)
            entry = self.entries.get(name)
            if entry is not None and entry.state == "ready":
                self._set(entry, "taking")
                return name, entry
        return None

    def requeue(self, name: str) -> None:
        """Put a name back at once (it could not be taken yet: no free slot)."""
        entry = self.entries.get(name)
        if entry is not None and entry.state in ("taking", "blocked"):
            self._make_ready(name, entry)

    def block(self, name: str, entry: Entry) -> None:
        """A job of the same name runs here: requeued when it finishes (or at the next listing)."""
        self._set(entry, "blocked")

    def wait_for_writer(self, name: str, entry: Entry) -> None:
        """Not JSON yet: look again when the grace is over (or when it changes)."""
        self._set(entry, "waiting")
        heapq.heappush(self._timers, (entry.since + self.invalid_grace_seconds, name))

    def park(self, name: str, entry: Entry) -> None:
        """Needs an engine this node lacks: left alone until the file changes."""
        self._set(entry, "left")

    def forget(self, name: str) -> None:
        self._drop(name)

    # ---------------------------------------------------------------- questions
    def busy(self) -> bool:
        """Some name may still be taken later (settling, ready, waiting): ``--once`` keeps going."""
        return any(self._states[s] > 0 for s in ("settling", "ready", "waiting", "taking", "blocked"))

    def next_due(self) -> float | None:
        return self._timers[0][0] if self._timers else None
