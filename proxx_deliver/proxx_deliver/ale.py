"""``"ale"``: Avid Log Exchange files describing the camera originals and the proxies made of them.

Avid merges an ALE into clips by Name, Tape and Start/End, and into a project of the ALE's
``VIDEO_FORMAT`` and ``FPS``: so every fact in it is the camera original's (see clips.py), the
raster included (a ``raster: half`` proxy of a 1080 original is still a ``1080`` clip; Avid refuses
to merge a ``CUSTOM`` ALE into an HD project). ``Source File`` is the original's file name, as in
Media Composer's bin column of that name and the ALEs dailies tools write; ``Camera File`` its full
path; ``Proxy Path`` the proxy (for ``avid_mxf``, the managed-media folder holding the clip's
OP-Atom files, which Avid ties to the clip by package id, not by path).

An ALE holds one FPS: a job whose clips differ in frame rate gets one ALE per rate,
``<job_id>.<fps>fps.ale`` (``<job_id>.ale`` when there is one rate). A clip crossing midnight gets
no End (it would wrap below Start); its Duration is written. A cell cannot hold a tab or a line
break (the format's delimiters): such a name or path is refused at validate, never rewritten.
"""

from __future__ import annotations

import os
import unicodedata
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from proxx_core import hookimpl
from proxx_core.kit import DeliverableSink, DeliveryJob

from .clips import DeliveredClip, delivered_clip, linked_clips

COLUMNS = (
    "Name",
    "Tape",
    "Start",
    "End",
    "Duration",
    "Tracks",
    "FPS",
    "Video Format",
    "Image Size",
    "Source File",
    "Camera File",
    "Proxy Path",
    "Proxy SHA-256",
)


@attrs.frozen(kw_only=True)
class AleRow:
    """One delivered clip as the ALE needs it: the shared facts plus the original's raster and the
    proxy as the layout names it."""

    clip: DeliveredClip
    source_width: int
    source_height: int
    proxy_path: str
    proxy_sha256: str


def fps_text(clip: DeliveredClip) -> str:
    return f"{clip.rate_float:.3f}".rstrip("0").rstrip(".")


def video_format(width: int, height: int) -> str:
    """Avid's project format for an original's raster (by height, as OpenTimelineIO's ALE adapter
    maps it: 1440x1080 HDV is a 1080 format, 2048x1080 DCI is not), CUSTOM otherwise."""
    if height == 1080 and 0 < width <= 1920:
        return "1080"
    if height == 720 and 0 < width <= 1280:
        return "720"
    return {576: "PAL", 486: "NTSC", 480: "NTSC"}.get(height, "CUSTOM") if 0 < width <= 720 else "CUSTOM"


def tracks(clip: DeliveredClip) -> str:
    return "V" + "".join(f"A{i + 1}" for i in range(sum(clip.audio_channels)))


def unwritable(text: str) -> list[str]:
    """The characters of ``text`` an ALE cell cannot hold: control characters (tab and line feed are
    the format's delimiters; readers also split lines at CR, VT, FF, NEL) and the Unicode line and
    paragraph separators, named as U+XXXX."""
    bad = sorted({ch for ch in text if unicodedata.category(ch) in ("Cc", "Zl", "Zp")})
    return [f"U+{ord(ch):04X}" for ch in bad]


def _cell(value: str) -> str:
    if unwritable(value):  # validate refuses these (problems); never rewrite a name or path silently
        raise ValueError(f"an ALE cell cannot hold {', '.join(unwritable(value))}: {value!r}")
    return value


