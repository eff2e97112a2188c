"""Poster frames and contact sheets, decoded from the verified proxy with PyAV and encoded as JPEG
data: URIs with fixed settings, so the same proxy gives the same bytes.

The frames are chosen by index (the 6 contact frames spread evenly from the first to the last
frame; the poster is the one of them nearest the middle) and found by seeking to the keyframe at or
before each and decoding forward: exact for intra-frame proxies (ProRes, DNxHR) and long-GOP ones
(H.264) alike, and independent of the clip's length. Each decoder runs on one thread (the sink
works on two clips at once): a report is made while the node may still be encoding.
"""

from __future__ import annotations

import base64
import io
from collections.abc import Iterable
from fractions import Fraction
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from PIL import Image

CONTACT_FRAMES = 6
POSTER_WIDTH = 384
CONTACT_WIDTH = 160
#: fixed JPEG settings (baseline, 4:2:0, no optimisation pass, no metadata): deterministic bytes
JPEG_OPTIONS = {"quality": 80, "subsampling": 2, "optimize": False, "progressive": False}


@attrs.frozen(kw_only=True)
class Thumb:
    frame: int
    uri: str
    width: int
    height: int


@attrs.frozen(kw_only=True)
class Thumbnails:
    poster: Thumb | None
    sheet: tuple[Thumb, ...]
    #: why there are none ("no verified proxy", a decode error), else None
    note: str | None = None


def contact_indices(frames: int, count: int = CONTACT_FRAMES) -> list[int]:
    """``count`` frame indices from the first to the last frame, evenly spread, without repeats."""
    if frames <= 0:
        return []
    if frames <= count:
        return list(range(frames))
    return sorted({round(k * (frames - 1) / (count - 1)) for k in range(count)})


def poster_index(frames: int) -> int:
    """The contact frame nearest the middle (no extra decode: it is one of the sheet's frames)."""
    indices = contact_indices(frames)
    return indices[len(indices) // 2] if indices else 0


def jpeg_uri(image: Image.Image) -> str:
    buf = io.BytesIO()
    image.save(buf, "JPEG", **JPEG_OPTIONS)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _scaled(frame, width: int):
    """The frame as RGB at ``width`` (height by the frame's display aspect, even), as a PIL image."""
    sar = frame.sample_aspect_ratio if getattr(frame, "sample_aspect_ratio", None) else Fraction(1)
    display = Fraction(frame.width) * Fraction(sar) / frame.height
    height = max(2, round(width / display / 2) * 2)
    return frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_image()


def decode_frames(path: str, wanted: Iterable[int], rate: Fraction) -> dict[int, object]:
    """The frames at the given 0-based indices (the nearest decodable one when an index is past the
    end), as PyAV VideoFrames."""
    import av

    found: dict[int, object] = {}
    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        base = stream.time_base
        if base is None:
            raise ValueError(f"{path}: the video stream has no time base")
        start = stream.start_time or 0
        for target in sorted(set(wanted)):
            offset = start + int(Fraction(target) / rate / base)
            container.seek(offset, stream=stream, backward=True, any_frame=False)
            last = None
            for frame in container.decode(stream):
                last = frame
                index = round((Fraction(frame.pts - start) * base) * rate) if frame.pts is not None else target
                if index >= target:
                    break
            if last is not None:
                found[target] = last
    return found


def thumbnails(path: str | None, frames: int, rate: Fraction | None) -> Thumbnails:
    """Poster and contact sheet of the proxy at ``path``; with a note instead when there is no
    verified proxy or it cannot be decoded (the report is still written)."""
    if not path or rate is None:
        return Thumbnails(poster=None, sheet=(), note="no verified proxy")
    if frames <= 0:
        return Thumbnails(poster=None, sheet=(), note="the proxy has no frame count")
    sheet_at = contact_indices(frames)
    poster_at = poster_index(frames)
    try:
        decoded = decode_frames(path, [*sheet_at, poster_at], rate)
        sheet = tuple(_thumb(i, decoded[i], CONTACT_WIDTH) for i in sheet_at if i in decoded)
        poster = _thumb(poster_at, decoded[poster_at], POSTER_WIDTH) if poster_at in decoded else None
    except Exception as exc:  # a report without pictures beats no report: say why
        return Thumbnails(poster=None, sheet=(), note=f"could not decode {path}: {type(exc).__name__}: {exc}")
    return Thumbnails(poster=poster, sheet=sheet, note=None if sheet else f"no frame decoded from {path}")


def _thumb(index: int, frame, width: int) -> Thumb:
    image = _scaled(frame, width)
    return Thumb(frame=index, uri=jpeg_uri(image), width=image.width, height=image.height)
