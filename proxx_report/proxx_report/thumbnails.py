"""Poster frames and contact sheets, decoded from the verified proxy with PyAV and encoded as JPEG
data: URIs with fixed settings, so the same proxy gives the same bytes.

The frames are chosen by index (the 6 contact frames spread evenly from the first to the last
frame; the poster is the one of them nearest the middle). An intra-only proxy (ProRes, DNxHR)
decodes just those packets, read forward (seeking over long gaps); a long-GOP one (H.264) seeks to
the keyframe at or before each and decodes forward: exact in both, and independent of the clip's
length. Each decoder runs on one thread (parts of the report are made on two processes): a report
is made while the node may still be encoding.
"""

from __future__ import annotations

import base64
import io
import threading
from collections.abc import Callable, Iterable
from fractions import Fraction
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

if TYPE_CHECKING:
    from PIL import Image

CONTACT_FRAMES = 6
POSTER_WIDTH = 384
CONTACT_WIDTH = 160
#: the printed contact sheet: the frames side by side in one picture, each timecode drawn under its
#: frame (one image per clip is what keeps the PDF's layout cheap: see docs/performance.md)
STRIP_GAP = 6
STRIP_CAPTION = 16
STRIP_FONT_SIZE = 11
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
    #: the sheet as one picture with the timecodes drawn under the frames (the PDF prints this)
    strip: Thumb | None = None
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


#: one scaler per output (size, format, filter) and thread, kept across frames and clips: FFmpeg's
#: scaler context costs more to set up than to run at these sizes (VideoFrame.reformat makes a new one
#: per call); the same settings give the same pixels either way
_scalers = threading.local()


def _reformat(frame, **settings):
    from av.video.reformatter import VideoReformatter

    key = tuple(sorted(settings.items()))
    cache = _scalers.__dict__.setdefault("by_settings", {})
    scaler = cache.get(key) or cache.setdefault(key, VideoReformatter())
    return scaler.reformat(frame, **settings)


def _scaled(frame, width: int):
    """The frame as RGB at ``width`` (height by the frame's display aspect, even), as a PIL image."""
    sar = frame.sample_aspect_ratio if getattr(frame, "sample_aspect_ratio", None) else Fraction(1)
    display = Fraction(frame.width) * Fraction(sar) / frame.height
    height = max(2, round(width / display / 2) * 2)
    # a fast step to twice the size first, then an area average: 40 % less than one area pass from
    # the full frame (done 7 times per clip), with no visible aliasing at these sizes
    if frame.width >= 4 * width:
        frame = _reformat(frame, width=width * 2, height=height * 2, format="yuv420p", interpolation="FAST_BILINEAR")
    return _reformat(frame, width=width, height=height, format="rgb24", interpolation="AREA").to_image()


#: an intra-only proxy is read forward (its packets between two contact frames skipped without
#: decoding) when the next frame is at most this many frames ahead; further, it seeks
READ_AHEAD_FRAMES = 48

T = TypeVar("T")


def decode_frames(path: str, wanted: Iterable[int], rate: Fraction, keep: Callable[[int, Any], T]) -> dict[int, T]:
    """``keep(index, frame)`` of the frames at the given 0-based indices (the nearest decodable one
    when an index is past the end; ``frame`` a PyAV VideoFrame, called as soon as it is decoded so
    that no full-size frame outlives it: holding six 1080p frames cost as much as decoding them).

    Intra-only proxies (ProRes, DNxHR, MJPEG: every packet decodes alone) decode only the wanted
    packets, read forward from one to the next (a seek flushes the decoder: it cost as much as the
    decode itself); others seek to the keyframe before each frame and decode forward from it."""
    import av

    with av.open(path) as container:
        stream = container.streams.video[0]
        stream.codec_context.thread_count = 1
        base = stream.time_base
        if base is None:
            raise ValueError(f"{path}: the video stream has no time base")
        start = stream.start_time or 0
        frames_per_tick = Fraction(base) * rate  # one Fraction per packet, not three (48 per clip)

        def index_of(pts: int | None, default: int) -> int:
            return (
                round(Fraction((pts - start) * frames_per_tick.numerator, frames_per_tick.denominator))
                if pts is not None
                else default
            )

        def seek(target: int) -> None:
            container.seek(start + int(Fraction(target) / rate / base), stream=stream, backward=True, any_frame=False)

        targets = sorted(set(wanted))
        if stream.codec_context.codec.intra_only:
            return _read_forward(container, stream, targets, index_of, seek, keep)
        found: dict[int, T] = {}
        for target in targets:
            seek(target)
            last = None
            for frame in container.decode(stream):
                last = frame
                if index_of(frame.pts, target) >= target:
                    break
            if last is not None:
                found[target] = keep(target, last)
    return found


