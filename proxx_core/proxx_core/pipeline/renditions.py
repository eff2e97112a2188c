"""JobSpec 1.2 ``renditions``: several proxies of every source, each a single-rendition job of its own.

A spec with ``renditions`` is read as one single-rendition spec per rendition (:func:`single_document`,
:func:`single_spec`): the job-level keys, plus the rendition's profile, names, layout, raster and folder.
Every check a single-rendition spec gets (document, disk, names, layouts, write gate, routing,
planning) is run on each of them; a problem about a rendition's own key is reported at
``/renditions/<k>/<key>`` (:func:`remapped`). What only a spec with several renditions can get wrong
lives here: both forms at once, two renditions with one name, two renditions writing one file.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from ..contract.errors import Problem
from ..contract.errors import shown as _shown
from ..contract.profiles import PROFILES
from ..features.layouts import folders_written
from ..io.writegate import folder_key, name_key
from ..support.specvalues import RENDITION_KEYS, Rendition

if TYPE_CHECKING:
    from .document import JobSpec

#: job-level keys of the single-rendition form, which a spec with ``renditions`` must leave out
SINGLE_FORM_KEYS = ("proxy_profile", "codec", "container", "output_name_template", "layout", "raster")


def form_problems(doc: dict[str, Any]) -> list[Problem]:
    """Both forms at once (ambiguous: which profile?) and names two renditions share."""
    problems = [
        Problem(
            path=f"/{key}",
            message=(
                f"is a key of the single-rendition form and this spec lists /renditions; move it into each rendition "
                f'("renditions": [{{"name": ..., "{key}": ...}}]) or remove /renditions'
            ),
        )
        for key in SINGLE_FORM_KEYS
        if key in doc and key not in ("codec", "container")
    ]
    problems += [
        Problem(path=f"/{key}", message=(f"with /renditions each rendition's profile says its {key}; remove /{key}"))
        for key in ("codec", "container")
        if key in doc
    ]
    seen: dict[str, int] = {}
    for k, rendition in enumerate(doc.get("renditions") or []):
        name = rendition.get("name") if isinstance(rendition, dict) else None
        if not isinstance(name, str):
            continue
        if name.lower() in seen:  # names become folder-ish labels in sidecars and reports: case-insensitive
            problems.append(
                Problem(
                    path=f"/renditions/{k}/name",
                    message=(
                        f"{_shown(name)} is already the name of /renditions/{seen[name.lower()]} (names are compared "
                        f"case-insensitively); give every rendition its own name"
                    ),
                )
            )
        else:
            seen[name.lower()] = k
    return problems


def single_document(doc: dict[str, Any], k: int) -> dict[str, Any]:
    """The single-rendition spec of rendition ``k``: what every single-rendition check is run on."""
    rendition = doc["renditions"][k]
    single = {key: value for key, value in doc.items() if key != "renditions"}
    single.update({key: rendition[key] for key in RENDITION_KEYS if key in rendition})
    name = rendition.get("proxy_profile")
    profile = PROFILES.get(name) if isinstance(name, str) else None
    if profile is not None:
        single.update(codec=profile.codec, container=profile.container)
    single.setdefault("fps_mode", "preserve_source")
    return single


def single_spec(spec: JobSpec, rendition: Rendition) -> JobSpec:
    """The typed form of :func:`single_document`."""
    profile = PROFILES[rendition.proxy_profile]
    return attrs.evolve(
        spec,
        proxy_profile=profile.name,
        codec=profile.codec,
        container=profile.container,
        output_dir=rendition.output_dir or spec.output_dir,
        output_name_template=rendition.output_name_template,
        layout=rendition.layout,
        raster=rendition.raster,
        renditions=(),
    )


def remapped(problems: Iterable[Problem], k: int, *, own_dir: bool, name: str | None = None) -> list[Problem]:
    """A single-rendition check's problems, a rendition's own keys named under ``/renditions/<k>``
    (``own_dir``: the rendition names its own ``output_dir``; else /output_dir is the job's). With
    ``name``, every other problem (a source this rendition cannot be made of) says which rendition."""
    own = {"proxy_profile", "output_name_template", "layout", "raster", *(("output_dir",) if own_dir else ())}
    out = []
    for p in problems:
        key = p.path.split("/")[1] if p.path.startswith("/") else ""
        if key in own:
            p = attrs.evolve(p, path=f"/renditions/{k}{p.path}")
        elif name is not None:
            p = attrs.evolve(p, message=f"rendition {name!r} (/renditions/{k}): {p.message}")
        out.append(p)
    return out


def unique(problems: Iterable[Problem]) -> list[Problem]:
    """Problems in order, each once (a source missing is found by every rendition's check)."""
    seen: set[tuple[str, str]] = set()
    out = []
    for p in problems:
        if (p.path, p.message) not in seen:
            seen.add((p.path, p.message))
            out.append(p)
    return out


def collision_problems(files: Sequence[tuple[int, str, str]]) -> list[Problem]:
    """Two renditions writing one file (final or temporary; names compared as case-insensitive,
    Unicode-normalising volumes do, :mod:`.writegate`). ``files``: (rendition k, path, source pointer)."""
    seen: dict[tuple[Any, str], int] = {}
    problems = []
    for k, path, where in files:
        key = (folder_key(os.path.dirname(path)), name_key(os.path.basename(path)))
        other = seen.setdefault(key, k)
        if other != k:
            problems.append(
                Problem(
                    path=f"/renditions/{k}/output_name_template",
                    message=(
                        f"for {where}: /renditions/{other} and /renditions/{k} would both write {_shown(path, 300)}; "
                        f"give one of them its own output_dir or an output_name_template of its own"
                    ),
                )
            )
    return problems


def rendition_folders(spec: JobSpec) -> list[str]:
    """Every folder a spec with renditions writes: each rendition's, as its layout says, plus the
    job's ``output_dir`` (sidecars). The job's write gate allows these and no other."""
    folders: list[str] = []
    for rendition in spec.renditions:
        out = rendition.output_dir or spec.output_dir
        folders += [*folders_written(rendition.layout, spec.sources, out), *([out] if out else [])]
    return [*folders, *([spec.output_dir] if spec.output_dir else [])]
