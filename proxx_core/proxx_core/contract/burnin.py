"""The ``BurnIn`` value an engine draws (``ClipRequest.burn_in``, contract 1.2): each clip's text
elements and watermark, per-clip tokens already resolved, and what {timecode} counts from. Apart
from ``burnin`` (checking the JobSpec text, resolving tokens), so the contract imports no JobSpec logic."""

from __future__ import annotations

import attrs

from .media import ZERO_TIMECODE, FrameRate


@attrs.frozen(kw_only=True)
class Segment:
    """A piece of an element's text: ``kind`` "text" (literal ``text``), "timecode" or "frame"."""

    kind: str
    text: str = ""


@attrs.frozen(kw_only=True)
class Overlay:
    """One resolved text element of one clip, ready to draw."""

    segments: tuple[Segment, ...]
    #: one of POSITIONS, or "center" for the watermark
    position: str
    #: text height as a fraction of the output frame height
    size: float
    #: 1.0 for burn-in elements (drawn on a dark box); the watermark's opacity (no box)
    opacity: float = 1.0
    boxed: bool = True


@attrs.frozen(kw_only=True)
class BurnIn:
    """Everything an engine draws on one clip, with what {timecode} counts from."""

    elements: tuple[Overlay, ...]
    watermark: Overlay | None = None
    #: the source's start timecode (00:00:00:00 when it has none); ';' marks drop-frame
    start_timecode: str = ZERO_TIMECODE
    frame_rate: FrameRate

    @property
    def drop_frame(self) -> bool:
        return ";" in self.start_timecode and timecode_base(self.frame_rate)[1] > 0

    def overlays(self) -> tuple[Overlay, ...]:
        return self.elements + ((self.watermark,) if self.watermark is not None else ())


def timecode_base(rate: FrameRate) -> tuple[int, int]:
    """(frames per timecode second, frames dropped per minute in drop-frame counting)."""
    nominal = max(1, rate.nominal)
    return nominal, (nominal // 15 if nominal % 30 == 0 else 0)
