"""The one write gate: every file Proxx creates or replaces passes here, so no write can replace a
source or land outside the folders a job declares.

A write is refused when its final path is a source of the job: by identity ((st_dev, st_ino) of
the file there now) or by name (the identity of its folder plus the name as a case-insensitive,
Unicode-normalising volume compares it, for each source as given and as resolved), or when its
folder is not one the job declared (``output_dir`` and the layout's folders). Files are written to
a temporary sibling first, the checks run again right before the rename, and after the rename the
final name must hold the file written (its identity), so a race is reported, never published as ours.

Users: validation (:meth:`WriteGate.refusal` for every name a job will write, sidecars included),
the runner (:meth:`WriteGate.publish_claim` for proxies and OP-Atom files), the deliverable sinks
(:meth:`WriteGate.write_bytes` through ``deliverables.write_sidecar``) and tools that write a tree
themselves (:meth:`WriteGate.check_tree` before, :meth:`WriteGate.check_written` after: ASC MHL).
"""

from __future__ import annotations

import copy
import os
import unicodedata
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..contract.vocabulary import Category
from .atomic import publish
from .digests import file_sha256

if TYPE_CHECKING:
    from .tempclaim import TempClaim

#: (st_dev, st_ino): two paths name one file exactly when these are equal
Identity = tuple[int, int]


def identity(path: str) -> Identity | None:
    """(st_dev, st_ino) of what ``path`` points at (symlinks followed), or None if unreachable."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def lidentity(path: str) -> Identity | None:
    """(st_dev, st_ino) of the name itself (a symlink is not followed), or None."""
    try:
        st = os.lstat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def realpath(path: str) -> str:
    """``os.path.realpath`` that never raises (a NUL byte, a loop): the path itself then."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return path


def name_key(name: str) -> str:
    """The name as a case-insensitive, Unicode-normalising volume (APFS, NTFS, SMB shares) compares
    it: NFC, then lower case. Deliberately not ``str.casefold``, which maps ß to ss: none of those
    volumes does, so "Straße" and "Strasse" are two files there and two names here."""
    return unicodedata.normalize("NFC", name).lower()


def folder_key(folder: str) -> Any:
    """How a folder is recognised: its identity, or its resolved path while it does not exist."""
    return identity(folder) or realpath(folder)


class WriteRefused(Exception):
    """A write the gate refused or could not prove safe; ``category`` is the result category."""

    def __init__(self, message: str, category: str = "output_exists"):
        super().__init__(message)
        self.message = message
        self.category = category


class SourceIndex:
    """Where every source lives, keyed so that a lookup is O(1): (key of its folder, name key) for
    the path as given and for its real path, plus the identity of the file itself."""

    def __init__(self, sources: Iterable[str]):
        self.sources = tuple(sources)
        self.entries: dict[tuple[Any, str], int] = {}
        self.files: dict[Identity, int] = {}
        #: folder key -> [(name key, source index)]: for prefix questions (temporary-name space)
        self.by_folder: dict[Any, list[tuple[str, int]]] = {}
        dirs: dict[str, Any] = {}
        for j, src in enumerate(self.sources):
            for path in {src, realpath(src)}:
                head, tail = os.path.split(path)
                if head not in dirs:
                    dirs[head] = folder_key(head)
                key = (dirs[head], name_key(tail))
                if key not in self.entries:
                    self.entries[key] = j
                    self.by_folder.setdefault(dirs[head], []).append((key[1], j))
            ident = identity(src)
            if ident is not None:
                self.files.setdefault(ident, j)

    def replaced_by(self, folder: Any, name: str, path: str) -> int | None:
        """Index of the source that writing ``name`` into the folder keyed ``folder`` (see
        :func:`folder_key`) would replace, by name or by the identity of what is at ``path`` now."""
        hit = self.entries.get((folder, name_key(name)))
        if hit is None:
            ident = identity(path)
            hit = self.files.get(ident) if ident is not None else None
        return hit

    def at(self, path: str) -> int | None:
        """Index of the source that ``path`` names (by name or identity), or None."""
        head, tail = os.path.split(path)
        return self.replaced_by(folder_key(head), tail, path)

    def with_prefix(self, path: str) -> int | None:
        """Index of a source in ``path``'s folder whose name starts with ``path``'s name (the
        temporary-name space of an output: ``.<name>.proxx-partial`` and the engines' siblings)."""
        head, tail = os.path.split(path)
        prefix = name_key(tail)
        for key, j in self.by_folder.get(folder_key(head), ()):
            if key.startswith(prefix):
                return j
        return None

    def under(self, folder: str) -> int | None:
        """Index of a source at or under ``folder`` (any depth; by name or by folder identity)."""
        hit = self.at(folder)
        if hit is not None:
            return hit
        target = identity(folder)
        real = realpath(folder)
        for j, src in enumerate(self.sources):
            for path in {src, realpath(src)}:
                if os.path.isabs(path) and os.path.commonpath([real, path]) == real:
                    return j
                if target is not None:
                    here = os.path.dirname(path)
                    while here and here != os.path.dirname(here):
                        if identity(here) == target:
                            return j
                        here = os.path.dirname(here)
        return None


