"""Chunked intra encoding: where a long all-intra clip is cut, and the plans of its chunks and join.

An all-intra encoder (ProRes, DNxHR) codes every frame alone, so frame-exact chunks encoded apart and
joined without re-encoding give the very packets of a single pass; the engine's join reproduces the
single pass's mux, so the file is byte-identical (tests/ffmpeg/test_chunk_bytes.py). Long-GOP targets
(H.264) stay whole: a cut forces an I-frame and changes the file.

The boundaries are a pure function of the clip (frame count and rate) and of the chunk length, never
of the worker count: every node, and every ``--max-workers``, cuts a clip the same way.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from fractions import Fraction
from typing import Any

import attrs

from ..contract.engine import ClipPlan, ClipRequest, Engine
from ..contract.errors import ProxxError, shown
from ..contract.media import FrameRate

#: the target codecs whose frames are coded alone (profiles.Profile.codec)
INTRA_CODECS = ("prores", "dnxhr")
#: chunk length in seconds of the source (rounded down to whole frames); a clip is cut only when it
#: holds at least two chunks, and its last chunk takes the rest (so no chunk is shorter than this)
CHUNK_SECONDS = 30.0
#: the node's chunk length, in seconds; 0 turns chunking off (docs/operator-guide.md)
CHUNK_SECONDS_ENV = "PROXX_CHUNK_SECONDS"


@attrs.frozen(kw_only=True)
class ChunkSpan:
    """One chunk: ``frame_count`` frames of the source from ``first_frame`` (0-based, display order)."""

    index: int  # 1-based
    first_frame: int
    frame_count: int


@attrs.frozen(kw_only=True)
class ChunkedPlan:
    """How a chunked clip is made: each chunk's plan (writing its own temp file), then the join,
    which writes the clip's temp output from the chunk files (and makes the audio, once)."""

    seconds: float
    spans: tuple[ChunkSpan, ...]
    chunks: tuple[ClipPlan, ...]
    join: ClipPlan

    @property
    def chunk_paths(self) -> tuple[str, ...]:
        return tuple(p.request.temp_path for p in self.chunks)

    def record(self) -> dict[str, Any]:
        """The ``chunks`` record of the plan and the result (docs/results.md)."""
        return {
            "seconds": self.seconds,
            "count": len(self.spans),
            "spans": [
                {"index": s.index, "first_frame": s.first_frame, "frame_count": s.frame_count} for s in self.spans
            ],
        }


def chunk_seconds(environ: dict[str, str] | None = None) -> float:
    """The node's chunk length: ``PROXX_CHUNK_SECONDS`` or CHUNK_SECONDS; 0 means never chunk."""
    value = (os.environ if environ is None else environ).get(CHUNK_SECONDS_ENV)
    if value is None or value == "":
        return CHUNK_SECONDS
    try:
        seconds = float(value)
    except ValueError:
        seconds = -1.0
    if not seconds >= 0 or seconds == float("inf"):
        raise ProxxError(
            f"{CHUNK_SECONDS_ENV}={shown(value)} is not a number of seconds; set it to a chunk "
            f"length such as 30, or 0 to never split a clip",
            category="validation",
        )
    return seconds


def chunk_frames(rate: FrameRate, seconds: float) -> int:
    """Whole frames in one chunk of ``seconds`` at ``rate`` (exact arithmetic: the same on every host)."""
    return int(Fraction(str(seconds)) * rate.fraction)


def spans(frame_count: int, rate: FrameRate, seconds: float) -> tuple[ChunkSpan, ...]:
    """The chunks of a clip of ``frame_count`` frames, or () to keep it whole (shorter than two chunks)."""
    length = chunk_frames(rate, seconds) if seconds > 0 else 0
    count = frame_count // length if length > 0 else 0
    if count < 2:
        return ()
    return tuple(
        ChunkSpan(
            index=k + 1, first_frame=k * length, frame_count=length if k < count - 1 else frame_count - k * length
        )
        for k in range(count)
    )


def chunk_temp_path(temp_path: str, span: ChunkSpan) -> str:
    """A chunk's temp file: in the clip's temp name space (the write gate's ``temp_refusal`` covers it)."""
    return f"{temp_path}.chunk{span.index:04d}"


def whole_reason(request: ClipRequest, engine: Engine) -> str | None:
    """Why this clip is never chunked, whatever its length; None if it may be."""
    if request.profile.codec not in INTRA_CODECS:
        return f"{request.profile.codec} is long-GOP: a cut would force an I-frame and change the file"
    if not callable(getattr(engine, "plan_chunk", None)) or not callable(getattr(engine, "plan_join", None)):
        return f"engine {engine.name!r} does not encode chunks (contract 1.3 plan_chunk/plan_join)"
    video = request.source_info.video
    if video is None or not video.frame_count:
        return "the source's frame count is unknown"
    if video.variable_frame_rate:
        return "the source has a variable frame rate: frame-exact cuts need evenly spaced frames"
    refusal: Callable[[ClipRequest], str | None] | None = getattr(engine, "chunk_refusal", None)
    return refusal(request) if refusal is not None else None


def plan_chunked(engine: Engine, plan: ClipPlan, seconds: float) -> ChunkedPlan | None:
    """The chunked form of ``plan``, or None when the clip stays whole. Pure, like ``engine.plan``."""
    request = plan.request
    video = request.source_info.video
    if seconds <= 0 or video is None or not video.frame_count or whole_reason(request, engine) is not None:
        return None
    cut = spans(video.frame_count, video.frame_rate, seconds)
    if not cut:
        return None
    # optional contract 1.3 methods, not on Engine: whole_reason has checked that this engine has them
    plan_chunk: Callable[..., ClipPlan] = engine.plan_chunk  # type: ignore[attr-defined]
    plan_join: Callable[..., ClipPlan] = engine.plan_join  # type: ignore[attr-defined]
    chunks = tuple(
        plan_chunk(request, s.first_frame, s.frame_count, chunk_temp_path(request.temp_path, s)) for s in cut
    )
    join = plan_join(request, tuple(c.request.temp_path for c in chunks))
    return ChunkedPlan(seconds=seconds, spans=cut, chunks=chunks, join=join)