def ale_text(rows: Sequence[AleRow]) -> str:
    """One ALE of clips that share a frame rate."""
    rates = sorted({fps_text(r.clip) for r in rows})
    if len(rates) != 1:
        raise ValueError(f"an ALE holds one FPS but these clips run at {', '.join(rates)}")
    first = rows[0].clip
    formats = sorted({video_format(r.source_width, r.source_height) for r in rows})
    heading = [
        ("FIELD_DELIM", "TABS"),
        ("VIDEO_FORMAT", formats[0] if len(formats) == 1 else "CUSTOM"),
        ("AUDIO_FORMAT", f"{(first.audio_rate or 48000) // 1000}khz"),
        ("FPS", rates[0]),
    ]
    lines = ["Heading", *(f"{k}\t{v}" for k, v in heading), "", "Column", "\t".join(COLUMNS), "", "Data"]
    for r in rows:
        c = r.clip
        # a clip running past midnight has an End that wraps below its Start, which readers take as
        # an inconsistent row: leave End empty and let Duration say how long it is
        end = c.end_timecode if c.end_timecode > c.start_timecode else ""
        row = (
            c.name,
            c.tape,
            c.start_timecode,
            end,
            c.timecode(c.frames),
            tracks(c),
            fps_text(c),
            video_format(r.source_width, r.source_height),
            f"{r.source_width}x{r.source_height}",
            os.path.basename(c.source_path),
            c.source_path,
            r.proxy_path,
            r.proxy_sha256,
        )
        lines.append("\t".join(_cell(v) for v in row))
    return "\n".join(lines) + "\n"


def ale_row(clip: Mapping[str, Any]) -> AleRow:
    """``clip``: one delivered clip of the result's JSON data."""
    shared = delivered_clip(clip)
    video = ((clip["source"].get("info") or {}).get("video")) or {}
    output = clip["output"]
    if output.get("files"):  # avid_mxf: Avid finds its managed media by package id, in this folder
        proxy, sha = os.path.dirname(output["path"]), ""
    else:
        proxy, sha = output["path"], output.get("sha256") or ""
    return AleRow(
        clip=shared,
        source_width=int(video.get("width") or shared.width),
        source_height=int(video.get("height") or shared.height),
        proxy_path=proxy,
        proxy_sha256=sha,
    )


def ale_files(job_id: str, rows: Sequence[AleRow]) -> list[tuple[str, str]]:
    """(file name, text) per frame rate, slowest first: ``<job_id>.ale`` for a job of one rate,
    ``<job_id>.<fps>fps.ale`` each when the job mixes rates."""
    groups: dict[str, list[AleRow]] = {}
    for r in sorted(rows, key=lambda r: r.clip.rate):
        groups.setdefault(fps_text(r.clip), []).append(r)
    if len(groups) == 1:
        return [(f"{job_id}.ale", ale_text(rows))]
    return [(f"{job_id}.{fps}fps.ale", ale_text([r for r in rows if fps_text(r.clip) == fps])) for fps in groups]


def _sources(document: Mapping[str, Any]) -> list[str]:
    return [s for s in (document.get("sources") or []) if isinstance(s, str)]


def name_problems(document: Mapping[str, Any], sources: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every source path, reel name and proxy folder an ALE cell would have to change."""
    problems = []
    for i, path in enumerate(_sources(document)):
        if bad := unwritable(path):
            problems.append(
                f"sources[{i}] {path!r} holds {', '.join(bad)}, which an ALE cannot carry (tab and "
                f"line breaks delimit its cells; the Name and Camera File would no longer name the "
                f"file): rename the file without control characters or line separators, or remove "
                f'"ale"'
            )
    for info in sources:
        reel = str((info or {}).get("reel_name") or "")
        if bad := unwritable(reel):
            problems.append(
                f"a source's reel name {reel!r} holds {', '.join(bad)}, which an ALE cannot carry in "
                f'Tape: correct the reel name in the source\'s metadata, or remove "ale"'
            )
    for key in ("output_dir", "output_name_template"):
        value = document.get(key)
        if isinstance(value, str) and (bad := unwritable(value)):
            problems.append(
                f"{key} {value!r} holds {', '.join(bad)}, which an ALE cannot carry in Proxy Path: "
                f'choose one without control characters, or remove "ale"'
            )
    return problems


class AleSink(DeliverableSink):
    name = "ale"

    def problems(self, document, sources):
        return name_problems(document, sources)

    def file_names(self, document, job_id):
        return [f"{job_id}.ale"]

    def write(self, job: DeliveryJob):
        rows = [ale_row(c) for c in linked_clips(job)]
        return [(name, text.encode("utf-8")) for name, text in ale_files(job.job_id, rows)]


@hookimpl
def proxx_register_deliverables(register):
    register(AleSink())
