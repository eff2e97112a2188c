"""``"fcpxml"``: an FCPXML 1.10 library whose assets carry the camera original and the proxy as
``media-rep`` elements (``original-media`` / ``proxy-media``), so Final Cut Pro imports each clip
with its proxy attached; plus a project stringing the clips out (what OTIO's FCPXML adapter reads).

Times are rational seconds on each clip's own frame grid (frame count x frame duration), so they
are exact for 23.976/29.97 material. Written by hand with escaping, in clip order: same job, same
bytes.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

from proxx_core import hookimpl
from proxx_core.deliverables import DeliverableSink, DeliveryJob, write_sidecar

from .clips import DeliveredClip, delivered_clips

FCPXML_VERSION = "1.10"


def seconds(value: Fraction) -> str:
    """FCPXML rational time: ``0s``, ``3600/1s``, ``864876012/24000s``."""
    return "0s" if value == 0 else f"{value.numerator}/{value.denominator}s"


def frame_time(frames: int, clip: DeliveredClip) -> str:
    """Frames at the clip's rate, with the clip's frame duration as denominator (as FCP writes)."""
    fd = 1 / clip.rate
    return "0s" if frames == 0 else f"{frames * fd.numerator}/{fd.denominator}s"


def _attrs(**values) -> str:
    from xml.sax.saxutils import quoteattr  # here, not at import: it pulls in urllib.request (~12 ms)

    return "".join(f" {k}={quoteattr(str(v))}" for k, v in values.items())


def fcpxml_text(job_id: str, clips: list[DeliveredClip]) -> str:
    formats: dict[tuple, str] = {}
    resources: list[str] = []
    for c in clips:
        key = (c.rate, c.width, c.height)
        if key not in formats:
            formats[key] = f"r{len(formats) + 1}"
    next_id = len(formats) + 1
    for (rate, width, height), fid in formats.items():
        fd = 1 / rate
        frame = f"{fd.numerator}/{fd.denominator}s"
        resources.append(f"    <format{_attrs(id=fid, frameDuration=frame, width=width, height=height)}/>")
    spine: list[str] = []
    offset = Fraction(0)
    for c in clips:
        aid = f"r{next_id}"
        next_id += 1
        fid = formats[(c.rate, c.width, c.height)]
        tc_format = "DF" if c.drop_frame else "NDF"
        audio = {"hasAudio": 1, "audioSources": len(c.audio_channels), "audioChannels": sum(c.audio_channels),
                 "audioRate": c.audio_rate or 48000} if c.audio_channels else {"hasAudio": 0}
        start, duration = frame_time(c.start_frame, c), frame_time(c.frames, c)
        asset = _attrs(id=aid, name=c.name, start=start, duration=duration, hasVideo=1, format=fid, videoSources=1,
                       **audio)
        resources.append(f"    <asset{asset}>")
        resources.append(f"      <media-rep{_attrs(kind='original-media', src=Path(c.source_path).as_uri())}/>")
        resources.append(f"      <media-rep{_attrs(kind='proxy-media', src=Path(c.proxy_path).as_uri())}/>")
        resources.append("    </asset>")
        clip = _attrs(ref=aid, offset=seconds(offset), name=c.name, start=start, duration=duration, format=fid,
                      tcFormat=tc_format)
        spine.append(f"            <asset-clip{clip}/>")
        offset += c.frames / c.rate
    first = formats[(clips[0].rate, clips[0].width, clips[0].height)]
    sequence = _attrs(format=first, duration=seconds(offset), tcStart="0s",
                      tcFormat="DF" if clips[0].drop_frame else "NDF")
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', "<!DOCTYPE fcpxml>", "",
             f"<fcpxml{_attrs(version=FCPXML_VERSION)}>", "  <resources>", *resources, "  </resources>",
             "  <library>", f"    <event{_attrs(name=job_id)}>", f"      <project{_attrs(name=job_id)}>",
             f"        <sequence{sequence}>",
             "          <spine>", *spine, "          </spine>", "        </sequence>", "      </project>",
             "    </event>", "  </library>", "</fcpxml>"]
    return "\n".join(lines) + "\n"


class FcpxmlSink(DeliverableSink):
    name = "fcpxml"

    def file_names(self, document, job_id):
        return [f"{job_id}.fcpxml"]

    def write(self, job: DeliveryJob):
        text = fcpxml_text(job.job_id, delivered_clips(job))
        return [write_sidecar(job, self.name, f"{job.job_id}.fcpxml", text.encode("utf-8"))]


@hookimpl
def proxx_register_deliverables(register):
    register(FcpxmlSink())
