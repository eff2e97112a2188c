"""A node's ``[allow]`` policy (node config, docs/fleet.md): the folders a job may make this node
read (sources, look files) and write (outputs, sidecars). Anyone who can queue a job can otherwise
make a worker read and write anything its user can; a clip outside is refused and recorded, never
run. Checked on real paths (symlinks resolved) before anything opens the source, and again on the
planned output files; `proxx submit` checks the same lexically against each live worker's record.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from proxx_core import NodeConfig, PathMap, PreparedClip

from .units import renditions_of, slot, source_of

Check = tuple[str, str]  # (kind, path on this node)


def _looks_windows(path: str) -> bool:
    return len(path) > 1 and (path[1] == ":" or path.startswith("\\\\"))


def _under(path: str, root: str, mod: Any) -> bool:
    try:
        return bool(mod.commonpath([path, root]) == root)
    except ValueError:  # different drives, or relative against absolute
        return False


def admits(path: str, roots: Sequence[str]) -> bool:
    """On this node: ``path`` (symlinks resolved) lies inside one of ``roots`` (resolved too)."""
    real = os.path.realpath(path)
    return any(_under(real, os.path.realpath(root), os.path) for root in roots)


def admits_lexically(path: str, roots: Sequence[str]) -> bool:
    """For another node's paths (`proxx submit`): the same test without touching any disk."""
    for root in roots:
        mod = ntpath if _looks_windows(root) else posixpath
        if _under(mod.normpath(path), mod.normpath(root), mod):
            return True
    return False


def clip_reads_and_writes(document: Mapping[str, Any], index: int) -> list[Check]:
    """What clip ``index`` (the fleet's 1-based clip number, units.py) reads and where it writes, as
    the JobSpec names them (a rendition: its own ``output_dir`` too)."""
    checks: list[Check] = [("sources", source_of(document, index))]
    look = document.get("look")
    if isinstance(look, dict):
        checks += [("looks", look[k]) for k in ("lut", "cdl") if isinstance(look.get(k), str)]
    if isinstance(document.get("output_dir"), str):
        checks.append(("outputs", document["output_dir"]))
    rendition = slot(document, index).rendition
    for own in renditions_of(document):
        if own.get("name") == rendition and isinstance(own.get("output_dir"), str):
            checks.append(("outputs", own["output_dir"]))
    return checks


def planned_writes(clip: PreparedClip) -> list[Check]:
    """Every file the prepared clip would publish (the layout may put them outside output_dir)."""
    request = clip.plan.request
    return [("outputs", request.output_path), *(("outputs", t.path) for t in request.extra_outputs)]


def refusals(checks: Iterable[Check], config: NodeConfig) -> list[str]:
    """One sentence per path this node's policy does not admit, naming the roots and the file."""
    out = []
    for kind, path in checks:
        roots = config.allow.get(kind)
        if roots is None or admits(path, roots):
            continue
        allowed = ", ".join(roots) or "none"
        out.append(
            f"{path} is outside the {kind} this node allows ([allow] {kind} = {allowed} in "
            f"{config.path}); run the job on a node whose policy admits it, or add its folder there"
        )
    return out


def nobody_admits(document: Mapping[str, Any], index: int, workers: Sequence[Mapping[str, Any]]) -> bool:
    """`proxx submit`: no live worker among ``workers`` admits every path of the clip (each path
    mapped with that worker's own path map, then checked against its ``[allow]`` roots)."""
    for worker in workers:
        allow = worker.get("allow") or {}
        path_map = PathMap(rules=tuple((str(a), str(b)) for a, b in worker.get("path_map") or ()))
        if all(
            kind not in allow or admits_lexically(path_map.apply(path), allow[kind])
            for kind, path in clip_reads_and_writes(document, index)
        ):
            return False
    return True
