"""Where proxies land: the JobSpec 1.1 ``layout`` key and the ``raster`` key. Pure path arithmetic.

- ``output_dir`` (default, 1.0 behaviour): ``<output_dir>/<template>.<ext>``.
- ``proxy_subfolder``: ``<source folder>/Proxy/<source name>.<ext>``, the Blackmagic Proxy Generator
  and Resolve 18+ convention (Resolve attaches such proxies by itself). Proxx creates only the
  ``Proxy`` leaf, inside a source folder that exists and is writable, never a parent; a ``Proxy``
  that is a symbolic link or not a directory is refused.
- ``avid_mxf``: ``<output_dir>/Avid MediaFiles/MXF/1/<template>_<unique>.V1.mxf`` plus one
  ``<template>_<unique>.A<k>.mxf`` per audio channel (MXF OP-Atom, DNxHR only; ``<unique>``: see
  :func:`avid_unique_part`). Proxx creates the three folders inside ``output_dir`` (which must
  exist, as always).

Validation (spec.py) and planning (jobs.py) use these functions; the runner only creates the
folders :func:`folders_to_create` names, right before the clip's temp file.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from fractions import Fraction
from typing import TYPE_CHECKING

import attrs

from ..contract.errors import Problem, shown
from ..contract.media import VideoInfo
from ..contract.profiles import PROFILES, Profile, fit_aspect_problem, fit_raster
from ..contract.targets import Target
from ..contract.vocabulary import Layout, Raster
from ..io.digests import short_sha256
from ..io.writegate import SourceIndex, WriteGate, folder_key, name_key
from ..io.writegate import identity as file_identity
from ..rules.naming import _NameInputs, name_problem, output_names, render_name, template_token_problems
from ..support.specvalues import DraftSpec, Invalid

if TYPE_CHECKING:
    from ..io.writegate import Identity, WriteGate

LAYOUTS = tuple(Layout)
DEFAULT_LAYOUT = Layout.OUTPUT_DIR
#: the folder Resolve 18+ and Blackmagic Proxy Generator look in, beside the originals
PROXY_FOLDER = "Proxy"
#: Avid's managed-media folders; ``1`` is the first numbered folder, the one Media Composer itself
#: starts with (it rebuilds a folder's database when it finds new files in it)
AVID_FOLDERS = ("Avid MediaFiles", "MXF", "1")
#: the only profile codec Media Composer takes as OP-Atom managed media here
AVID_CODECS = ("dnxhr",)
#: Proxx keeps each Avid media file name within this many characters (Media Composer's own names,
#: clip name + track + unique part, stay well under it; Avid documents no exact limit)
AVID_NAME_MAX = 64
#: hex digits of the unique part of an Avid media file name (48 bits)
AVID_UNIQUE_HEX = 12
#: the longest track part Proxx appends (``.A999.mxf``): the clip name is cut to leave room for it
_AVID_TRACK_PART = len(".A999.mxf")

RASTERS = tuple(Raster)
DEFAULT_RASTER = Raster.FIT
_DIVISORS: dict[str, int] = {Raster.HALF: 2, Raster.QUARTER: 4}


def proxy_folder(source: str) -> str:
    return os.path.join(os.path.dirname(source), PROXY_FOLDER)


def avid_folder(output_dir: str) -> str:
    return os.path.join(output_dir, *AVID_FOLDERS)


def clip_folder(layout: str, source: str, output_dir: str | None) -> str:
    """The folder a clip's files go to under ``layout``."""
    if layout == Layout.PROXY_SUBFOLDER:
        return proxy_folder(source)
    if layout == Layout.AVID_MXF:
        return avid_folder(output_dir or "")
    return output_dir or ""


def folders_to_create(layout: str, source: str, output_dir: str | None) -> tuple[str, ...]:
    """The folders Proxx may create for a clip, outermost first (each inside a declared folder)."""
    if layout == Layout.PROXY_SUBFOLDER:
        return (proxy_folder(source),)
    if layout == Layout.AVID_MXF:
        out = []
        here = output_dir or ""
        for part in AVID_FOLDERS:
            here = os.path.join(here, part)
            out.append(here)
        return tuple(out)
    return ()


