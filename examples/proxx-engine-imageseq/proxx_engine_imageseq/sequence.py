"""Numbered image sequences: what a JobSpec source names, and how the clip is derived from it.

A JobSpec source is one existing file, so a sequence is named by the frame it starts at
(``/shots/A001/shot_1001.dpx``). The clip is the contiguous run of frames from there on with the
same prefix, zero padding and extension (``shot_1001.dpx``, ``shot_1002.dpx``, ... up to the first
missing number). Its start timecode is the first frame number counted at the frame rate (frame
86400 at 24 fps is ``01:00:00:00``); its frame rate is 24 fps unless a sidecar file says otherwise.

Sidecar: ``<prefix without trailing . _ - or space>.proxx.json`` beside the frames (``shot.proxx.json``
for ``shot_1001.dpx``; ``proxx.json`` when the names are bare numbers), holding exactly
``{"frame_rate": "24000/1001"}`` (an integer or ``"num/den"``).
"""

from __future__ import annotations

import json
import os
import re

import attrs

from proxx_core import FrameRate, ProxxError
from proxx_core.kit import open_regular

#: file extension -> the libav decoder that reads it
EXTENSIONS = {
    ".dpx": "dpx",
    ".exr": "exr",
    ".jpeg": "mjpeg",
    ".jpg": "mjpeg",
    ".png": "png",
    ".tif": "tiff",
    ".tiff": "tiff",
}
DEFAULT_RATE = FrameRate(num=24, den=1)
SIDECAR_SUFFIX = "proxx.json"
_NUMBERED = re.compile(r"^(?P<prefix>.*?)(?P<number>\d+)(?P<ext>\.[A-Za-z]+)$")
_RATE = re.compile(r"^[1-9]\d*(/[1-9]\d*)?$")


@attrs.frozen(kw_only=True)
class Sequence:
    directory: str
    prefix: str
    #: zero-padded width of the frame numbers ("1001" -> 4)
    digits: int
    ext: str
    first: int

    def frame(self, number: int) -> str:
        return os.path.join(self.directory, f"{self.prefix}{number:0{self.digits}d}{self.ext}")

    @property
    def pattern(self) -> str:
        """FFmpeg's image2 pattern for the run (a literal ``%`` in a name is escaped)."""
        name = self.prefix.replace("%", "%%") + f"%0{self.digits}d" + self.ext
        return os.path.join(self.directory.replace("%", "%%"), name)

    @property
    def sidecar(self) -> str:
        stem = self.prefix.rstrip("._- ")
        return os.path.join(self.directory, f"{stem}.{SIDECAR_SUFFIX}" if stem else SIDECAR_SUFFIX)


def parse_name(path: str) -> Sequence | None:
    """The sequence a first-frame path names, from the name alone; None if it names none."""
    directory, name = os.path.split(os.path.abspath(path))
    m = _NUMBERED.match(name)
    if m is None or m.group("ext").lower() not in EXTENSIONS:
        return None
    return Sequence(
        directory=directory,
        prefix=m.group("prefix"),
        digits=len(m.group("number")),
        ext=m.group("ext"),
        first=int(m.group("number")),
    )


def count_frames(seq: Sequence) -> int:
    """How many contiguous frames exist from ``seq.first`` on."""
    n = seq.first
    while os.path.isfile(seq.frame(n)):
        n += 1
    return n - seq.first


def frame_rate(seq: Sequence) -> FrameRate:
    """The sidecar's frame rate, or 24 fps when there is no sidecar."""
    if not os.path.exists(seq.sidecar):
        return DEFAULT_RATE
    fix = f'write exactly {{"frame_rate": "24000/1001"}} (an integer or "num/den") or delete {seq.sidecar}'
    try:
        with open_regular(seq.sidecar) as fh:  # a FIFO in its place is refused, never waited on
            data = json.loads(fh.read(64 * 1024).decode("utf-8"))
    except (OSError, ValueError) as exc:
        raise ProxxError(f"{seq.sidecar}: unreadable sidecar ({exc}); {fix}", category="validation") from None
    value = str(data.get("frame_rate", "")) if isinstance(data, dict) and set(data) == {"frame_rate"} else ""
    if not _RATE.match(value):
        raise ProxxError(f"{seq.sidecar}: invalid sidecar {repr(data)[:80]}; {fix}", category="validation")
    return FrameRate.parse(value)


def timecode(first_frame: int, rate: FrameRate) -> str:
    """Non-drop-frame timecode of a frame number counted from 00:00:00:00 at ``rate``."""
    fps = rate.nominal
    seconds, frames = divmod(first_frame, fps)
    return f"{seconds // 3600 % 24:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}:{frames:02d}"
