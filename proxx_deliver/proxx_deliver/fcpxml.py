"""``"fcpxml"``: an FCPXML 1.10 library whose assets carry the camera original and the proxy as
``media-rep`` elements (``original-media`` / ``proxy-media``), so Final Cut Pro imports each clip
with its proxy attached; plus a project stringing the clips out (what OTIO's FCPXML adapter reads).

Each ``<format>`` describes the camera original (raster, frame rate, field order, pixel aspect),
which Final Cut conforms the proxy to. Times are rational seconds on each clip's own frame grid
(frame count x frame duration), exact for 23.976/29.97 material; one project per frame rate keeps
every clip on its project's grid. Written by hand with escaping, in clip order: same job, same bytes.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from proxx_core import hookimpl
from proxx_core.kit import DeliverableSink, DeliveryJob

from .clips import DeliveredClip, delivered_clips, rate_label

FCPXML_VERSION = "1.10"


def frame_time(frames: int, clip: DeliveredClip) -> str:
    """Frames at the clip's rate, with the clip's frame duration as denominator (as FCP writes)."""
    fd = 1 / clip.rate
    return "0s" if frames == 0 else f"{frames * fd.numerator}/{fd.denominator}s"


def _attrs(**values) -> str:
    from xml.sax.saxutils import quoteattr  # here, not at import: it pulls in urllib.request (~12 ms)

    return "".join(f" {k}={quoteattr(str(v))}" for k, v in values.items())


#: FCPXML's fieldOrder for the probe's field dominance (absent: progressive)
FIELD_ORDER = {"tff": "upper first", "bff": "lower first"}


def format_key(c: DeliveredClip) -> tuple:
    """What a ``<format>`` describes: the camera ORIGINAL (Final Cut conforms the proxy to it)."""
    return c.rate, c.original_width, c.original_height, FIELD_ORDER.get(c.field_dominance), c.sample_aspect


def format_attrs(fid: str, key: tuple) -> dict[str, object]:
    rate, width, height, field_order, sample_aspect = key
    fd = 1 / rate
    values: dict[str, object] = {"id": fid, "frameDuration": f"{fd.numerator}/{fd.denominator}s"}
    if field_order:
        values["fieldOrder"] = field_order
    values.update(width=width, height=height)
    h, _, v = sample_aspect.partition(":")
    if sample_aspect != "1:1" and v:
        values.update(paspH=h, paspV=v)
    return values


def projects_by_rate(job_id: str, clips: list[DeliveredClip]) -> list[tuple[str, list[DeliveredClip]]]:
    """One project per frame rate, in order of first appearance. A Final Cut project has one frame
    rate: a clip of another rate would be conformed (``conform-rate``) with its edit points moved
    to the project's frame grid, which changes its duration. Each project holds only clips of its
    own rate, so every offset and duration is a whole number of the project's frames. A job of one
    frame rate gets one project named after the job."""
    groups: dict[Fraction, list[DeliveredClip]] = {}
    for c in clips:
        groups.setdefault(c.rate, []).append(c)
    if len(groups) == 1:
        return [(job_id, clips)]
    return [(f"{job_id} {rate_label(rate)} fps", group) for rate, group in groups.items()]


def fcpxml_text(job_id: str, clips: list[DeliveredClip]) -> str:
    formats: dict[tuple, str] = {}
    resources: list[str] = []
    for c in clips:
        formats.setdefault(format_key(c), f"r{len(formats) + 1}")
    next_id = len(formats) + 1
    for key, fid in formats.items():
        resources.append(f"    <format{_attrs(**format_attrs(fid, key))}/>")
    asset_ids: dict[int, str] = {}
    for c in clips:
        aid = asset_ids[c.index] = f"r{next_id}"
        next_id += 1
        audio = (
            {
                "hasAudio": 1,
                "audioSources": len(c.audio_channels),
                "audioChannels": sum(c.audio_channels),
                "audioRate": c.audio_rate or 48000,
            }
            if c.audio_channels
            else {"hasAudio": 0}
        )
        asset = _attrs(
            id=aid,
            name=c.name,
            start=frame_time(c.start_frame, c),
            duration=frame_time(c.frames, c),
            hasVideo=1,
            format=formats[format_key(c)],
            videoSources=1,
            **audio,
        )
        resources.append(f"    <asset{asset}>")
        resources.append(f"      <media-rep{_attrs(kind='original-media', src=Path(c.source_path).as_uri())}/>")
        resources.append(f"      <media-rep{_attrs(kind='proxy-media', src=Path(c.proxy_path).as_uri())}/>")
        resources.append("    </asset>")
    projects: list[str] = []
    for name, group in projects_by_rate(job_id, clips):
        spine: list[str] = []
        offset = 0
        for c in group:
            clip = _attrs(
                ref=asset_ids[c.index],
                offset=frame_time(offset, c),
                name=c.name,
                start=frame_time(c.start_frame, c),
                duration=frame_time(c.frames, c),
                format=formats[format_key(c)],
                tcFormat="DF" if c.drop_frame else "NDF",
            )
            spine.append(f"            <asset-clip{clip}/>")
            offset += c.frames
        first = group[0]
        sequence = _attrs(
            format=formats[format_key(first)],
            duration=frame_time(offset, first),
            tcStart="0s",
            tcFormat="DF" if first.drop_frame else "NDF",
        )
        projects += [
            f"      <project{_attrs(name=name)}>",
            f"        <sequence{sequence}>",
            "          <spine>",
            *spine,
            "          </spine>",
            "        </sequence>",
            "      </project>",
        ]
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        "<!DOCTYPE fcpxml>",
        "",
        f"<fcpxml{_attrs(version=FCPXML_VERSION)}>",
        "  <resources>",
        *resources,
        "  </resources>",
        "  <library>",
        f"    <event{_attrs(name=job_id)}>",
        *projects,
        "    </event>",
        "  </library>",
        "</fcpxml>",
    ]
    return "\n".join(lines) + "\n"


class FcpxmlSink(DeliverableSink):
    name = "fcpxml"

    def file_names(self, document, job_id):
        return [f"{job_id}.fcpxml"]

    def write(self, job: DeliveryJob):
        text = fcpxml_text(job.job_id, delivered_clips(job))
        return [(f"{job.job_id}.fcpxml", text.encode("utf-8"))]


@hookimpl
def proxx_register_deliverables(register):
    register(FcpxmlSink())
