"""Path prefixes between the submitter's view of shared storage and this node's, from a node config.

A render room mixes macOS (``/Volumes/RAID``), Windows (``R:\\``) and Linux (``/mnt/raid``) nodes
looking at the same files. A node config file (TOML, path from ``--config`` or ``PROXX_CONFIG``)
says how this node sees the submitter's paths::

    [paths]
    "/Volumes/RAID" = "R:\\\\"          # on a Windows node
    "/Volumes/Proxies" = "/mnt/proxies" # on a Linux node

The longest matching prefix wins, matching whole path components only; the rest of the path is
re-joined with the target's separator. Paths no prefix matches are used as they are.

An optional ``[allow]`` table restricts where this node reads and writes, in this node's paths
(after the path map): ``sources``, ``looks`` and ``outputs``, each a list of root folders. A kind
left out is not restricted; ``[allow]`` present with a kind's list empty allows nothing of it::

    [allow]
    sources = ["/mnt/raid"]
    looks = ["/mnt/raid/luts"]
    outputs = ["/mnt/proxies"]
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from typing import Any

import attrs

from ..contract.errors import ProxxError, cut, shown
from ..contract.events import EVENT_KINDS
from ..io.safeopen import NotAFile, open_regular
from .document import derive_job_id
from .jobbuild import preset_problems

CONFIG_ENV = "PROXX_CONFIG"
_WINDOWS = re.compile(r"^(?:[A-Za-z]:|\\\\)")


def _separator(path: str) -> str:
    return "\\" if _WINDOWS.match(path) else "/"


@attrs.frozen(kw_only=True)
class PathMap:
    """Ordered (submitter prefix, node prefix) pairs; longest prefix first."""

    rules: tuple[tuple[str, str], ...] = ()

    @classmethod
    def from_mapping(cls, mapping: Mapping[str, str]) -> PathMap:
        return cls(rules=tuple(sorted(mapping.items(), key=lambda kv: (-len(kv[0].rstrip("/\\")), kv[0]))))

    def __bool__(self) -> bool:
        return bool(self.rules)

    def apply(self, path: str) -> str:
        """This node's path for the submitter's ``path`` (unchanged when no prefix matches)."""
        for src, dst in self.rules:
            base = src.rstrip("/\\")
            if path == src or path == base:
                rest = ""
            elif path.startswith(base) and path[len(base) : len(base) + 1] in ("/", "\\"):
                rest = path[len(base) :]
            else:
                continue
            parts = [p for p in re.split(r"[/\\]", rest) if p]
            sep = _separator(dst)
            head = dst.rstrip("/\\")
            if not parts:
                return dst
            return head + sep + sep.join(parts)
        return path

    def to_data(self) -> list[list[str]]:
        return [list(r) for r in self.rules]


#: the kinds of paths a node's ``[allow]`` table can restrict
ALLOW_KINDS = ("sources", "looks", "outputs")


@attrs.frozen(kw_only=True)
class NodeConfig:
    path: str | None = None
    path_map: PathMap = attrs.field(factory=PathMap)
    #: ``[presets.NAME]`` tables: facility defaults (JobSpec keys) for ``--preset NAME``
    presets: Mapping[str, Mapping[str, Any]] = attrs.field(factory=dict)
    #: ``[notify]``: named notification targets (Apprise URLs: secrets stay on the node) and the
    #: names told about every job this node finishes (proxx-notify)
    notify_targets: Mapping[str, str] = attrs.field(factory=dict)
    notify_always: tuple[str, ...] = ()
    #: the running-job events (proxx_core.contract.events.EVENT_KINDS) the ``always`` targets are told about
    notify_events: tuple[str, ...] = ()
    #: kind -> allowed root folders on this node (``[allow]``); a kind absent is not restricted
    allow: Mapping[str, tuple[str, ...]] = attrs.field(factory=dict)

    def preset(self, name: str) -> Mapping[str, Any]:
        """The preset called ``name``; a ProxxError naming the config and the presets it has."""
        if name not in self.presets:
            have = ", ".join(sorted(self.presets)) or "none"
            where = self.path or f"no node config (set --config or {CONFIG_ENV})"
            raise ProxxError(
                f"no preset {name!r} in {where}; presets: {have}. A preset is a "
                f"[presets.{name}] table of JobSpec keys in the node config (proxx docs operator-guide)"
            )
        return self.presets[name]


def _read_toml(where: str) -> dict[str, Any]:
    """The node config file's TOML, or a ProxxError naming the file and the fix."""
    try:
        with open_regular(where) as fh:  # a FIFO or a device named as the config must not block the node
            data: dict[str, Any] = tomllib.load(fh)
    except NotAFile as exc:
        raise ProxxError(f"node config {exc}; point --config / {CONFIG_ENV} at a TOML file") from None
    except UnicodeDecodeError as exc:
        raise ProxxError(
            f"node config {where}: not UTF-8 text (byte {exc.start}: {exc.reason}); save it as UTF-8 TOML"
        ) from None
    except FileNotFoundError:
        raise ProxxError(f"node config {where}: not found; check --config / {CONFIG_ENV}") from None
    except OSError as exc:
        raise ProxxError(f"node config {where}: cannot be read ({exc.strerror})") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProxxError(
            f"node config {where}: not valid TOML ({exc}); Windows paths need doubled "
            f"backslashes in \"...\" strings or single quotes: 'R:\\'"
        ) from None
    return data