def _read_forward(container, stream, targets: list[int], index_of, seek, keep: Callable[[int, Any], T]) -> dict[int, T]:
    """Intra-only: demux forward, decode the first packet at or after each target (the last packet
    when the file ends first); seek only over a gap longer than READ_AHEAD_FRAMES."""
    found: dict[int, T] = {}
    position = -1  # the index of the last packet read (-1: the start, no seek needed)
    last_packet = None
    for target in targets:
        if target - position > READ_AHEAD_FRAMES or target <= position:
            seek(target)
        chosen = None
        for packet in container.demux(stream):
            if packet.size == 0:  # the demuxer's end-of-stream packet
                continue
            last_packet = packet
            position = index_of(packet.pts, position + 1)
            if position >= target:
                chosen = packet
                break
        chosen = chosen if chosen is not None else last_packet
        if chosen is None:
            continue
        frames = stream.decode(chosen)
        if frames:
            found[target] = keep(target, frames[0])
    return found


def thumbnails(
    path: str | None, frames: int, rate: Fraction | None, caption: Callable[[int], str] | None = None
) -> Thumbnails:
    """Poster and contact sheet of the proxy at ``path``; with a note instead when there is no
    verified proxy or it cannot be decoded (the report is still written). With ``caption`` (frame
    index to timecode), also the printed strip."""
    if not path or rate is None:
        return Thumbnails(poster=None, sheet=(), note="no verified proxy")
    if frames <= 0:
        return Thumbnails(poster=None, sheet=(), note="the proxy has no frame count")
    sheet_at = contact_indices(frames)
    poster_at = poster_index(frames)
    try:
        decoded = decode_frames(
            path,
            sheet_at,
            rate,
            lambda i, frame: (_scaled(frame, CONTACT_WIDTH), _scaled(frame, POSTER_WIDTH) if i == poster_at else None),
        )
        images = {i: small for i, (small, _) in decoded.items()}
        sheet = tuple(_thumb(i, image) for i, image in images.items())
        big = decoded.get(poster_at, (None, None))[1]
        poster = _thumb(poster_at, big) if big is not None else None
        strip = _thumb(sheet_at[0], contact_strip(images, caption)) if images and caption else None
    except Exception as exc:  # a report without pictures beats no report: say why
        return Thumbnails(poster=None, sheet=(), note=f"could not decode {path}: {type(exc).__name__}: {exc}")
    return Thumbnails(poster=poster, sheet=sheet, strip=strip, note=None if sheet else f"no frame decoded from {path}")


def contact_strip(images: dict[int, Image.Image], caption: Callable[[int], str]) -> Image.Image:
    """The contact frames side by side on white, each with its caption centred under it (Pillow's
    built-in font: the same bytes on every machine)."""
    from PIL import Image, ImageDraw, ImageFont

    height = max(im.height for im in images.values())
    width = sum(im.width for im in images.values()) + STRIP_GAP * (len(images) - 1)
    strip = Image.new("RGB", (width, height + STRIP_CAPTION), "white")
    draw = ImageDraw.Draw(strip)
    font = ImageFont.load_default(size=STRIP_FONT_SIZE)
    x = 0
    for index, image in images.items():
        strip.paste(image, (x, 0))
        draw.text((x + image.width / 2, height + 2), caption(index), fill="black", font=font, anchor="ma")
        x += image.width + STRIP_GAP
    return strip


def _thumb(index: int, image: Image.Image) -> Thumb:
    return Thumb(frame=index, uri=jpeg_uri(image), width=image.width, height=image.height)
