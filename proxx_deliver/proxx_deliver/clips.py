"""The facts every sidecar needs about one delivered clip, read from the result's JSON data.

One place decides the clip name, tape, timecodes and durations, so the ALE, FCPXML and OTIO files
describe a clip identically: name = the source's file name without extension (what every NLE calls
the clip), tape = the source's reel name or else that name, start = the source's start timecode
(00:00:00:00 when it has none; the proxy carries the same, verified), duration = the proxy's frame
count at the source's frame rate.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import attrs

if TYPE_CHECKING:
    import opentimelineio as otio


@attrs.frozen(kw_only=True)
class DeliveredClip:
    index: int
    name: str
    tape: str
    source_path: str
    proxy_path: str
    proxy_sha256: str | None
    rate: Fraction
    drop_frame: bool
    start_frame: int
    frames: int
    width: int
    height: int
    audio_channels: tuple[int, ...]
    audio_rate: int | None
    #: the camera original's raster and field dominance ("tff", "bff", "progressive", "unknown"):
    #: what an NLE conforms the proxy to (width/height above are the proxy's)
    original_width: int = 0
    original_height: int = 0
    field_dominance: str = "unknown"
    sample_aspect: str = "1:1"
    #: the source's start timecode as probed (";" marks drop-frame)
    source_timecode: str = "00:00:00:00"

    @property
    def rate_float(self) -> float:
        return self.rate.numerator / self.rate.denominator

    def timecode(self, frame: int) -> str:
        import opentimelineio as otio  # imported on use: `proxx` loads this plugin for every command

        return otio.opentime.to_timecode(
            otio.opentime.RationalTime(frame, self.rate_float), self.rate_float, self.drop_frame
        )

    @property
    def start_timecode(self) -> str:
        return self.timecode(self.start_frame)

    @property
    def end_timecode(self) -> str:
        """Exclusive end (start + duration), as ALE's End and OTIO's end_time_exclusive."""
        return self.timecode(self.start_frame + self.frames)

    def time_range(self) -> otio.opentime.TimeRange:
        import opentimelineio as otio

        return otio.opentime.TimeRange(
            otio.opentime.RationalTime(self.start_frame, self.rate_float),
            otio.opentime.RationalTime(self.frames, self.rate_float),
        )


def rate_label(rate: Fraction) -> str:
    """``25``, ``23.976``, ``29.97``: how an editor names a frame rate."""
    return f"{rate.numerator / rate.denominator:.3f}".rstrip("0").rstrip(".")


def _rate(text: str) -> Fraction:
    num, _, den = str(text).partition("/")
    return Fraction(int(num), int(den or 1))


def delivered_clip(clip: Mapping[str, Any]) -> DeliveredClip:
    source = clip["source"]
    info = source.get("info") or {}
    output = clip["output"]
    out_info = (output.get("verification") or {}).get("output_info") or info
    video = info.get("video") or {}
    out_video = out_info.get("video") or video
    rate = _rate(video.get("frame_rate") or out_video["frame_rate"])
    tc = info.get("start_timecode") or "00:00:00:00"
    drop = ";" in tc or "." in tc
    import opentimelineio as otio

    start = round(otio.opentime.from_timecode(tc, rate.numerator / rate.denominator).value)
    name = os.path.splitext(os.path.basename(source["path"]))[0]
    audio = out_info.get("audio") or []
    return DeliveredClip(
        index=int(clip["index"]),
        name=name,
        tape=info.get("reel_name") or name,
        source_path=source["path"],
        proxy_path=output["path"],
        proxy_sha256=output.get("sha256"),
        rate=rate,
        drop_frame=drop,
        start_frame=start,
        frames=int(out_video.get("frame_count") or video.get("frame_count") or 0),
        width=int(out_video.get("width") or 0),
        height=int(out_video.get("height") or 0),
        audio_channels=tuple(int(a.get("channels") or 0) for a in audio),
        audio_rate=int(audio[0]["sample_rate"]) if audio and audio[0].get("sample_rate") else None,
        original_width=int(video.get("width") or out_video.get("width") or 0),
        original_height=int(video.get("height") or out_video.get("height") or 0),
        field_dominance=str(video.get("field_dominance") or "unknown"),
        sample_aspect=str(video.get("sample_aspect") or "1:1"),
        source_timecode=tc,
    )


def delivered_clips(job) -> list[DeliveredClip]:
    """``job`` is a :class:`proxx_core.contract.sinks.DeliveryJob`."""
    return [delivered_clip(c) for c in linked_clips(job)]


def linked_clips(job) -> list[Mapping[str, Any]]:
    """The delivered clips an NLE sidecar describes: one proxy per clip. A JobSpec 1.2 job with
    ``renditions`` makes several; the sidecar describes the first rendition the spec lists (the one
    the editor links: docs/delivery.md), the others are in the result, the report and the ASC MHL."""
    clips = job.delivered_clips()
    spec = job.result.get("jobspec")
    renditions = spec.get("renditions") if isinstance(spec, Mapping) else None
    if not renditions:
        return clips
    first = renditions[0].get("name")
    return [c for c in clips if c.get("rendition") == first]
