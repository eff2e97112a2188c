"""What PyAV reads of a media file, as plain data: the probe helper's whole job.

:mod:`proxx_core.contract.avprobe` turns these facts into the contract's ``SourceInfo``; the reading is
here, apart, so that the probe helper (io/helperprocess.py) imports PyAV and nothing of the contract:
no attrs, no typing of the contract's ~90 classes (~25 ms less start-up for the helper, whose first
answer a one-clip ``proxx run`` waits for). Files are opened through :mod:`.safeopen` (a
non-blocking open checked to be a regular file) and handed to libav as a file object, so a name such
as ``concat:a|b.mov`` or ``-y.mov`` is only ever a file, never a protocol URL or an option.

:func:`read` returns a dict (container, video, audio, timecode, reel, duration) or raises
:class:`Unreadable` with the message and category a refusal carries.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterable
from fractions import Fraction
from typing import TYPE_CHECKING, Any

from . import helperprocess
from .h264sei import has_display_orientation
from .movmatrix import identity_matrices
from .safeopen import NotAFile, open_regular

if TYPE_CHECKING:  # PyAV is optional (proxx-core[probe]): imported lazily at run time
    from av.container import InputContainer
    from av.packet import Packet
    from av.video.stream import VideoStream

#: the contract's Category value of every refusal made here
UNSUPPORTED_SOURCE = "unsupported_source"

_FIELD_ORDER = {0: "unknown", 1: "progressive", 2: "tt", 3: "bb", 4: "tb", 5: "bt"}
_PRIMARIES = {1: "bt709", 5: "bt470bg", 6: "smpte170m", 9: "bt2020"}
_TRANSFER = {1: "bt709", 6: "smpte170m", 14: "bt2020-10", 16: "smpte2084", 18: "arib-std-b67"}
_MATRIX = {1: "bt709", 5: "bt470bg", 6: "smpte170m", 9: "bt2020nc"}

#: libav demuxer names -> the short container word Proxx uses
_CONTAINERS = {
    "mxf": "mxf",
    "mpegts": "mpegts",
    "matroska,webm": "mkv",
    "avi": "avi",
    "mpeg": "mpeg",
    "mjpeg": "mjpeg",
    "image2": "image",
    "mov,mp4,m4a,3gp,3g2,mj2": "mov",
}

#: decoders that never attach an orientation of their own (no SEI, no EXIF) to a frame: for these the
#: container's matrices alone decide the rotation (H.264 is scanned for an orientation SEI; HEVC,
#: MJPEG and anything unlisted decode)
_NO_BITSTREAM_ORIENTATION = frozenset(
    {"prores", "dnxhd", "cfhd", "v210", "v410", "r210", "qtrle", "dvvideo", "mpeg2video", "mpeg1video", "rawvideo"}
)


class Unreadable(Exception):
    """The file cannot be described: ``message`` and ``category`` are the refusal's."""

    def __init__(self, message: str, category: str = UNSUPPORTED_SOURCE):
        super().__init__(message)
        self.message, self.category = message, category


