"""``"otio"``: an OpenTimelineIO timeline (one video track, the clips in result order) where each
clip carries the camera original and the proxy as media references (OTIO's multiple media
references: key ``DEFAULT_MEDIA`` = original, active; key ``proxy`` = the proxy), for Resolve,
Premiere (via adapters) and pipelines.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from proxx_core import hookimpl
from proxx_core.deliverables import DeliverableSink, DeliveryJob, write_sidecar

from .clips import DeliveredClip, delivered_clips

if TYPE_CHECKING:
    import opentimelineio as otio

PROXY_KEY = "proxy"


def otio_clip(job_id: str, c: DeliveredClip) -> otio.schema.Clip:
    import opentimelineio as otio  # imported on use: `proxx` loads this plugin for every command

    available = c.time_range()
    clip = otio.schema.Clip(name=c.name, source_range=available, metadata={"proxx": {
        "job_id": job_id, "index": c.index, "tape": c.tape, "source_path": c.source_path,
        "proxy_path": c.proxy_path, "proxy_sha256": c.proxy_sha256}})
    original = otio.schema.ExternalReference(target_url=Path(c.source_path).as_uri(), available_range=available)
    proxy = otio.schema.ExternalReference(target_url=Path(c.proxy_path).as_uri(), available_range=available)
    clip.set_media_references({otio.schema.Clip.DEFAULT_MEDIA_KEY: original, PROXY_KEY: proxy},
                              otio.schema.Clip.DEFAULT_MEDIA_KEY)
    return clip


def otio_text(job_id: str, clips: list[DeliveredClip]) -> str:
    import opentimelineio as otio

    timeline = otio.schema.Timeline(name=job_id)
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
        return [write_sidecar(job, self.name, f"{job.job_id}.otio", text.encode("utf-8"))]


@hookimpl
def proxx_register_deliverables(register):
    register(OtioSink())
