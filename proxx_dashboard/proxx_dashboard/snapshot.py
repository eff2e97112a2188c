"""One background thread refreshes the snapshot at most once per :data:`REFRESH_SECONDS`, whatever
the number of open pages: requests only read the last one (already rendered), so the watch folder
is read at the same rate with one page open or a hundred."""

from __future__ import annotations

import json
import threading
import time
import traceback
from collections.abc import Callable
from typing import Any

import attrs

from proxx_core import now_rfc3339

from .model import Reader, Snapshot

REFRESH_SECONDS = 1.0


@attrs.frozen
class View:
    """A snapshot and what requests serve from it, made once per refresh."""

    snapshot: Snapshot
    version: int
    fragment: str
    json: bytes


class SnapshotKeeper:
    def __init__(self, reader: Reader, render: Callable[[Snapshot], str], interval: float = REFRESH_SECONDS):
        self.reader, self.render, self.interval = reader, render, interval
        #: how many times the reader was called (benchmarks and /metrics count them)
        self.refreshes = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._view: View | None = None
        self._ready = threading.Event()

    def refresh(self) -> None:
        """Read once and publish the new view (a reader that fails keeps the last view, with the error)."""
        self.refreshes += 1
        try:
            snapshot = self.reader.read()
        except Exception as exc:  # a fault in one read must never stop the page
            previous = self._view.snapshot if self._view else Snapshot(source="", taken_at=now_rfc3339())
            snapshot = attrs.evolve(
                previous, errors=(f"reading failed: {type(exc).__name__}: {exc}", traceback.format_exc(limit=3))
            )
        data: dict[str, Any] = {"version": self.refreshes, **snapshot.to_json()}
        self._view = View(
            snapshot=snapshot,
            version=self.refreshes,
            fragment=self.render(snapshot),
            json=json.dumps(data, sort_keys=True).encode("utf-8"),
        )
        self._ready.set()

    @property
    def view(self) -> View:
        self._ready.wait()
        assert self._view is not None
        return self._view

    def _loop(self) -> None:
        while not self._stop.is_set():
            began = time.monotonic()
            self.refresh()
            self._stop.wait(max(0.0, self.interval - (time.monotonic() - began)))

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="proxx-dashboard-reader", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