def load_node_config(path: str | os.PathLike[str] | None = None) -> NodeConfig:
    """Read the node config at ``path`` (else ``$PROXX_CONFIG``; neither: an empty config).
    Raises ProxxError naming the file, the key and the fix for anything wrong."""
    path = path or os.environ.get(CONFIG_ENV) or None
    if path is None:
        return NodeConfig()
    where = os.fspath(path)
    data = _read_toml(where)
    unknown = sorted(set(data) - {"paths", "presets", "notify", "allow"})
    if unknown:
        raise ProxxError(
            f"node config {where}: unknown key(s) {cut(', '.join(unknown))}; the tables are [paths], "
            f"[presets.NAME], [notify] and [allow]"
        )
    targets, always, events = _notify_table(where, data.get("notify", {}))
    presets = data.get("presets", {})
    if not isinstance(presets, dict):
        raise ProxxError(f"node config {where}: presets must be tables: [presets.NAME]")

    for name, table in presets.items():
        problems = preset_problems(name, table)
        if problems:
            raise ProxxError(f"node config {where}: {problems[0]}")
    paths = data.get("paths", {})
    if not isinstance(paths, dict):
        raise ProxxError(f'node config {where}: [paths] must be a table of "submitter prefix" = "node prefix"')
    for src, dst in paths.items():
        if not isinstance(dst, str) or not dst or not src:
            raise ProxxError(f"node config {where}: paths.{shown(src)} must map to a non-empty path string")
        if not (src.startswith(("/", "\\\\")) or _WINDOWS.match(src)):
            raise ProxxError(f"node config {where}: paths key {shown(src)} is not an absolute path prefix")
        if not os.path.isabs(dst) and not (os.name == "nt" and _WINDOWS.match(dst)):
            raise ProxxError(f"node config {where}: paths.{src!r} = {dst!r} is not an absolute path on this node")
    return NodeConfig(
        path=where,
        path_map=PathMap.from_mapping(paths),
        presets=presets,
        notify_targets=targets,
        notify_always=always,
        notify_events=events,
        allow=_allow(where, data.get("allow")),
    )


