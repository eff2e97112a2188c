"""``"ale"``: an Avid Log Exchange file describing the proxies (Heading / Column / Data).

Avid merges an ALE into clips by Name, Tape and Start/End, so those come from the camera originals
(see clips.py); ``Source File`` is the proxy to link, ``Camera File`` the original it stands for.
A clip crossing midnight gets no End (it would wrap below Start); its Duration is written.
An ALE holds one FPS, so a job whose delivered clips differ in frame rate is refused here with the
rates named (split the job by frame rate).
"""

from __future__ import annotations

from proxx_core import hookimpl
from proxx_core.deliverables import DeliverableSink, DeliveryJob, write_sidecar

from .clips import DeliveredClip, delivered_clips

COLUMNS = ("Name", "Tape", "Start", "End", "Duration", "Tracks", "FPS", "Video Format", "Image Size",
           "Source File", "Camera File", "Proxy SHA-256")


def fps_text(clip: DeliveredClip) -> str:
    return f"{clip.rate_float:.3f}".rstrip("0").rstrip(".")


def video_format(width: int, height: int) -> str:
    """Avid's project format names for the common rasters, CUSTOM otherwise."""
    known = {(1920, 1080): "1080", (1280, 720): "720", (720, 576): "PAL", (720, 486): "NTSC"}
    return known.get((width, height), "CUSTOM")


def tracks(clip: DeliveredClip) -> str:
    return "V" + "".join(f"A{i + 1}" for i in range(sum(clip.audio_channels)))


def _cell(value: str) -> str:
    return " ".join(str(value).replace("\t", " ").splitlines())


def ale_text(clips: list[DeliveredClip]) -> str:
    rates = sorted({fps_text(c) for c in clips})
    if len(rates) != 1:
        raise ValueError(f"an ALE holds one FPS but the delivered clips run at {', '.join(rates)}; "
                         f"split the job by frame rate")
    first = clips[0]
    formats = sorted({video_format(c.width, c.height) for c in clips})
    heading = [("FIELD_DELIM", "TABS"), ("VIDEO_FORMAT", formats[0] if len(formats) == 1 else "CUSTOM"),
               ("AUDIO_FORMAT", f"{(first.audio_rate or 48000) // 1000}khz"), ("FPS", rates[0])]
    lines = ["Heading", *(f"{k}\t{v}" for k, v in heading), "", "Column", "\t".join(COLUMNS), "", "Data"]
    for c in clips:
        # a clip running past midnight has an End that wraps below its Start, which readers take as
        # an inconsistent row: leave End empty and let Duration say how long it is
        end = c.end_timecode if c.end_timecode > c.start_timecode else ""
        row = (c.name, c.tape, c.start_timecode, end, c.timecode(c.frames), tracks(c), fps_text(c),
               video_format(c.width, c.height), f"{c.width}x{c.height}", c.proxy_path, c.source_path,
               c.proxy_sha256 or "")
        lines.append("\t".join(_cell(v) for v in row))
    return "\n".join(lines) + "\n"


class AleSink(DeliverableSink):
    name = "ale"

    def problems(self, document, sources):
        rates = sorted({str((s.get("video") or {}).get("frame_rate")) for s in sources if s})
        if len(rates) > 1:
            return [(f"an ALE holds one FPS but the sources run at {', '.join(rates)}; split the job by frame "
                     f"rate or remove \"ale\"")]
        return []

    def file_names(self, document, job_id):
        return [f"{job_id}.ale"]

    def write(self, job: DeliveryJob):
        text = ale_text(delivered_clips(job))
        return [write_sidecar(job, self.name, f"{job.job_id}.ale", text.encode("utf-8"))]


@hookimpl
def proxx_register_deliverables(register):
    register(AleSink())
