"""Where proxies land: the JobSpec 1.1 ``layout`` key and the ``raster`` key. Pure path arithmetic.

- ``output_dir`` (default, 1.0 behaviour): ``<output_dir>/<template>.<ext>``.
- ``proxy_subfolder``: ``<source folder>/Proxy/<source name>.<ext>``, the Blackmagic Proxy Generator
  and Resolve 18+ convention (Resolve attaches such proxies by itself). Proxx creates only the
  ``Proxy`` leaf, inside a source folder that exists and is writable, never a parent; a ``Proxy``
  that is a symbolic link or not a directory is refused.
- ``avid_mxf``: ``<output_dir>/Avid MediaFiles/MXF/1/<template>.V1.mxf`` plus one
  ``<template>.A<k>.mxf`` per audio channel (MXF OP-Atom, DNxHR only). Proxx creates the three
  folders inside ``output_dir`` (which must exist, as always).

Validation (spec.py) and planning (jobs.py) use these functions; the runner only creates the
folders :func:`folders_to_create` names, right before the clip's temp file.
"""

from __future__ import annotations

import os
import stat
from fractions import Fraction

import attrs

from .errors import Problem
from .media import VideoInfo

LAYOUTS = ("output_dir", "proxy_subfolder", "avid_mxf")
DEFAULT_LAYOUT = "output_dir"
#: the folder Resolve 18+ and Blackmagic Proxy Generator look in, beside the originals
PROXY_FOLDER = "Proxy"
#: Avid's managed-media folders; ``1`` is the first numbered folder, the one Media Composer itself
#: starts with (it rebuilds a folder's database when it finds new files in it)
AVID_FOLDERS = ("Avid MediaFiles", "MXF", "1")
#: the only profile codec Media Composer takes as OP-Atom managed media here
AVID_CODECS = ("dnxhr",)

RASTERS = ("fit", "half", "quarter")
DEFAULT_RASTER = "fit"
_DIVISORS = {"half": 2, "quarter": 4}


@attrs.frozen(kw_only=True)
class Target:
    """One file a clip publishes: what it carries and its final path."""

    #: "video" (the proxy, or the OP-Atom video track), or "audio" (one OP-Atom audio channel)
    kind: str
    path: str
    #: for "audio": the audio stream of the source (its position) and the channel within it, 0-based
    stream: int | None = None
    channel: int | None = None
    #: the hidden sibling the engine writes first (set by planning)
    temp_path: str = ""


def proxy_folder(source: str) -> str:
    return os.path.join(os.path.dirname(source), PROXY_FOLDER)


def avid_folder(output_dir: str) -> str:
    return os.path.join(output_dir, *AVID_FOLDERS)


def clip_folder(layout: str, source: str, output_dir: str | None) -> str:
    """The folder a clip's files go to under ``layout``."""
    if layout == "proxy_subfolder":
        return proxy_folder(source)
    if layout == "avid_mxf":
        return avid_folder(output_dir or "")
    return output_dir or ""


def folders_to_create(layout: str, source: str, output_dir: str | None) -> tuple[str, ...]:
    """The folders Proxx may create for a clip, outermost first (each inside a declared folder)."""
    if layout == "proxy_subfolder":
        return (proxy_folder(source),)
    if layout == "avid_mxf":
        out = []
        here = output_dir or ""
        for part in AVID_FOLDERS:
            here = os.path.join(here, part)
            out.append(here)
        return tuple(out)
    return ()


def op_atom_targets(video_path: str, audio_channels: list[int]) -> tuple[Target, ...]:
    """Files of one OP-Atom clip: ``<stem>.V1.mxf`` and ``<stem>.A<k>.mxf`` per channel, k from 1
    across every audio stream in order (a stereo stream and a mono one give A1, A2, A3)."""
    stem = video_path.removesuffix(".mxf")
    targets = [Target(kind="video", path=f"{stem}.V1.mxf")]
    k = 0
    for s, channels in enumerate(audio_channels):
        for c in range(channels):
            k += 1
            targets.append(Target(kind="audio", path=f"{stem}.A{k}.mxf", stream=s, channel=c))
    return tuple(targets)