def read(path: str) -> dict[str, Any]:
    """The facts of ``path``: container word, the first video stream (None without one), every audio
    stream, timecode, reel name, duration in seconds."""
    import av

    try:
        with open_regular(path) as fh, av.open(fh, mode="r") as c:
            container = _container_name(c, path)
            video = None
            tc = None
            vstreams = [s for s in c.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
            if vstreams:
                s = vstreams[0]
                video = _video(s, path, container)
                tc = s.metadata.get("timecode")
                if container in ("mov", "mp4", "m4v"):
                    video["rotation"] = _rotation(c, s, fh.fileno())
            reel = _reel_name(c)
            for d in c.streams.data:
                tc = tc or d.metadata.get("timecode")
            tc = tc or c.metadata.get("timecode")
            audio = [
                {
                    "codec": a.codec_context.name,
                    "channels": a.codec_context.channels,
                    "sample_rate": a.sample_rate,
                    "layout": a.layout.name if a.layout else None,
                }
                for a in c.streams.audio
            ]
            duration = round(c.duration / 1_000_000, 6) if c.duration else None
    except Unreadable:
        raise
    except NotAFile as exc:
        raise Unreadable(f"{exc}; list media files only") from None
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise Unreadable(f"{path}: not readable media ({exc}); check the file is complete and not corrupt") from exc
    if video is not None:
        index = video.pop("index")
        if video["frame_count"] is None:
            video["frame_count"] = _count_packets(path, index) or None
    return {
        "container": container,
        "video": video,
        "audio": audio,
        "timecode": tc,
        "reel": reel,
        "duration": duration,
    }


def _video(s: VideoStream, path: str, container: str) -> dict[str, Any]:
    cc = s.codec_context
    rate = _frame_rate(s)
    if not rate:
        raise Unreadable(f"{path}: the video stream has no frame rate")
    sar = s.sample_aspect_ratio or cc.sample_aspect_ratio
    fraction = Fraction(rate)
    return {
        "index": s.index,
        "codec": cc.name,
        "width": cc.width,
        "height": cc.height,
        "pix_fmt": cc.pix_fmt,
        "bit_depth": _bit_depth(cc.pix_fmt),
        "sample_aspect": f"{sar.numerator}:{sar.denominator}" if sar else "1:1",
        "frame_rate": (fraction.numerator, fraction.denominator),  # plain data for the helper's pipe
        "frame_count": s.frames or None,
        "field_order": _FIELD_ORDER.get(int(cc.field_order), "unknown"),
        "variable_frame_rate": _is_vfr(s, rate),
        "color_primaries": _PRIMARIES.get(int(cc.color_primaries)),
        "color_transfer": _TRANSFER.get(int(cc.color_trc)),
        "color_space": _MATRIX.get(int(cc.colorspace)),
        "codec_profile": cc.profile or None,
        "rotation": 0,
    }


def _container_name(container: InputContainer, path: str) -> str:
    name = _CONTAINERS.get(container.format.name, container.format.name.split(",")[0])
    if name == "mov":
        brand = (container.metadata.get("major_brand") or "").strip()
        if brand in ("isom", "iso2", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "M4V", "M4V "):
            name = "m4v" if os.path.splitext(path)[1].lower() == ".m4v" else "mp4"
    return name


def _bit_depth(pix_fmt: str | None) -> int | None:
    if not pix_fmt:
        return None
    import av

    try:
        return max(c.bits for c in av.VideoFormat(pix_fmt).components)
    except Exception:
        return None


def _frame_rate(s: VideoStream) -> Fraction | None:
    """The stream's real frame rate. libav's r_frame_rate is a guess of the smallest tick that
    represents every timestamp: for interlaced H.264 and MPEG-1/2 program streams it is the field
    rate (50 for a 25 fps file). When it is exactly twice the average rate or the decoder's frame
    rate (which counts a frame's two fields once), that rate is right."""
    base, avg = s.base_rate, s.average_rate
    for frame_rate in (avg, s.codec_context.framerate):
        if base and frame_rate and Fraction(base) == 2 * Fraction(frame_rate):
            return frame_rate
    return base or s.guessed_rate or avg


def _is_vfr(s: VideoStream, rate: Fraction) -> bool:
    """Phones record variable frame rate: the average rate then differs from the nominal one."""
    avg = s.average_rate
    return bool(avg and rate and abs(Fraction(avg) - Fraction(rate)) / Fraction(rate) > Fraction(1, 200))


def _rotation(c: InputContainer, s: VideoStream, fd: int) -> int:
    """Display rotation of the first frame (QuickTime display matrix), in degrees 0/90/180/270. Read
    without decoding when every matrix is the identity (movmatrix) and the codec carries no orientation
    of its own, or it is H.264 whose first access unit holds no display-orientation SEI (h264sei):
    decoding one frame is most of a probe's cost on real media."""
    if identity_matrices(fd) is not True:
        return _decoded_rotation(c.demux(s))
    name = s.codec_context.name
    if name in _NO_BITSTREAM_ORIENTATION:
        return 0
    packets = c.demux(s)
    if name != "h264":
        return _decoded_rotation(packets)
    first = next((p for p in packets if p.size), None)
    if first is None:
        return 0
    if has_display_orientation(bytes(first), s.codec_context.extradata) is False:
        return 0
    return _decoded_rotation(itertools.chain((first,), packets))


def _decoded_rotation(packets: Iterable[Packet[Any]]) -> int:
    try:
        for packet in packets:
            for frame in packet.decode():
                return int(getattr(frame, "rotation", 0) or 0) % 360
    except Exception:  # a stream this build cannot decode has no rotation we could apply anyway
        return 0
    return 0


def _reel_name(c: InputContainer) -> str | None:
    """Tape/reel name: MOV tmcd ``reel_name`` or MXF tape package (both per stream), else the MXF
    material package name (the camera's clip name)."""
    for s in c.streams:
        name = (s.metadata.get("reel_name") or "").strip()
        if name:
            return name
    return (c.metadata.get("material_package_name") or "").strip() or None


def _count_packets(path: str, stream_index: int) -> int:
    import av

    with open_regular(path) as fh, av.open(fh, mode="r") as c:
        stream = c.streams[stream_index]
        return sum(1 for p in c.demux(stream) if p.size > 0)


def serve() -> None:
    """The probe helper's main (``helperprocess.start("probe", __name__)``): PyAV imported first, the
    reason the helper exists, then the facts of one file per request (its path)."""
    import av  # noqa: F401  # imported while the command that started this helper imports the rest

    helperprocess.serve_forever(_answer)


def _answer(path: str) -> tuple[Any, ...]:
    """("ok", facts), ("refused", message, category) for an unreadable file; anything else ("failed",
    reason): the command then probes the file itself and meets the same error there."""
    try:
        return ("ok", read(path))
    except Unreadable as exc:
        return ("refused", exc.message, exc.category)
    except Exception as exc:
        return ("failed", f"{type(exc).__name__}: {exc}")
