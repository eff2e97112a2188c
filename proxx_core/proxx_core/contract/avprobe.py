"""Read media with PyAV (libav* in-process): the shared prober for engines and verification.

Optional part of proxx-core: install ``proxx-core[probe]``. Files are opened through a Python
file object, so a name such as ``concat:a|b.mov`` or ``-y.mov`` is only ever a file, never a
protocol URL or an option; that file object comes from :mod:`.safeopen` (a non-blocking open, checked
to be a regular file with ``fstat``), so libav reads exactly the file checked and never opens a FIFO
or a device by name.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..io import helperprocess
from ..io.h264sei import has_display_orientation
from ..io.movmatrix import identity_matrices
from ..io.safeopen import NotAFile, open_regular
from .errors import ProxxError
from .media import AudioInfo, FrameRate, SourceInfo, VideoInfo, displayed_field_order
from .vocabulary import Category

if TYPE_CHECKING:  # PyAV is optional (proxx-core[probe]): imported lazily at run time
    from av.container import InputContainer
    from av.packet import Packet
    from av.video.stream import VideoStream

#: the helper process that probes for a command (started by proxx_cli before its imports)
PROBE_HELPER = "probe"

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


def _container_name(container: InputContainer, path: Path) -> str:
    name = _CONTAINERS.get(container.format.name, container.format.name.split(",")[0])
    if name == "mov":
        brand = (container.metadata.get("major_brand") or "").strip()
        if brand in ("isom", "iso2", "iso4", "iso5", "iso6", "mp41", "mp42", "avc1", "M4V", "M4V "):
            name = "m4v" if path.suffix.lower() == ".m4v" else "mp4"
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


#: decoders that never attach an orientation of their own (no SEI, no EXIF) to a frame: for these the
#: container's matrices alone decide the rotation (H.264, HEVC, MJPEG and anything unlisted decode)
_NO_BITSTREAM_ORIENTATION = frozenset(
    {"prores", "dnxhd", "cfhd", "v210", "v410", "r210", "qtrle", "dvvideo", "mpeg2video", "mpeg1video", "rawvideo"}
)


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


def _count_packets(path: Path, stream_index: int) -> int:
    import av

    with open_regular(path) as fh, av.open(fh, mode="r") as c:
        stream = c.streams[stream_index]
        return sum(1 for p in c.demux(stream) if p.size > 0)


def probe_file(path: Path | str, *, probed_by: str) -> SourceInfo:
    """Describe ``path``. Raises ProxxError(unsupported_source) when libav cannot read it.

    In a command that started the probe helper (io/helperprocess.py: PyAV imported on the other core
    while the command starts), the helper probes; if it cannot answer, this process does, as before."""
    helper = helperprocess.helper(PROBE_HELPER)
    if helper is not None:
        try:
            answer = helper.call((str(path), probed_by))
        except helperprocess.HelperGone:
            answer = None
        if isinstance(answer, tuple) and answer[0] == "ok" and isinstance(answer[1], SourceInfo):
            return answer[1]
        if isinstance(answer, tuple) and answer[0] == "refused":
            raise ProxxError(answer[1], category=answer[2])
    return _probe_here(path, probed_by=probed_by)


def serve() -> None:
    """The probe helper's main (``helperprocess.start(PROBE_HELPER, __name__)``): PyAV imported first,
    the reason the helper exists, then one probe per request."""
    import av  # noqa: F401  # imported while the command that started this helper imports the rest

    helperprocess.serve_forever(_answer)


def _answer(request: tuple[str, str]) -> tuple[str, ...] | tuple[str, SourceInfo]:
    """("ok", SourceInfo), ("refused", message, category) for a ProxxError; anything else ("failed",
    reason): the command then probes the file itself and meets the same error there."""
    path, probed_by = request
    try:
        return ("ok", _probe_here(path, probed_by=probed_by))
    except ProxxError as exc:
        return ("refused", exc.message, str(exc.category))
    except Exception as exc:
        return ("failed", f"{type(exc).__name__}: {exc}")


def _probe_here(path: Path | str, *, probed_by: str) -> SourceInfo:
    import av

    path = Path(path)
    try:
        with open_regular(path) as fh, av.open(fh, mode="r") as c:
            container = _container_name(c, path)
            video = None
            tc = None
            vstreams = [s for s in c.streams.video if not (s.disposition & av.stream.Disposition.attached_pic)]
            if vstreams:
                s = vstreams[0]
                cc = s.codec_context
                rate = _frame_rate(s)
                if not rate:
                    raise ProxxError(
                        f"{path}: the video stream has no frame rate", category=Category.UNSUPPORTED_SOURCE
                    )
                sar = s.sample_aspect_ratio or cc.sample_aspect_ratio
                sar_s = f"{sar.numerator}:{sar.denominator}" if sar else "1:1"
                frames = s.frames or None
                field_order = _FIELD_ORDER.get(int(cc.field_order), "unknown")
                video = VideoInfo(
                    codec=cc.name,
                    width=cc.width,
                    height=cc.height,
                    pix_fmt=cc.pix_fmt,
                    bit_depth=_bit_depth(cc.pix_fmt),
                    sample_aspect=sar_s,
                    frame_rate=FrameRate.parse(Fraction(rate)),
                    frame_count=frames,
                    field_order=field_order,
                    field_dominance=displayed_field_order(container, field_order),
                    variable_frame_rate=_is_vfr(s, rate),
                    color_primaries=_PRIMARIES.get(int(cc.color_primaries)),
                    color_transfer=_TRANSFER.get(int(cc.color_trc)),
                    color_space=_MATRIX.get(int(cc.colorspace)),
                    codec_profile=cc.profile or None,
                )
                tc = s.metadata.get("timecode")
                vindex = s.index
                if container in ("mov", "mp4", "m4v"):
                    video = attrs.evolve(video, rotation=_rotation(c, s, fh.fileno()))
            reel = _reel_name(c)
            for d in c.streams.data:
                tc = tc or d.metadata.get("timecode")
            tc = tc or c.metadata.get("timecode")
            audio = tuple(
                AudioInfo(
                    index=i,
                    codec=a.codec_context.name,
                    channels=a.codec_context.channels,
                    sample_rate=a.sample_rate,
                    layout=a.layout.name if a.layout else None,
                )
                for i, a in enumerate(c.streams.audio)
            )
            duration = round(c.duration / 1_000_000, 6) if c.duration else None
    except ProxxError:
        raise
    except NotAFile as exc:
        raise ProxxError(f"{exc}; list media files only", category=Category.UNSUPPORTED_SOURCE) from None
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError) as exc:
        raise ProxxError(
            f"{path}: not readable media ({exc}); check the file is complete and not corrupt",
            category=Category.UNSUPPORTED_SOURCE,
        ) from exc
    if video is not None and video.frame_count is None:
        video = attrs.evolve(video, frame_count=_count_packets(path, vindex) or None)
    return SourceInfo(
        container=container,
        video=video,
        audio=audio,
        start_timecode=tc,
        duration_seconds=duration,
        reel_name=reel,
        probed_by=probed_by,
    )