def avid_unique_part(source: str, name: str, profile: str) -> str:
    """The unique part of a clip's Avid file names: hex of a hash of what makes the clip itself,
    node-independent (a fleet maps paths): the source's base name, size and modification time (whole
    seconds), the rendered name and the profile. Reruns of the clip give the same part; another
    card's clip of the same name (another size or time) another, so both can share one Avid folder."""
    try:
        st = os.stat(source)
        identity = f"{st.st_size}:{int(st.st_mtime)}"
    except OSError:
        identity = ""  # a missing source is refused elsewhere; the name stays computable
    text = "\0".join(("proxx-avid-name-1", os.path.basename(source), identity, name, profile))
    return short_sha256(text.encode("utf-8")).hexdigest()[:AVID_UNIQUE_HEX]


def avid_clip_name(name: str, source: str, profile: str) -> str:
    """``<clip>_<unique>.mxf``, the base of a clip's files (:func:`op_atom_targets` adds ``.V1``,
    ``.A1``...): the rendered ``name`` without its extension, cut so that every file name stays within
    :data:`AVID_NAME_MAX` characters, plus :func:`avid_unique_part`."""
    stem = name.removesuffix(".mxf")  # not splitext: a name of leading dots ("..mxf") has no extension to it
    room = AVID_NAME_MAX - 1 - AVID_UNIQUE_HEX - _AVID_TRACK_PART
    stem = stem[:room].rstrip(" .") or "clip"
    return f"{stem}_{avid_unique_part(source, name, profile)}.mxf"


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
    if layout == Layout.PROXY_SUBFOLDER:
        parent = os.path.dirname(folder)
        try:
            st = os.lstat(folder)
        except FileNotFoundError:
            if not os.access(parent, os.W_OK | os.X_OK):
                return [
                    Problem(
                        path=where,
                        message=(
                            f"{parent}: is not writable by this user, so Proxx cannot create {PROXY_FOLDER}/ in it "
                            f"(layout proxy_subfolder); fix its permissions or use layout output_dir"
                        ),
                    )
                ]
            return []
        except OSError as exc:
            return [Problem(path=where, message=f"{folder}: cannot be inspected ({exc.strerror})")]
        if stat.S_ISLNK(st.st_mode):
            return [
                Problem(
                    path=where,
                    message=(
                        f"{folder}: is a symbolic link; Proxx writes proxies only into a real {PROXY_FOLDER} folder "
                        f"beside the source (it could point anywhere); replace it by a folder"
                    ),
                )
            ]
        if not stat.S_ISDIR(st.st_mode):
            return [Problem(path=where, message=f"{folder}: exists and is not a folder; move it away")]
        if not os.access(folder, os.W_OK | os.X_OK):
            return [Problem(path=where, message=f"{folder}: is not writable by this user; fix its permissions")]
        return []
    if layout == Layout.AVID_MXF:
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
            return [
                Problem(
                    path=where,
                    message=(
                        f"{path}: is {'a symbolic link' if stat.S_ISLNK(st.st_mode) else 'not a folder'}; Avid "
                        "MediaFiles "
                        f"folders must be real folders inside output_dir"
                    ),
                )
            ]
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
        return (
            f"raster {str(raster)!r}: {video.width}x{video.height} does not divide by {d} into whole pixels; "
            f'use raster "fit" (or "half" if it divides by 2)'
        )
    w_i, h_i = int(w), int(h)
    needs_even_h = "420" in pix_fmt
    if w_i % 2 or (needs_even_h and h_i % 2):
        dims = "width" if w_i % 2 else "height"
        return (
            f"raster {str(raster)!r}: {video.width}x{video.height} / {d} = {w_i}x{h_i}, an odd {dims}, which "
            f'{pix_fmt} chroma cannot carry; use raster "half" or "fit", or a 4:2:2 profile (ProRes, DNxHR)'
        )
    if needs_even_h and video.field_dominance in ("tff", "bff") and h_i % 4:
        return (
            f"raster {str(raster)!r}: {video.width}x{video.height} / {d} = {w_i}x{h_i}; an interlaced 4:2:0 proxy "
            f'needs a height divisible by 4 (each field\'s chroma halves its lines); use raster "fit" or a '
            f"4:2:2 profile (ProRes)"
        )
    return w_i, h_i


