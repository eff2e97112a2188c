"""Immutable value types describing media as probed: SourceInfo and its parts.

Engines fill these in; routing, planning and verification read them. They serialise to the
``source.info`` / ``output.verification.output_info`` objects of the result JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from fractions import Fraction

import attrs

_TC = re.compile(r"^(\d{2}):([0-5]\d):([0-5]\d)([:;.,])(\d{2,3})$")

#: the NLE rule for a file without timecode (Premiere, Resolve, Avid, FCP): it starts at zero
ZERO_TIMECODE = "00:00:00:00"

#: containers whose libav field order comes from a QuickTime ``fiel`` atom
_QUICKTIME = ("mov", "mp4", "m4v")


def displayed_field_order(container: str, field_order: str) -> str:
    """Field dominance as an NLE displays it: "tff", "bff", "progressive" or "unknown".

    libav's two-letter codes mean different things per demuxer. QuickTime ``fiel`` (MOV/MP4): the
    first letter is the field shown first (0x0201 "tt" and 0x0209 "tb" are both top field first for
    interleaved frames, as FCP and MediaInfo read them). Everywhere else (MXF field dominance,
    Matroska, bitstream flags) libav's documented meaning holds: the second letter is shown first.
    """
    if field_order == "progressive":
        return "progressive"
    if field_order not in ("tt", "bb", "tb", "bt"):
        return "unknown"
    shown = field_order[0] if container in _QUICKTIME else field_order[1]
    return "tff" if shown == "t" else "bff"


@attrs.frozen(kw_only=True)
class FrameRate:
    """An exact rational frame rate (24000/1001, never 23.976)."""

    num: int = attrs.field(validator=attrs.validators.gt(0))
    den: int = attrs.field(validator=attrs.validators.gt(0))

    @classmethod
    def parse(cls, value: str | Fraction) -> FrameRate:
        f = Fraction(value)
        return cls(num=f.numerator, den=f.denominator)

    @property
    def fraction(self) -> Fraction:
        return Fraction(self.num, self.den)

    @property
    def nominal(self) -> int:
        """The integer frame count per timecode second (30 for 29.97)."""
        return round(self.fraction)

    def __str__(self) -> str:
        return f"{self.num}/{self.den}"


def timecode_is_drop_frame(tc: str) -> bool:
    """Drop-frame timecode separates frames with ';' (or '.' / ',' in some containers)."""
    m = _TC.match(tc)
    return bool(m and m.group(4) in ";.,")


def normalise_timecode(tc: str | None) -> str | None:
    """Canonical HH:MM:SS:FF / HH:MM:SS;FF form, or None when absent or unreadable."""
    if not tc:
        return None
    m = _TC.match(tc.strip())
    if not m:
        return None
    sep = ";" if m.group(4) in ";.," else ":"
    return f"{m.group(1)}:{m.group(2)}:{m.group(3)}{sep}{m.group(5)}"


@attrs.frozen(kw_only=True)
class VideoInfo:
    codec: str
    width: int
    height: int
    pix_fmt: str | None = None
    bit_depth: int | None = None
    #: sample (pixel) aspect ratio as "num:den"; "1:1" for square pixels
    sample_aspect: str = "1:1"
    frame_rate: FrameRate
    frame_count: int | None = None
    #: libav's code as probed: "progressive", "tt", "bb", "tb", "bt" or "unknown"
    field_order: str = "unknown"
    #: the field shown first, what relink compares: "tff", "bff", "progressive" or "unknown"
    field_dominance: str = "unknown"
    #: display rotation in degrees (phone footage), applied by players on top of the stored raster
    rotation: int = 0
    #: timestamps are not evenly spaced (phones): ``frame_rate`` is then the nominal rate
    variable_frame_rate: bool = False
    color_primaries: str | None = None
    color_transfer: str | None = None
    color_space: str | None = None
    #: the codec's profile as libav names it ("Proxy", "LT", "DNXHR LB", "High"), if any
    codec_profile: str | None = None

    @property
    def display_aspect(self) -> Fraction:
        sn, sd = (int(x) for x in self.sample_aspect.split(":"))
        if sn <= 0 or sd <= 0:
            sn, sd = 1, 1
        return Fraction(self.width * sn, self.height * sd)


@attrs.frozen(kw_only=True)
class AudioInfo:
    #: position among the source's audio streams, 0-based (what `-map 0:a:N` means)
    index: int
    codec: str
    channels: int
    sample_rate: int
    layout: str | None = None


def _audio_infos(items: Iterable[AudioInfo]) -> tuple[AudioInfo, ...]:
    """attrs converter: ``tuple``, named so that mypy knows the __init__ parameter type."""
    return tuple(items)


@attrs.frozen(kw_only=True)
class SourceInfo:
    """What an engine saw in one media file. Everything routing and verification rely on."""

    #: short container name: "mov", "mp4", "mxf", "mpegts", "braw", ...
    container: str
    #: True for camera RAW that needs a debayering engine
    is_raw: bool = False
    #: a more precise format tag when known ("arriraw", "x-ocn", "r3d", "prores_raw")
    format_tag: str | None = None
    video: VideoInfo | None = None
    audio: tuple[AudioInfo, ...] = attrs.field(default=(), converter=_audio_infos)
    start_timecode: str | None = attrs.field(default=None, converter=normalise_timecode)
    #: tape/reel name (MOV tmcd ``reel_name``, MXF tape package or material package name)
    reel_name: str | None = None
    duration_seconds: float | None = None
    #: name of the engine whose probe produced this
    probed_by: str

    @property
    def drop_frame(self) -> bool:
        return bool(self.start_timecode and timecode_is_drop_frame(self.start_timecode))
