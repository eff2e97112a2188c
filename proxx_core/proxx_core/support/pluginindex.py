"""The installed plugins' entry points and the installed distributions' versions, read once per
installation instead of once per command.

Every ``proxx`` command finds its plugins (entry-point groups ``proxx``, ``proxx.commands``,
``proxx.demo``) and a run records the versions of Proxx's distributions in its result. Asking
``importlib.metadata`` for them costs ~20 ms a command: importing it (email, zipfile, csv) and reading
the metadata of every installed distribution. What it answers changes only when distributions are
installed, upgraded or removed, and each of those adds, renames or removes a ``*.dist-info`` folder
in a folder of ``sys.path``. So the answers are kept in ``$PROXX_CACHE_DIR/plugin-index/`` (or
``~/.cache/proxx/plugin-index/``), one small JSON file per interpreter and set of ``sys.path``
folders holding distributions (``python -m proxx_cli`` run from any folder shares it), keyed by the
names and modification times of every metadata folder on ``sys.path`` (~1 ms to list); any difference
rebuilds it from ``importlib.metadata``, the same answers as before.

Safety: an entry point that fails to load from the index (its module gone, an edit the folder times
did not show) makes the caller ask :func:`refreshed` and load it again from a fresh index, so a stale
index can never hide a plugin's real error or keep an uninstalled one. ``PROXX_PLUGIN_INDEX=0`` turns
the index off (every command asks ``importlib.metadata``). The cache is an optimisation only: when
it cannot be read or written, the answers are computed each time, silently.
"""

from __future__ import annotations

import contextlib
import importlib
import json
import os
import re
import sys
from pathlib import Path
from typing import Any

from ..io.atomic import write_text_atomic
from ..io.digests import short_sha256
from ..io.fingerprint import cache_root
from ..io.safeopen import read_regular
from .hints import known_distributions

#: the entry-point groups Proxx reads (plugins, commands, demos)
GROUPS = ("proxx", "proxx.commands", "proxx.demo")
#: an index is a few KB; anything far larger is not one of ours
MAX_INDEX_BYTES = 4 * 1024 * 1024
FORMAT = 1
_METADATA_SUFFIXES = (".dist-info", ".egg-info")

_memo: dict[str, Any] = {}


class IndexedEntryPoint:
    """What Proxx uses of an ``importlib.metadata.EntryPoint``: its name, group and ``module:attr``
    value, the "Name Version" label of the distribution that declares it, and :meth:`load`."""

    __slots__ = ("name", "group", "value", "dist_label")

    def __init__(self, name: str, group: str, value: str, dist_label: str | None):
        self.name, self.group, self.value, self.dist_label = name, group, value, dist_label

    def load(self) -> Any:
        """Import ``module`` and return ``attr`` (dotted), as ``EntryPoint.load`` does."""
        module_name, _, attrs = self.value.partition(":")
        obj: Any = importlib.import_module(module_name.strip())
        for part in filter(None, attrs.strip().split(".")):
            obj = getattr(obj, part)
        return obj

    def __repr__(self) -> str:
        return f"IndexedEntryPoint(name={self.name!r}, group={self.group!r}, value={self.value!r})"


def normalized(name: str) -> str:
    """A distribution name as ``importlib.metadata`` compares them (PEP 503, ``-`` as ``_``)."""
    return re.sub(r"[-_.]+", "_", name).lower()


def entry_points(group: str) -> list[IndexedEntryPoint]:
    """The entry points of ``group`` (one of :data:`GROUPS`), in ``importlib.metadata``'s order."""
    if group not in GROUPS:
        raise ValueError(f"the plugin index holds the groups {GROUPS}, not {group!r}")
    return [IndexedEntryPoint(*row) for row in _index()["entry_points"] if row[1] == group]


def version(distribution: str) -> str | None:
    """The installed version of ``distribution`` (the first found on ``sys.path``), or None."""
    versions = _index()["versions"]
    key = normalized(distribution)
    if key in versions:
        found: str | None = versions[key]
        return found
    return _installed_version(distribution)  # a distribution the index does not follow: asked directly


def refreshed() -> None:
    """Forget the index, in this process and on disk: the next question rebuilds it."""
    _memo.clear()
    with contextlib.suppress(OSError):
        _file(_folders()).unlink()


def _enabled() -> bool:
    return os.environ.get("PROXX_PLUGIN_INDEX", "1") not in ("0", "")