_TARGET_NAME = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def _notify_table(where: str, table: Any) -> tuple[dict[str, str], tuple[str, ...], tuple[str, ...]]:
    """``[notify]`` with ``targets = {name = "apprise URL"}``, ``always = [names]`` and
    ``events = [kinds]``."""
    if not isinstance(table, dict) or set(table) - {"targets", "always", "events"}:
        raise ProxxError(
            f'node config {where}: [notify] holds targets = {{name = "URL"}}, always = [names] and events = [kinds]'
        )
    targets = table.get("targets", {})
    if not isinstance(targets, dict):
        raise ProxxError(f'node config {where}: notify.targets must be a table of name = "Apprise URL"')
    for name, url in targets.items():
        if not _TARGET_NAME.fullmatch(name) or not isinstance(url, str) or "://" not in url:
            raise ProxxError(
                f"node config {where}: notify.targets.{name}: a name of [a-z0-9_-] (starting with a "
                f'letter) = an Apprise URL such as "json://host/path" or "mailto://…"'
            )
    always = table.get("always", [])
    if not isinstance(always, list) or any(n not in targets for n in always):
        raise ProxxError(
            f"node config {where}: notify.always must list names of notify.targets "
            f"({', '.join(sorted(targets)) or 'none defined'})"
        )
    events = table.get("events", [])
    if not isinstance(events, list) or any(e not in EVENT_KINDS for e in events):
        raise ProxxError(
            f"node config {where}: notify.events must list event kinds among "
            f"{', '.join(EVENT_KINDS)} (the always targets are told about them)"
        )
    return dict(targets), tuple(always), tuple(dict.fromkeys(events))


def _allow(where: str, table: Any) -> dict[str, tuple[str, ...]]:
    if table is None:
        return {}
    if not isinstance(table, dict):
        raise ProxxError(f'node config {where}: [allow] must be a table: sources/looks/outputs = ["/root", ...]')
    unknown = sorted(set(table) - set(ALLOW_KINDS))
    if unknown:
        raise ProxxError(
            f"node config {where}: [allow] has unknown key(s) {cut(', '.join(unknown))}; "
            f"known: {', '.join(ALLOW_KINDS)}"
        )
    out: dict[str, tuple[str, ...]] = {}
    for kind, roots in table.items():
        if not isinstance(roots, list) or not all(isinstance(r, str) and r for r in roots):
            raise ProxxError(f"node config {where}: allow.{kind} must be a list of folder paths on this node")
        for root in roots:
            if not os.path.isabs(root) and not (os.name == "nt" and _WINDOWS.match(root)):
                raise ProxxError(
                    f"node config {where}: allow.{kind} root {root!r} is not an absolute path on this node"
                )
        out[kind] = tuple(roots)
    return out


def map_document(document: dict[str, Any], path_map: PathMap) -> tuple[dict[str, Any], dict[str, Any]]:
    """A copy of a JobSpec with sources and output folders seen from this node, plus a record of
    {submitted, mapped} paths for the result. The job id stays the submitter's (it names outputs)."""
    mapped = dict(document)
    record: dict[str, Any] = {"sources": [], "output_dir": None}
    if isinstance(document.get("sources"), list):
        mapped["sources"] = [path_map.apply(s) if isinstance(s, str) else s for s in document["sources"]]
        record["sources"] = [
            {"submitted": s, "mapped": m} for s, m in zip(document["sources"], mapped["sources"], strict=False)
        ]
    if isinstance(document.get("output_dir"), str):
        mapped["output_dir"] = path_map.apply(document["output_dir"])
        record["output_dir"] = {"submitted": document["output_dir"], "mapped": mapped["output_dir"]}
    if isinstance(document.get("look"), dict):  # the look's files are read on this node too
        mapped["look"] = {
            k: path_map.apply(v) if k in ("lut", "cdl") and isinstance(v, str) else v
            for k, v in document["look"].items()
        }
    if isinstance(document.get("renditions"), list):  # a rendition's own folder (JobSpec 1.2) is written here too
        mapped["renditions"] = [
            {**r, "output_dir": path_map.apply(r["output_dir"])}
            if isinstance(r, dict) and isinstance(r.get("output_dir"), str)
            else r
            for r in document["renditions"]
        ]
    if mapped != document and isinstance(document.get("job_id", ""), str):
        mapped["job_id"] = derive_job_id(document)
    return mapped, record
