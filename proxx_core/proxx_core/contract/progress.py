"""Live progress of running clips: what an engine reports while it encodes, and the events the
runner hands to a display (a terminal, a JSON-lines stream, the watch folder's log).

Progress never touches what is made: it is read from a side channel (FFmpeg's ``-progress``
stream on the encoder's stdout), so output bytes, plans and results are the same with or without
anyone listening. An engine opts in by accepting a ``progress`` keyword in ``execute``
(engine contract 1.1, optional); :func:`accepts_progress` detects it.
"""

from __future__ import annotations

import inspect
import math
import time
from collections.abc import Callable
from typing import Any

import attrs

#: event kinds, in the order a clip produces them
START, PROGRESS, DONE = "start", "progress", "done"


@attrs.frozen(kw_only=True)
class ClipProgress:
    """One progress sample of one clip, as an engine reports it. Any field may be unknown (None)."""

    #: share of the clip made, 0.0 to 1.0
    fraction: float | None = None
    #: frames written so far
    frame: int | None = None
    #: encoding rate, frames per second
    fps: float | None = None
    #: media seconds made per wall-clock second (2.0 = twice real time)
    speed: float | None = None
    #: the engine's last sample for this command (FFmpeg's ``progress=end``)
    final: bool = False

    @classmethod
    def from_ffmpeg(cls, block: dict[str, str], *, frames: int | None, seconds: float | None) -> ClipProgress:
        """Read one ``key=value`` block of FFmpeg's ``-progress`` stream. ``frames``/``seconds``: the
        source's frame count and duration, whichever is known (frames preferred: exact)."""
        frame = _number(block.get("frame"), int)
        out_us = _number(block.get("out_time_us"), int)
        fraction = None
        if frames and frame is not None:
            fraction = frame / frames
        elif seconds and out_us is not None and out_us >= 0:
            fraction = out_us / 1e6 / seconds
        final = block.get("progress") == "end"
        if final:
            fraction = 1.0
        speed_text = (block.get("speed") or "").strip().rstrip("x")
        return cls(
            fraction=None if fraction is None else max(0.0, min(1.0, fraction)),
            frame=frame,
            fps=_number(block.get("fps"), float) or None,
            speed=_number(speed_text, float) or None,
            final=final,
        )


def _number(text: str | None, kind: type) -> Any:
    if text is None:
        return None
    try:
        value = kind(text.strip())
    except ValueError:
        return None
    return None if isinstance(value, float) and math.isnan(value) else value  # NaN is unknown


@attrs.frozen(kw_only=True)
class ProgressEvent:
    """What a display receives: ``start`` when a clip begins, ``progress`` samples while it runs,
    ``done`` with its status. ``index`` is the clip's 1-based position in the job."""

    event: str
    index: int
    source: str
    output: str
    #: ``progress`` events: the share made (0-100), the engine's fps and speed, and the time left
    percent: float | None = None
    fps: float | None = None
    speed: float | None = None
    eta_seconds: float | None = None
    #: ``done`` events: the clip's status (COMPLETED, SKIPPED, FAILED) and failure category
    status: str | None = None
    category: str | None = None

    def to_json(self) -> dict[str, Any]:
        """The JSON-lines form (docs/operator-guide.md, "Progress"); unknown values are left out."""
        return {k: v for k, v in attrs.asdict(self).items() if v is not None}


EventFn = Callable[[ProgressEvent], None]
#: what an engine's ``execute(plan, cancel, progress=...)`` is given
SampleFn = Callable[[ClipProgress], None]


class ClipTracker:
    """Turns one clip's engine samples into ``progress`` events with an ETA (from the wall time
    spent so far and the share made, so it needs no speed from the engine)."""

    def __init__(
        self, index: int, source: str, output: str, emit: EventFn, clock: Callable[[], float] = time.monotonic
    ):
        self.index, self.source, self.output, self.emit, self.clock = index, source, output, emit, clock
        self.started = clock()

    def __call__(self, sample: ClipProgress) -> None:
        eta = None
        elapsed = self.clock() - self.started
        if sample.fraction is not None and sample.fraction > 0:
            eta = max(0.0, elapsed * (1 - sample.fraction) / sample.fraction)
        percent = None if sample.fraction is None else round(100 * sample.fraction, 1)
        safe_emit(
            self.emit,
            ProgressEvent(
                event=PROGRESS,
                index=self.index,
                source=self.source,
                output=self.output,
                percent=percent,
                fps=None if sample.fps is None else round(sample.fps, 2),
                speed=None if sample.speed is None else round(sample.speed, 3),
                eta_seconds=None if eta is None else round(eta, 1),
            ),
        )


def safe_emit(emit: EventFn | None, event: ProgressEvent) -> None:
    """Deliver an event; a display that fails must never fail the clip."""
    if emit is None:
        return
    try:
        emit(event)
    except Exception:
        pass


def accepts_progress(execute: Callable[..., Any]) -> bool:
    """Whether an engine's ``execute`` takes a ``progress`` keyword (or ``**kwargs``)."""
    try:
        params = inspect.signature(execute).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(
        p.name == "progress" and p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY) or p.kind is p.VAR_KEYWORD
        for p in params
    )


def format_eta(seconds: float | None) -> str:
    """``1:05`` / ``1:02:03``; ``-:--`` when unknown."""
    if seconds is None:
        return "-:--"
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


class JobEta:
    """The whole job's progress and time left, weighted by each clip's source duration (a 40-minute
    interview counts for more than a 5-second insert): media done is every finished clip's duration
    plus each running clip's share of its own; the rate is media done over wall time so far."""

    def __init__(self, durations: dict[int, float | None], clock: Callable[[], float] = time.monotonic):
        known = [d for d in durations.values() if d]
        fallback = sum(known) / len(known) if known else 1.0  # an unknown duration counts as an average clip
        self.durations = {i: (d if d else fallback) for i, d in durations.items()}
        self.total = sum(self.durations.values())
        self.fraction: dict[int, float] = {}
        self.clock = clock
        self.started = clock()

    def update(self, event: ProgressEvent) -> None:
        if event.index not in self.durations:
            return
        if event.event == DONE:
            self.fraction[event.index] = 1.0
        elif event.event == PROGRESS and event.percent is not None:
            self.fraction[event.index] = max(0.0, min(1.0, event.percent / 100))

    @property
    def media_done(self) -> float:
        return sum(self.durations[i] * f for i, f in self.fraction.items())

    @property
    def eta_seconds(self) -> float | None:
        done, elapsed = self.media_done, self.clock() - self.started
        if done <= 0 or elapsed <= 0:
            return None
        return max(0.0, (self.total - done) * elapsed / done)
