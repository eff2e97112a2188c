"""``"otio"``: an OpenTimelineIO timeline (one video track, the clips in result order) where each
clip carries the camera original and the proxy as media references (OTIO's multiple media
references: key ``DEFAULT_MEDIA`` = original, active; key ``proxy`` = the proxy), for Resolve,
Premiere (via adapters) and pipelines. ``metadata.proxx`` carries the rate, the start timecode as the
source has it and the drop-frame flag; the metadata OpenTimelineIO's FCP 7 XML and ALE adapters read
is set so that converting the file keeps them.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

from proxx_core import hookimpl
from proxx_core.kit import DeliverableSink, DeliveryJob

from .clips import DeliveredClip, delivered_clips, rate_label

if TYPE_CHECKING:
    import opentimelineio as otio

PROXY_KEY = "proxy"


def fcp_xml_timecode(c: DeliveredClip) -> dict:
    """The ``fcp_xml.timecode`` metadata OpenTimelineIO's FCP 7 XML adapter reads when it writes a
    media reference's ``<timecode>``: without ``displayformat`` it writes every timecode as NDF
    (10:00:00;00 DF became 09:59:24:00). Shaped as that adapter stores it when it reads a file."""
    ntsc = c.rate.denominator == 1001
    return {
        "displayformat": "DF" if c.drop_frame else "NDF",
        "rate": {"timebase": str(math.ceil(c.rate)), "ntsc": "TRUE" if ntsc else "FALSE"},
        "reel": {"name": c.tape},
    }


def otio_clip(job_id: str, c: DeliveredClip) -> otio.schema.Clip:
    import opentimelineio as otio  # imported on use: `proxx` loads this plugin for every command

    available = c.time_range()
    clip = otio.schema.Clip(
        name=c.name,
        source_range=available,
        metadata={
            "proxx": {
                "job_id": job_id,
                "index": c.index,
                "tape": c.tape,
                "source_path": c.source_path,
                "proxy_path": c.proxy_path,
                "proxy_sha256": c.proxy_sha256,
                "rate": f"{c.rate.numerator}/{c.rate.denominator}",
                "start_timecode": c.source_timecode,
                "drop_frame": c.drop_frame,
            }
        },
    )
    converters = {"fcp_xml": {"timecode": fcp_xml_timecode(c)}}
    original = otio.schema.ExternalReference(
        target_url=Path(c.source_path).as_uri(), available_range=available, metadata=converters
    )
    proxy = otio.schema.ExternalReference(
        target_url=Path(c.proxy_path).as_uri(), available_range=available, metadata=converters
    )
    clip.set_media_references(
        {otio.schema.Clip.DEFAULT_MEDIA_KEY: original, PROXY_KEY: proxy}, otio.schema.Clip.DEFAULT_MEDIA_KEY
    )
    return clip


def otio_text(job_id: str, clips: list[DeliveredClip]) -> str:
    import opentimelineio as otio

    rates = {c.rate for c in clips}
    # OpenTimelineIO's ALE adapter writes every time at the header's FPS (24 when absent)
    metadata = {"ALE": {"header": {"FPS": rate_label(rates.pop())}}} if len(rates) == 1 else {}
    timeline = otio.schema.Timeline(name=job_id, metadata=metadata)
    track = otio.schema.Track(name="V1", kind=otio.schema.TrackKind.Video)
    timeline.tracks.append(track)
    for c in clips:
        track.append(otio_clip(job_id, c))
    return otio.adapters.write_to_string(timeline, "otio_json") + "\n"


class OtioSink(DeliverableSink):
    name = "otio"

    def file_names(self, document, job_id):
        return [f"{job_id}.otio"]

    def write(self, job: DeliveryJob):
        text = otio_text(job.job_id, delivered_clips(job))
        return [(f"{job.job_id}.otio", text.encode("utf-8"))]


@hookimpl
def proxx_register_deliverables(register):
    register(OtioSink())