class WriteGate:
    """Every file a job writes passes here: never a source, never outside the declared folders."""

    def __init__(self, sources: Iterable[str], folders: Iterable[str], *, source_ids: Iterable[Identity] = ()):
        self.index = SourceIndex(sources)
        self.ids = frozenset(self.index.files) | frozenset(source_ids)
        self.folders = tuple(dict.fromkeys(os.path.normpath(f) for f in folders if f))

    def with_ids(self, source_ids: Iterable[Identity]) -> WriteGate:
        """This gate, also refusing files with these identities."""
        other = copy.copy(self)
        other.ids = self.ids | frozenset(source_ids)
        return other

    def is_source(self, ident: Identity) -> bool:
        return ident in self.ids

    def _source(self, j: int) -> str:
        return f"source /sources/{j} ({self.index.sources[j]})"

    def outside(self, path: str) -> bool:
        """True when ``path``'s folder is none of the declared folders."""
        head = os.path.normpath(os.path.dirname(path))
        if head in self.folders:
            return False
        here = folder_key(head)
        return all(folder_key(f) != here for f in self.folders)

    def refusal(self, path: str) -> str | None:
        """Why writing ``path`` is refused, naming the source or folder, or None. The caller adds
        the fix in its own terms (validate: which key to change; a run: what was left untouched)."""
        if self.outside(path):
            return (
                f"{path} is outside the folders this job writes ({', '.join(self.folders) or 'none'}); "
                f"Proxx never writes anywhere else"
            )
        j = self.index.at(path)
        if j is None:
            ident = identity(path)
            if ident is not None and ident in self.ids:
                return f"{path} is a source of this job (the same file under another name)"
            return None
        return (
            f"{path} is a source of this job (/sources/{j}, {self.index.sources[j]}): the same file, or the "
            f"same name on a case-insensitive or Unicode-normalising volume"
        )

    def temp_refusal(self, path: str) -> str | None:
        """Why ``path`` cannot be a temporary name of this job: a source is at it or in the
        temporary-name space it opens (its name followed by anything, e.g. an engine's audio pass)."""
        j = self.index.with_prefix(path)
        if j is None:
            return self.refusal(path)
        return (
            f"{self._source(j)} is named like Proxx's temporary file {path} (or one of its siblings); "
            f"a source is never overwritten"
        )

    def check(self, path: str) -> None:
        why = self.refusal(path)
        if why:
            raise WriteRefused(f"{why}; nothing was written there (a source is never replaced)")

    def check_tree(self, folder: str) -> None:
        """Before a tool writes under ``folder`` itself: no source may be at or under it."""
        if self.outside(os.path.join(folder, "x")) and self.outside(folder):
            raise WriteRefused(f"{folder} is outside the folders this job writes; Proxx never writes anywhere else")
        j = self.index.under(folder)
        if j is None:
            j = self._linked_under(folder)
        if j is not None:
            raise WriteRefused(
                f"{self._source(j)} is at or under {folder}, which this deliverable writes; a source "
                f"is never overwritten: move the source or choose another output_dir"
            )

    def _linked_under(self, folder: str) -> int | None:
        """A source reachable under ``folder`` by another name (a hard link, or a symbolic link a
        tool would write through): every entry's identity, with and without following links."""
        for here, dirs, files in os.walk(folder):
            for name in (*dirs, *files):
                path = os.path.join(here, name)
                for ident in (lidentity(path), identity(path)):
                    if ident is not None and ident in self.ids:
                        return self.index.files.get(ident, 0)
        return None

    def check_written(self, path: str) -> None:
        """After a tool wrote ``path``: it must not be a source (a source replaced is reported)."""
        ident = identity(path)
        if ident is not None and ident in self.ids:
            raise WriteRefused(
                f"{path} is a source of this job and was written by a tool Proxx ran; check the source's bytes",
                category=Category.IO_ERROR,
            )

    def write_bytes(self, path: str, data: bytes, *, replace: bool) -> str:
        """Write ``data`` at ``path`` through a unique temporary sibling (fsync, rename); returns its
        SHA-256. Without ``replace`` an existing file is never replaced (FileExistsError)."""
        self.check(path)
        head, tail = os.path.split(path)
        tmp = os.path.join(head, f".{tail}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            fd = os.open(tmp, flags, 0o644)
            try:
                view = memoryview(data)
                while view:
                    view = view[os.write(fd, view) :]
                os.fsync(fd)
                written = os.fstat(fd)
            finally:
                os.close(fd)
            self.check(path)  # again, right before the rename
            publish(tmp, path, overwrite=replace)
            if lidentity(path) != (written.st_dev, written.st_ino):
                raise WriteRefused(
                    f"{path} is not the file Proxx wrote (it was replaced while being published); do not trust it",
                    category=Category.IO_ERROR,
                )
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
        return file_sha256(data).hexdigest()

    def publish_claim(self, claim: TempClaim, final: str, *, replace: bool) -> tuple[str, int]:
        """Publish the file a run holds at ``claim.path`` under ``final``: fsync, hash through the
        held descriptor, the checks again, rename, then the final name must hold that very file.
        Returns (SHA-256, size). FileExistsError: ``final`` exists and ``replace`` is off."""
        claim.fsync()
        digest, size = claim.sha256()
        self.check(final)
        if not claim.at_path():
            raise WriteRefused(
                f"{claim.path} was replaced by another run of this job after verification; this run published nothing"
            )
        publish(claim.path, final, overwrite=replace)
        if lidentity(final) != claim.identity():
            raise WriteRefused(
                f"{final} is not the file this run verified (it was replaced while being published); "
                f"do not trust it, run the job again",
                category=Category.IO_ERROR,
            )
        return digest, size