def layout_document_problems(draft: DraftSpec, profile: Profile | None) -> list[Problem]:
    """What the layout/raster keys forbid, found from the document alone."""
    problems: list[Problem] = []
    layout = draft.layout
    if layout is Layout.AVID_MXF and profile is not None and profile.codec not in AVID_CODECS:
        problems.append(
            Problem(
                path="/layout",
                message=(
                    f"layout avid_mxf makes Avid managed media (MXF OP-Atom DNxHR) and profile {profile.name} is "
                    f"{profile.codec}; choose offline_dnxhr_lb_1920x1080 or another layout"
                ),
            )
        )
    template = draft.output_name_template
    if layout is Layout.PROXY_SUBFOLDER and isinstance(template, str) and template != PROXY_TEMPLATE:
        problems.append(
            Problem(
                path="/output_name_template",
                message=(
                    f"layout proxy_subfolder names each proxy after its source ({PROXY_TEMPLATE}), as Resolve links "
                    f"proxies by base name; remove output_name_template or set it to {PROXY_TEMPLATE!r}"
                ),
            )
        )
    return problems


#: the only name a proxy_subfolder proxy can have: Resolve matches the original's base name
PROXY_TEMPLATE = "{source_name}"


def output_paths(
    sources: tuple[str, ...],
    *,
    layout: str,
    output_dir: str | None,
    template: str | None,
    job_id: str,
    profile: Profile,
) -> tuple[list[str], list[Problem]]:
    """Each source's final output path under any layout (for avid_mxf: the clip's base path
    ``<folder>/<name>.mxf``; its files are :func:`op_atom_targets`), and every name problem: not
    portable, two outputs of the job one file (same folder, names equal after NFC + lower case), or
    an output that would replace a source."""
    if layout == DEFAULT_LAYOUT:  # every proxy in output_dir, named by the template (naming.output_names)
        names, name_problems = output_names(
            _NameInputs(
                sources=tuple(sources),
                output_dir=output_dir or "",
                output_name_template=template or "",
                proxy_profile=profile.name,
            ),
            job_id,
        )
        return [os.path.join(output_dir or "", n) for n in names], name_problems

    paths: list[str] = []
    problems: list[Problem] = []
    seen: dict[tuple[object, str], int] = {}
    index = SourceIndex(sources)
    folder_keys: dict[str, object] = {}
    where_name = "/sources" if layout == Layout.PROXY_SUBFOLDER else "/output_name_template"
    for i, src in enumerate(sources):
        folder = clip_folder(layout, src, output_dir)
        name = render_name(
            template or PROXY_TEMPLATE,
            source=src,
            index=i + 1,
            count=len(sources),
            job_id=job_id,
            profile=profile.name,
            extension=profile.extension,
        )
        why = name_problem(name)  # the rendered name, before Avid's cut and unique part
        if layout == Layout.AVID_MXF:
            name = avid_clip_name(name, src, profile.name)
        path = os.path.join(folder, name)
        paths.append(path)
        where = f"/sources/{i}" if layout == Layout.PROXY_SUBFOLDER else where_name
        at = i if layout == Layout.PROXY_SUBFOLDER else None
        if why:
            problems.append(Problem(path=where, message=f"for /sources/{i}: {why}", source_index=at))
            continue
        if folder not in folder_keys:
            # a folder not created yet is known by its parent's identity plus its own name
            ident = file_identity(folder)
            folder_keys[folder] = ident or (folder_key(os.path.dirname(folder)), name_key(os.path.basename(folder)))
        files = [name] if layout != Layout.AVID_MXF else [os.path.basename(t.path) for t in op_atom_targets(path, [])]
        for file_name in files:
            key = (folder_keys[folder], name_key(file_name))
            if key in seen:
                problems.append(
                    Problem(
                        path=where,
                        source_index=at,
                        message=(
                            f"/sources/{seen[key]} and /sources/{i} would both write "
                            f"{shown(os.path.join(folder, file_name), 300)} "
                            "(names are compared as case-insensitive, Unicode-normalising volumes do: two sources "
                            "in one "
                            f"folder with the same name and different extensions collide); "
                            + (
                                "move one of them to another folder or use layout output_dir with {source_ext} in "
                                "the template"
                                if layout == Layout.PROXY_SUBFOLDER
                                else "add {index} or {source_ext} to the template"
                            )
                        ),
                    )
                )
                continue
            seen[key] = i
            j = index.replaced_by(
                folder_keys[folder] if file_identity(folder) else None, file_name, os.path.join(folder, file_name)
            )
            if j is not None:
                problems.append(
                    Problem(
                        path=where,
                        source_index=at,
                        message=(
                            f"the output of /sources/{i} ({os.path.join(folder, file_name)}) would replace source "
                            f"/sources/{j} "
                            f"({sources[j]}); a source is never replaced"
                        ),
                    )
                )
    return paths, problems