def folder_problems(layout: str, folder: str, where: str) -> list[Problem]:
    """Whether a clip's folder can be used (or created) without leaving the declared folders."""
    if layout == "proxy_subfolder":
        parent = os.path.dirname(folder)
        try:
            st = os.lstat(folder)
        except FileNotFoundError:
            if not os.access(parent, os.W_OK | os.X_OK):
                return [Problem(path=where, message=(
                    f"{parent}: is not writable by this user, so Proxx cannot create {PROXY_FOLDER}/ in it "
                    f"(layout proxy_subfolder); fix its permissions or use layout output_dir"))]
            return []
        except OSError as exc:
            return [Problem(path=where, message=f"{folder}: cannot be inspected ({exc.strerror})")]
        if stat.S_ISLNK(st.st_mode):
            return [Problem(path=where, message=(
                f"{folder}: is a symbolic link; Proxx writes proxies only into a real {PROXY_FOLDER} folder "
                f"beside the source (it could point anywhere); replace it by a folder"))]
        if not stat.S_ISDIR(st.st_mode):
            return [Problem(path=where, message=f"{folder}: exists and is not a folder; move it away")]
        if not os.access(folder, os.W_OK | os.X_OK):
            return [Problem(path=where, message=f"{folder}: is not writable by this user; fix its permissions")]
        return []
    if layout == "avid_mxf":
        return _chain_problems(folder, len(AVID_FOLDERS), where)
    return []


def _chain_problems(folder: str, depth: int, where: str) -> list[Problem]:
    """Every existing level of ``folder``'s last ``depth`` parts must be a real, writable folder."""
    for level in range(depth):
        path = folder
        for _ in range(depth - 1 - level):
            path = os.path.dirname(path)
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            return []  # created at run time, inside output_dir (already checked writable)
        except OSError as exc:
            return [Problem(path=where, message=f"{path}: cannot be inspected ({exc.strerror})")]
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            return [Problem(path=where, message=(
                f"{path}: is {'a symbolic link' if stat.S_ISLNK(st.st_mode) else 'not a folder'}; Avid MediaFiles "
                f"folders must be real folders inside output_dir"))]
        if not os.access(path, os.W_OK | os.X_OK):
            return [Problem(path=where, message=f"{path}: is not writable by this user; fix its permissions")]
    return []


def make_folders(folders: tuple[str, ...]) -> None:
    """Create each missing folder (never a parent of the first); an existing one must be a real
    folder, not a symbolic link. Raises OSError naming the folder otherwise."""
    for path in folders:
        try:
            os.mkdir(path)
        except FileExistsError:
            pass
        st = os.lstat(path)
        if stat.S_ISLNK(st.st_mode) or not stat.S_ISDIR(st.st_mode):
            raise NotADirectoryError(20, "is not a real folder (a symbolic link or a file appeared there)", path)


def divided_raster(video: VideoInfo, raster: str, pix_fmt: str) -> tuple[int, int] | str:
    """Width/height of the source's stored raster divided exactly by 2 or 4 (pixel aspect kept),
    or why that raster cannot be made: not a whole number, or odd where the chroma needs even."""
    d = _DIVISORS[raster]
    w, h = Fraction(video.width, d), Fraction(video.height, d)
    if w.denominator != 1 or h.denominator != 1:
        return (f"raster {raster!r}: {video.width}x{video.height} does not divide by {d} into whole pixels; "
                f"use raster \"fit\" (or \"half\" if it divides by 2)")
    w_i, h_i = int(w), int(h)
    needs_even_h = "420" in pix_fmt
    if w_i % 2 or (needs_even_h and h_i % 2):
        dims = "width" if w_i % 2 else "height"
        return (f"raster {raster!r}: {video.width}x{video.height} / {d} = {w_i}x{h_i}, an odd {dims}, which "
                f"{pix_fmt} chroma cannot carry; use raster \"half\" or \"fit\", or a 4:2:2 profile (ProRes, DNxHR)")
    return w_i, h_i
