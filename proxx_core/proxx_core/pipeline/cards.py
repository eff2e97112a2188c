"""Sources from folders, camera cards and globs: the clips a DIT means, not the clutter beside them.

A camera card is a folder tree whose layout the camera fixes (``XDROOT/Clip`` for XDCAM,
``PRIVATE/M4ROOT/CLIP`` for XAVC, ...). :func:`expand` walks each folder given, recognises the card
structures below wherever they sit (a day's folder may hold several cards), takes the media files of
each card's media folder and every media file of a plain folder, and reports everything else it
skipped with the reason. The result is a pure function of the names in the tree: sorted, never
dependent on the order the file system lists them, so a folder source expands to the same job on
every node and every rerun.

Nothing is opened: the walk only lists directories and ``lstat``s entries, so a FIFO, socket or
device in a folder is skipped as "not a regular file" and can never block Proxx. Symbolic links to
folders are not followed (a card copied with a loop in it cannot make the walk endless).

Spanned recordings (one recording continued across files) are handled as NLEs handle them:

* RED (``CLIP.RDC/CLIP_001.R3D``, ``_002``, ...): only ``_001`` is taken; the R3D reader follows the
  rest, as every NLE does.
* GoPro chapters (``GX010042.MP4``, ``GX020042.MP4``, ...): each chapter is its own clip in every NLE,
  so each gets its own proxy; the span is reported.
* Canon XF clip folders with several parts (``AA0001/AA000101.MXF``, ``AA000102.MXF``): each part is
  taken and the span reported (NLEs join them only through Canon's import plug-in).

Panasonic P2 keeps video and each audio channel in separate OP-Atom files (``CONTENTS/VIDEO``,
``CONTENTS/AUDIO``); a proxy of the video file alone would have no sound and would not relink, so a
P2 card is refused with the reason (:attr:`Expansion.problems`).
"""

from __future__ import annotations

import glob
import os
import re
import stat
from collections.abc import Iterable, Sequence
from typing import Any

import attrs

from .document import declared_minor

#: what a camera original's file name ends with (lower case)
MEDIA_EXTENSIONS = frozenset(
    {
        ".mov",
        ".mp4",
        ".m4v",
        ".mxf",
        ".mts",
        ".m2ts",
        ".m2t",
        ".mpg",
        ".mpeg",
        ".avi",
        ".mkv",
        ".dv",
        ".braw",
        ".r3d",
        ".crm",
        ".ari",
        ".arx",
        ".nev",
        ".cine",
    }
)
#: files cameras and computers leave beside the clips, and why they are not sources
SIDECAR_REASONS = {
    ".xml": "clip metadata (XML)",
    ".bim": "Sony clip metadata (BIM)",
    ".smi": "Sony clip metadata (SMI)",
    ".ppn": "Sony picture pointer (PPN)",
    ".cpi": "AVCHD clip information (CPI)",
    ".mpl": "AVCHD playlist (MPL)",
    ".bdm": "AVCHD index (BDM)",
    ".scr": "Canon screen data (SCR)",
    ".cif": "Canon clip information (CIF)",
    ".cpf": "Canon clip information (CPF)",
    ".mif": "Canon index (MIF)",
    ".thm": "thumbnail (THM)",
    ".lrv": "GoPro low-resolution preview (LRV)",
    ".lrf": "DJI low-resolution preview (LRF)",
    ".srt": "subtitle or drone telemetry (SRT)",
    ".rmd": "RED metadata (RMD)",
    ".rtn": "RED thumbnail (RTN)",
    ".sidecar": "Blackmagic RAW sidecar",
    ".jpg": "still image",
    ".jpeg": "still image",
    ".png": "still image",
    ".dng": "still image (a CinemaDNG sequence is not a clip file)",
    ".wav": "audio-only file",
    ".txt": "text file",
    ".pdf": "document",
    ".ale": "editorial list (ALE)",
    ".edl": "editorial list (EDL)",
    ".mhl": "media hash list",
    ".md5": "checksum list",
    ".bin": "camera data (BIN)",
    ".dat": "camera data (DAT)",
    ".ini": "camera settings",
    ".log": "log file",
}

_GOPRO_CHAPTER = re.compile(r"^(G[HXLP])(\d\d)(\d{4})\.MP4$", re.IGNORECASE)
_RED_PART = re.compile(r"^(.*)_(\d{3})\.R3D$", re.IGNORECASE)
_CANON_PART = re.compile(r"^([A-Z]{2}\d{4})(\d\d)\.MXF$", re.IGNORECASE)


@attrs.frozen
class Skipped:
    """A file a folder held that is not a source, and why."""

    path: str
    reason: str


