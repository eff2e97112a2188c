"""Progress displays for `proxx run`, fed ProgressEvents by the runner (proxx_core.contract.progress).

* ``terminal`` (default when stderr is a terminal): one live line per running clip (file name,
  bar, percent, fps, speed, ETA) under a job line ``clips m/n``; a finished clip prints a line
  naming its file and status. With ``--max-workers N`` all N running clips are shown.
* ``jsonl``: one JSON object per event on stderr, for MAMs and GUIs (docs/operator-guide.md).
* ``none``: nothing.

stdout is never touched: it carries the result JSON only.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any, TextIO

from proxx_core.contract.progress import DONE, PROGRESS, START, JobEta, ProgressEvent, format_eta

MODES = ("auto", "terminal", "jsonl", "none")


def make_display(mode: str, total: int, stream: TextIO | None = None, durations: dict[int, float | None] | None = None):
    """The display for ``--progress MODE`` (``auto``: terminal if stderr is one, else none).
    ``durations``: each clip's source duration by index, for the job's overall ETA."""
    stream = stream or sys.stderr
    if mode == "auto":
        mode = "terminal" if stream.isatty() else "none"
    if mode == "terminal":
        return TerminalProgress(total, stream, durations)
    if mode == "jsonl":
        return JsonlProgress(stream)
    return NoProgress()


class NoProgress:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return None

    def __call__(self, event: ProgressEvent) -> None:
        return None


class JsonlProgress(NoProgress):
    """One JSON object per line: ``{"event": "start"|"progress"|"done", "index", "file", ...}``."""

    def __init__(self, stream: TextIO):
        self.stream = stream
        self._lock = threading.Lock()

    def __call__(self, event: ProgressEvent) -> None:
        line = json.dumps(event_record(event), ensure_ascii=False, separators=(",", ":"))
        with self._lock:
            self.stream.write(line + "\n")
            self.stream.flush()


def event_record(event: ProgressEvent) -> dict:
    """The JSON-lines record of an event: ``file`` (the source's file name) first, then the rest."""
    return {
        "event": event.event,
        "index": event.index,
        "file": Path(event.source).name,
        **{k: v for k, v in event.to_json().items() if k not in ("event", "index")},
    }


class TerminalProgress(NoProgress):
    """rich Progress: a job line, and one line per running clip, removed when the clip finishes."""

    def __init__(self, total: int, stream: TextIO, durations: dict[int, float | None] | None = None):
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn

        self._lock = threading.Lock()
        self.console = Console(file=stream, highlight=False)
        self.progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(bar_width=24),
            TextColumn("{task.fields[detail]}"),
            console=self.console,
            transient=False,
            refresh_per_second=4,
        )
        self.job = self.progress.add_task("clips", total=total, detail=f"0/{total}")
        self.total, self.finished = total, 0
        self.eta = JobEta(durations or {})
        self.tasks: dict[int, Any] = {}  # clip index -> rich TaskID

    def __enter__(self):
        self.progress.start()
        return self

    def __exit__(self, *exc):
        self.progress.stop()

    def __call__(self, event: ProgressEvent) -> None:
        name = Path(event.source).name
        with self._lock:
            self.eta.update(event)
            if event.event in (PROGRESS, DONE):
                self.progress.update(self.job, detail=self._job_detail())
            if event.event == START:
                self.tasks[event.index] = self.progress.add_task(
                    f"clip {event.index} {name}", total=100, detail="starting"
                )
            elif event.event == PROGRESS and event.index in self.tasks:
                self.progress.update(self.tasks[event.index], completed=event.percent or 0, detail=clip_detail(event))
            elif event.event == DONE:
                task = self.tasks.pop(event.index, None)
                if task is not None:
                    self.progress.remove_task(task)
                self.finished += 1
                self.progress.update(self.job, completed=self.finished, detail=self._job_detail())
                status = (event.status or "?") + (f" ({event.category})" if event.category else "")
                self.progress.console.print(
                    f"clip {event.index}: {status}  {name} -> {Path(event.output).name}", markup=False
                )

    def _job_detail(self) -> str:
        """``1/5  0:42 of 3:10 media  ETA 2:31``"""
        media = (
            f"  {format_eta(self.eta.media_done)} of {format_eta(self.eta.total)} media" if self.eta.durations else ""
        )
        return f"{self.finished}/{self.total}{media}  ETA {format_eta(self.eta.eta_seconds)}"


def clip_detail(event: ProgressEvent) -> str:
    """``42.0%  118 fps  4.93x  ETA 0:07`` (unknown values shown as ``-``)."""
    pct = "-" if event.percent is None else f"{event.percent:5.1f}%"
    fps = "-" if event.fps is None else f"{event.fps:.0f}"
    speed = "-" if event.speed is None else f"{event.speed:.2f}x"
    return f"{pct}  {fps} fps  {speed}  ETA {format_eta(event.eta_seconds)}"
