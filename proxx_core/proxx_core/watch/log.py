"""The watch folder's log: one greppable ``key=value`` line per state change (docs/watch-folders.md,
"Logs"). Values with spaces, quotes or ``=`` are JSON-quoted, so every line splits the same way."""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Hashable
from typing import Any, TextIO

from ..io.clock import now_rfc3339


def quote(value: Any) -> str:
    """A log value: bare when safe, else JSON-quoted (ASCII-escaped when not UTF-8, e.g. a bad file name)."""
    text = "" if value is None else str(value)
    if text and not any(c.isspace() or c in '"=\\' or not c.isprintable() for c in text):
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a file name that is not UTF-8: keep the log line writable
        return json.dumps(text, ensure_ascii=True)
    return json.dumps(text, ensure_ascii=False)


class WatchLog:
    """Writes ``<time> proxx-watch event=<event> [job=<name>] node=<node> pid=<pid> k=v ...`` lines."""

    def __init__(self, node: str, pid: int, stream: TextIO | None = None):
        self.node = node
        self.pid = pid
        self.stream = stream
        self._lock = threading.RLock()  # re-entrant: a signal handler may log while a line is written
        self._noted: set[Hashable] = set()

    def __call__(self, event: str, **fields: Any) -> None:
        parts = [now_rfc3339(), "proxx-watch", f"event={event}"]
        job = fields.pop("job", None)
        if job is not None:
            parts.append(f"job={quote(job)}")
        parts += [f"node={quote(self.node)}", f"pid={self.pid}"]
        parts += [f"{k}={quote(v)}" for k, v in fields.items() if v is not None]
        line = " ".join(parts) + "\n"
        stream = self.stream or sys.stderr
        with self._lock:
            try:
                stream.write(line)
                stream.flush()
            except (OSError, ValueError):
                pass

    def once(self, key: Hashable, event: str, **fields: Any) -> None:
        """Log ``event`` only the first time ``key`` is seen (e.g. once per file version)."""
        with self._lock:
            if key in self._noted:
                return
            self._noted.add(key)
        self(event, **fields)


#: a running clip's progress is logged at most this often (start and done are always logged)
PROGRESS_LOG_SECONDS = 5.0


class ProgressLog:
    """Logs a job's ProgressEvents (proxx_core.contract.progress) as ``event=clip_start|clip_progress|clip_done``
    lines with the same fields `proxx run --progress=jsonl` writes; progress at most every
    :data:`PROGRESS_LOG_SECONDS` per clip, so a long encode does not flood the log."""

    def __init__(self, log: WatchLog, job: str, clock: Any = None):
        import time

        self.log, self.job, self.clock = log, job, clock or time.monotonic
        self._last: dict[int, float] = {}
        self._lock = threading.Lock()

    def __call__(self, event: Any) -> None:
        from pathlib import Path

        if event.event == "progress":
            now = self.clock()
            with self._lock:
                last = self._last.get(event.index)
                if last is not None and now - last < PROGRESS_LOG_SECONDS:
                    return
                self._last[event.index] = now
        fields = {k: v for k, v in event.to_json().items() if k not in ("event", "index", "source", "output")}
        self.log(f"clip_{event.event}", job=self.job, clip=event.index, file=Path(event.source).name, **fields)