@attrs.frozen
class Span:
    """One recording continued across files, and what Proxx does with it (as NLEs do)."""

    recording: str
    files: tuple[str, ...]
    handling: str


@attrs.frozen
class Card:
    """A camera card structure found in a folder."""

    root: str
    kind: str


@attrs.frozen
class FolderProblem:
    """A path that cannot give sources (missing, a P2 card), with the fix."""

    path: str
    message: str


@attrs.frozen
class Expansion:
    sources: tuple[str, ...]
    skipped: tuple[Skipped, ...] = ()
    cards: tuple[Card, ...] = ()
    spans: tuple[Span, ...] = ()
    problems: tuple[FolderProblem, ...] = ()


@attrs.frozen
class _Layout:
    """A card structure: the folder (relative to the card root, case-insensitive) that marks it and
    holds its clips, and whether clips sit one folder deeper (one folder per clip)."""

    kind: str
    media: tuple[str, ...]
    nested: bool = False


#: checked in this order at every folder; the first whose media folder exists wins
_LAYOUTS = (
    _Layout("Sony XDCAM", ("XDROOT", "Clip")),
    _Layout("Sony XAVC / NXCAM", ("PRIVATE", "M4ROOT", "CLIP")),
    _Layout("AVCHD", ("PRIVATE", "AVCHD", "BDMV", "STREAM")),
    _Layout("AVCHD", ("AVCHD", "BDMV", "STREAM")),
    _Layout("Canon XF / Cinema RAW Light", ("CONTENTS", "CLIPS001"), nested=True),
    _Layout("action camera / drone (DCIM)", ("DCIM",), nested=True),
)


def _sort_key(path: str) -> tuple[str, str]:
    return path.casefold(), path


def _entries(folder: str) -> list[os.DirEntry[str]]:
    with os.scandir(folder) as it:
        return sorted(it, key=lambda e: _sort_key(e.name))


def _child(folder: str, name: str) -> str | None:
    """The sub-folder of ``folder`` called ``name`` in any letter case (cards copied to a case-
    sensitive disk keep the camera's case; copies made by hand may not)."""
    try:
        for entry in _entries(folder):
            if entry.name.casefold() == name.casefold() and entry.is_dir(follow_symlinks=False):
                return entry.path
    except OSError:
        return None
    return None


def _descend(root: str, parts: Sequence[str]) -> str | None:
    here: str | None = root
    for part in parts:
        if here is None:
            return None
        here = _child(here, part)
    return here