def _file(folders: list[list[Any]]) -> Path:
    """One index per interpreter and set of folders holding distributions (``python -m`` puts the
    current folder on ``sys.path``; one without distributions changes neither the answers nor the file)."""
    where = json.dumps([sys.executable, [entry for entry, _ in folders]])
    digest = short_sha256(where.encode("utf-8", "surrogatepass")).hexdigest()[:24]
    return cache_root() / "plugin-index" / f"{digest}.json"


def _folders() -> list[list[Any]]:
    """Every entry of ``sys.path`` that holds distributions, in order, with their metadata folders'
    names and times (a zip file: its time): all that ``importlib.metadata``'s answers depend on."""
    found = []
    for entry in sys.path:
        metadata = _metadata_in(entry)
        if metadata:
            found.append([entry, metadata])
    return found


def _key(folders: list[list[Any]]) -> str:
    return json.dumps([FORMAT, sys.executable, sys.version, folders])


def _metadata_in(entry: str) -> list[list[Any]] | int | None:
    """Installing, upgrading, reinstalling or removing a distribution adds, renames, recreates or
    removes its ``*.dist-info`` (or ``*.egg-info``) in a ``sys.path`` folder: their names and times."""
    try:
        with os.scandir(entry or ".") as found:
            return sorted(
                [item.name, item.stat().st_mtime_ns] for item in found if item.name.endswith(_METADATA_SUFFIXES)
            )
    except NotADirectoryError:
        try:
            return os.stat(entry).st_mtime_ns
        except OSError:
            return None
    except OSError:
        return None


def _index() -> dict[str, Any]:
    if not _enabled():  # asked afresh each time, as before the index
        return _unindexed()
    if "index" in _memo:
        memo: dict[str, Any] = _memo["index"]
        return memo
    folders = _folders()
    key, path = _key(folders), _file(folders)
    read = _read(path, key)
    index = read if read is not None else _build()
    if read is None:
        with contextlib.suppress(OSError, ValueError):
            path.parent.mkdir(parents=True, exist_ok=True)
            write_text_atomic(path, json.dumps({"key": key, "value": index}, sort_keys=True))
    _memo["index"] = index
    return index


def _read(path: Path, key: str) -> dict[str, Any] | None:
    try:
        data = json.loads(read_regular(path, MAX_INDEX_BYTES))  # never blocks on a FIFO put in its place
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("key") != key:
        return None
    value = data.get("value")
    if not isinstance(value, dict):
        return None
    rows, versions = value.get("entry_points"), value.get("versions")
    well_formed = (
        isinstance(rows, list)
        and all(
            isinstance(r, list)
            and len(r) == 4
            and all(isinstance(x, str) for x in r[:3])
            and isinstance(r[3], (str, type(None)))
            for r in rows
        )
        and isinstance(versions, dict)
        and all(isinstance(k, str) and isinstance(v, (str, type(None))) for k, v in versions.items())
    )
    if not well_formed:
        return None
    assert isinstance(rows, list)  # for mypy: well_formed says so
    return {"entry_points": [tuple(r) for r in rows], "versions": versions}


def _build() -> dict[str, Any]:
    """The index, from ``importlib.metadata`` (what every command did before the index): the entry
    points of :data:`GROUPS`, and the versions of Proxx's own distributions and of every distribution
    declaring one of those entry points (what a result records)."""
    rows = _entry_point_rows()
    names = {*known_distributions(), *(label.rsplit(" ", 1)[0] for *_, label in rows if label)}
    versions = {normalized(name): _installed_version(name) for name in sorted(names)}
    return {"entry_points": rows, "versions": versions}


def _unindexed() -> dict[str, Any]:
    """With the index off: the entry points asked directly, and versions asked one by one."""
    return {"entry_points": _entry_point_rows(), "versions": {}}


def _entry_point_rows() -> list[tuple[str, str, str, str | None]]:
    """(name, group, value, "Name Version") of every entry point of :data:`GROUPS`, in order."""
    import importlib.metadata

    return [
        (ep.name, ep.group, ep.value, _label(ep))
        for group in GROUPS
        for ep in importlib.metadata.entry_points(group=group)
    ]


def _installed_version(distribution: str) -> str | None:
    import importlib.metadata

    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _label(ep: Any) -> str | None:
    dist = getattr(ep, "dist", None)
    if dist is None:
        return None
    meta = dist.metadata  # parsed once (each .metadata access re-reads and parses METADATA)
    return f"{meta['Name']} {meta['Version']}"