def layout_problems(draft: DraftSpec, job_id: str | None) -> list[Problem]:
    """Names and folders of a non-default layout, when the fields they depend on are usable."""
    layout, sources = draft.layout, draft.sources
    profile = PROFILES[draft.proxy_profile] if isinstance(draft.proxy_profile, str) else None
    output_dir = draft.output_dir if isinstance(draft.output_dir, str) else None
    template = draft.output_name_template if isinstance(draft.output_name_template, str) else None
    if (
        layout not in (Layout.PROXY_SUBFOLDER, Layout.AVID_MXF)
        or profile is None
        or job_id is None
        or isinstance(sources, Invalid)
        or not sources
        or not all(os.path.isabs(s) for s in sources)
        or (layout is Layout.AVID_MXF and (output_dir is None or template is None))
    ):
        return []
    if layout is Layout.AVID_MXF and template is not None:
        bad = template_token_problems(template)
        if bad:
            return bad
    problems: list[Problem] = []
    checked: set[str] = set()
    for i, src in enumerate(sources):
        folder = clip_folder(layout, src, output_dir)
        if folder not in checked:
            checked.add(folder)
            if layout is Layout.PROXY_SUBFOLDER:
                problems += [attrs.evolve(p, source_index=i) for p in folder_problems(layout, folder, f"/sources/{i}")]
            else:
                problems += folder_problems(layout, folder, "/output_dir")
    problems += output_paths(
        sources, layout=layout, output_dir=output_dir, template=template, job_id=job_id, profile=profile
    )[1]
    return problems


def folders_written(layout: str, sources: Iterable[str], output_dir: str | None) -> list[str]:
    """The set of folders a job writes into (sorted): what validate and plan list."""
    return sorted({clip_folder(layout, s, output_dir) for s in sources})


def job_write_gate(
    sources: Iterable[str], *, layout: str, output_dir: str | None, source_ids: Iterable[Identity] = ()
) -> WriteGate:
    """The write gate of a job: its sources, and the folders its layout writes plus ``output_dir``
    (sidecars). Here, not in ``writegate``, because the folders are the layout's to say."""
    sources = tuple(sources)
    folders = [*folders_written(layout, sources, output_dir), *([output_dir] if output_dir else [])]
    return WriteGate(sources, folders, source_ids=source_ids)


def clip_raster(video: VideoInfo, profile: Profile, raster: str) -> tuple[int, int, str] | str:
    """(width, height, pixel aspect) of a clip's proxy under ``raster``, or why the profile cannot
    make it (refused at validation, never discovered after the encode)."""
    if raster == DEFAULT_RASTER:
        why = fit_aspect_problem(video, profile)
        if why:
            return why
        w, h = fit_raster(video, profile)
        return w, h, "1:1"
    got = divided_raster(video, raster, profile.pix_fmt)
    if isinstance(got, str):
        return got
    w, h = got
    if w < profile.min_width or h < profile.min_height:
        return (
            f"raster {str(raster)!r}: {w}x{h} is below the {profile.min_width}x{profile.min_height} minimum of "
            f'{profile.name}; use raster "half" or "fit"'
        )
    if video.sample_aspect != "1:1" and profile.container == "mxf":
        return (
            f"raster {str(raster)!r} keeps the source's pixel aspect {video.sample_aspect}, which FFmpeg's MXF "
            f'does not carry (it would read back as square pixels); use raster "fit" or a ProRes/H.264 profile'
        )
    return w, h, video.sample_aspect