class _Walk:
    def __init__(self) -> None:
        self.sources: list[str] = []
        self.skipped: list[Skipped] = []
        self.cards: list[Card] = []
        self.spans: list[Span] = []
        self.problems: list[FolderProblem] = []

    def skip(self, path: str, reason: str) -> None:
        self.skipped.append(Skipped(path=path, reason=reason))

    # -- files -------------------------------------------------------------------------------
    def file(self, entry: os.DirEntry[str]) -> None:
        """A plain file in a media folder: a source, or skipped with the reason."""
        name = entry.name
        try:
            st = entry.stat(follow_symlinks=True)
        except OSError as exc:
            self.skip(entry.path, f"cannot be read ({exc.strerror})")
            return
        if not stat.S_ISREG(st.st_mode):
            self.skip(entry.path, "not a regular file (a FIFO, socket or device is never read)")
            return
        if name.startswith("._"):
            self.skip(entry.path, "macOS resource fork (AppleDouble)")
            return
        if name.startswith("."):
            self.skip(entry.path, "hidden file")
            return
        ext = os.path.splitext(name)[1].lower()
        if ext not in MEDIA_EXTENSIONS:
            self.skip(entry.path, SIDECAR_REASONS.get(ext, "not a media file Proxx recognises"))
            return
        if st.st_size == 0:
            self.skip(entry.path, "empty file (0 bytes): the copy from the card may have failed")
            return
        self.sources.append(entry.path)

    def media_folder(self, folder: str, *, nested: bool, skip_folders: str) -> None:
        """The clips of one card's media folder (and, if ``nested``, of its sub-folders)."""
        try:
            entries = _entries(folder)
        except OSError as exc:
            self.problems.append(FolderProblem(folder, f"cannot be listed ({exc.strerror}); check permissions"))
            return
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if nested:
                    self.media_folder(entry.path, nested=nested, skip_folders=skip_folders)
                else:
                    self.skip(entry.path + os.sep, skip_folders)
            else:
                self.file(entry)

    # -- folders -----------------------------------------------------------------------------
    def folder(self, folder: str) -> None:
        """A folder that may be a card root, a folder of cards, or a plain folder of clips."""
        try:
            entries = _entries(folder)
        except OSError as exc:
            self.problems.append(FolderProblem(folder, f"cannot be listed ({exc.strerror}); check permissions"))
            return
        if self.p2(folder):
            return
        for layout in _LAYOUTS:
            media = _descend(folder, layout.media)
            if media is not None:
                self.card(folder, layout, media, entries)
                return
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                if entry.name.casefold().endswith(".rdm"):
                    self.red(entry.path)
                elif entry.name.startswith("."):
                    self.skip(entry.path + os.sep, "hidden folder")
                else:
                    self.folder(entry.path)
            elif entry.is_symlink() and os.path.isdir(entry.path):
                self.skip(entry.path, "link to a folder (not followed; name the folder itself)")
            else:
                self.file(entry)

    def card(self, root: str, layout: _Layout, media: str, entries: Iterable[os.DirEntry[str]]) -> None:
        self.cards.append(Card(root=root, kind=layout.kind))
        self.media_folder(
            media, nested=layout.nested, skip_folders=f"{layout.kind} card data (camera proxies, metadata), not clips"
        )
        here, parts = root, layout.media
        for depth in range(len(parts)):  # every folder beside the media path is the card's bookkeeping
            listing = entries if depth == 0 else _entries(here)
            for entry in listing:
                if entry.name.casefold() == parts[depth].casefold():
                    continue
                if entry.is_dir(follow_symlinks=False):
                    self.skip(
                        entry.path + os.sep,
                        f"{layout.kind} card data (camera proxies, thumbnails, metadata), not clips",
                    )
                else:
                    self.file(entry)
            nxt = _child(here, parts[depth])
            if nxt is None or nxt == media:
                break
            here = nxt

    def p2(self, folder: str) -> bool:
        contents = _child(folder, "CONTENTS")
        if contents is None or _child(contents, "VIDEO") is None or _child(contents, "AUDIO") is None:
            return False
        self.cards.append(Card(root=folder, kind="Panasonic P2"))
        self.problems.append(
            FolderProblem(
                folder,
                (
                    "is a Panasonic P2 card: each clip's video (CONTENTS/VIDEO) and audio channels (CONTENTS/AUDIO) "
                    "are "
                    "separate OP-Atom files, and a proxy of the video file alone would have no sound and would not "
                    "relink. Proxx does not join them; rewrap the clips to MOV or MXF OP1a with audio (for example "
                    "with "
                    "Panasonic P2 Viewer Plus) and point Proxx at those files"
                ),
            )
        )
        return True

    def red(self, rdm: str) -> None:
        """A RED magazine: one ``.RDC`` folder per clip, take the first part of each spanned clip."""
        self.cards.append(Card(root=rdm, kind="RED"))
        for entry in _entries(rdm):
            if not entry.is_dir(follow_symlinks=False) or not entry.name.casefold().endswith(".rdc"):
                if entry.is_dir(follow_symlinks=False):
                    self.skip(entry.path + os.sep, "RED card data, not a clip")
                else:
                    self.file(entry)
                continue
            parts: list[os.DirEntry[str]] = []
            for item in _entries(entry.path):
                if _RED_PART.match(item.name) and not item.is_dir(follow_symlinks=False):
                    parts.append(item)
                elif not item.is_dir(follow_symlinks=False):
                    self.file(item)
            if not parts:
                continue
            self.file(parts[0])
            for part in parts[1:]:
                self.skip(part.path, f"part of the spanned RED clip {parts[0].name}, read through it")
            if len(parts) > 1:
                self.spans.append(
                    Span(
                        recording=entry.name,
                        files=tuple(p.path for p in parts),
                        handling=("one proxy from the first part: the R3D reader follows the other parts, as NLEs do"),
                    )
                )

    # -- spans of files already taken ---------------------------------------------------------
    def find_spans(self) -> None:
        gopro: dict[tuple[str, str, str], list[str]] = {}
        canon: dict[tuple[str, str], list[str]] = {}
        for path in self.sources:
            folder, name = os.path.split(path)
            m = _GOPRO_CHAPTER.match(name)
            if m:
                gopro.setdefault((folder, m.group(1).upper(), m.group(3)), []).append(path)
            c = _CANON_PART.match(name)
            if c:
                canon.setdefault((folder, c.group(1).upper()), []).append(path)
        for (_, prefix, number), files in sorted(gopro.items()):
            if len(files) > 1:
                self.spans.append(
                    Span(
                        recording=f"GoPro {prefix}..{number}",
                        files=tuple(files),
                        handling=("each chapter is its own clip in every NLE, so each gets its own proxy"),
                    )
                )
        for (_, clip), files in sorted(canon.items()):
            if len(files) > 1:
                self.spans.append(
                    Span(
                        recording=f"Canon {clip}",
                        files=tuple(files),
                        handling=(
                            "each part gets its own proxy; NLEs join the parts only through Canon's import plug-in, so "
                            "import the part files themselves to relink"
                        ),
                    )
                )


def _has_glob(text: str) -> bool:
    return glob.has_magic(text)


def expand(paths: Sequence[str]) -> Expansion:
    """Sources from files, folders (cards) and glob patterns, in the order given; each folder's
    clips in name order. Duplicates (a file named twice) are kept once, where first named."""
    walk = _Walk()
    for given in paths:
        if "\x00" in given:
            walk.problems.append(FolderProblem(repr(given), "contains a NUL character"))
            continue
        path = os.path.abspath(os.path.expanduser(given))
        if os.path.isdir(path):
            walk.folder(path)
        elif os.path.lexists(path):
            try:
                st = os.stat(path)
            except OSError as exc:
                walk.problems.append(FolderProblem(path, f"cannot be accessed ({exc.strerror})"))
                continue
            if stat.S_ISREG(st.st_mode):
                walk.sources.append(path)  # named explicitly: taken whatever its extension
            else:
                walk.problems.append(FolderProblem(path, "is not a regular file or folder"))
        elif _has_glob(given):
            matches = sorted(glob.glob(path, recursive=True), key=_sort_key)
            if not matches:
                walk.problems.append(FolderProblem(path, "the pattern matches nothing"))
            for match in matches:
                if os.path.isdir(match):
                    walk.folder(match)
                else:
                    walk.file(_entry_for(match))
        else:
            walk.problems.append(
                FolderProblem(path, "no such file or folder; check the path and that the volume is mounted")
            )
    walk.find_spans()
    unique = tuple(dict.fromkeys(walk.sources))  # first mention wins, order kept
    return Expansion(
        sources=unique,
        skipped=tuple(walk.skipped),
        cards=tuple(walk.cards),
        spans=tuple(walk.spans),
        problems=tuple(walk.problems),
    )


def _entry_for(path: str) -> os.DirEntry[str]:
    folder, name = os.path.split(path)
    return next(entry for entry in _entries(folder) if entry.name == name)


#: the JobSpec minor version from which a ``sources`` entry may name a folder, card or glob pattern
FOLDER_SOURCES_SINCE_MINOR = 2


def expand_document(document: Any) -> tuple[Any, tuple[dict[str, Any], ...], list[tuple[int, str]]]:
    """A JobSpec 1.2 document whose ``sources`` name folders (cards) or glob patterns, with each such
    entry replaced, in place, by the clips it holds (in name order): the document every later step
    checks and the result records, file by file. Also the record of each expansion (the entry as
    given, the sources it gave, what it skipped and why, cards and spans) and the problems met
    ``(source index, message)``. Documents before 1.2, and entries that name files, pass unchanged."""
    if not isinstance(document, dict) or declared_minor(document) < FOLDER_SOURCES_SINCE_MINOR:
        return document, (), []
    given = document.get("sources")
    if not isinstance(given, list):
        return document, (), []
    sources: list[Any] = []
    records: list[dict[str, Any]] = []
    problems: list[tuple[int, str]] = []
    for i, entry in enumerate(given):
        if (
            not isinstance(entry, str)
            or not os.path.isabs(entry)
            or "\x00" in entry
            or not (os.path.isdir(entry) or (_has_glob(entry) and not os.path.lexists(entry)))
        ):
            sources.append(entry)  # a file (or a mistake the later checks word): as given
            continue
        exp = expand([entry])
        problems.extend((i, p.message if p.path == entry else f"{p.path}: {p.message}") for p in exp.problems)
        if not exp.sources and not exp.problems:
            seen = "; ".join(f"{os.path.basename(s.path.rstrip(os.sep))}: {s.reason}" for s in exp.skipped[:3])
            more = f" and {len(exp.skipped) - 3} more" if len(exp.skipped) > 3 else ""
            problems.append((i, f"{entry}: no media files in it" + (f" (skipped {seen}{more})" if seen else "")))
        sources.extend(exp.sources)
        records.append(
            {
                "given": entry,
                "index": i,
                "sources": list(exp.sources),
                "skipped": [{"path": s.path, "reason": s.reason} for s in exp.skipped],
                "cards": [{"root": c.root, "kind": c.kind} for c in exp.cards],
                "spans": [
                    {"recording": s.recording, "files": list(s.files), "handling": s.handling} for s in exp.spans
                ],
            }
        )
    if not records:
        return document, (), problems
    return {**document, "sources": sources}, tuple(records), problems
