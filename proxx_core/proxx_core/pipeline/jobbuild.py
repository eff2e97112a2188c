"""A JobSpec from what a person types: media files, folders and cards, a profile or a facility preset.

``proxx run --preset dailies /Volumes/A001`` and ``proxx job --profile … FOLDER…`` build the same
document a person would write by hand, so everything after this module (validation, planning, the
result) is the ordinary pipeline: nothing here is a second way to describe a job. The build is a
pure function of its inputs (the expanded source list, the preset's table, the options given), so
the same card and the same command give the same job id on every node.

Precedence, lowest first: the preset, then each option given on the command line. ``codec`` and
``container`` come from the profile (the JobSpec's explicit confirmation is filled in for the
person, never guessed), ``fps_mode`` is ``preserve_source``, the template defaults to
``{source_name}`` (the name every NLE relinks on), and ``jobspec_version`` is the lowest version
that holds every key used, so older nodes of a fleet still accept the job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from ..contract.profiles import PROFILES
from ..contract.vocabulary import FpsMode, Layout
from .document import KEYS_SINCE_MINOR, SUPPORTED_MAJOR

#: JobSpec keys a preset or an option may set (the sources come from the command line; the version
#: and the codec/container confirmations are derived)
SETTABLE = frozenset(
    {
        "output_dir",
        "output_name_template",
        "proxy_profile",
        "created_at",
        "job_id",
        "engine",
        "overwrite",
        "user_metadata",
        *KEYS_SINCE_MINOR,
    }
) - {"jobspec_version", "sources", "codec", "container", "fps_mode"}

DEFAULT_TEMPLATE = "{source_name}"


def build_document(
    sources: Sequence[str], *, preset: Mapping[str, Any] | None = None, options: Mapping[str, Any] | None = None
) -> dict[str, Any]:
    """The JobSpec for ``sources`` (already expanded, in order) with the preset's keys, then the
    options (None values are "not given"). Unknown or unset values are left for validation to word:
    a missing profile stays missing, so ``validate`` names ``/proxy_profile`` and the fix."""
    doc: dict[str, Any] = {}
    for layer in (preset or {}, options or {}):
        doc.update({k: v for k, v in layer.items() if v is not None})
    profile = PROFILES.get(doc.get("proxy_profile", ""))
    if profile is not None:
        doc["codec"], doc["container"] = profile.codec, profile.container
    doc["fps_mode"] = FpsMode.PRESERVE_SOURCE
    if doc.get("layout") != Layout.PROXY_SUBFOLDER:
        doc.setdefault("output_name_template", DEFAULT_TEMPLATE)
    doc["sources"] = list(sources)
    minor = max((KEYS_SINCE_MINOR.get(k, 0) for k in doc), default=0)
    doc["jobspec_version"] = f"{SUPPORTED_MAJOR}.{minor}.0"
    return {k: doc[k] for k in sorted(doc, key=_key_order)}


_ORDER = (
    "jobspec_version",
    "sources",
    "output_dir",
    "output_name_template",
    "proxy_profile",
    "codec",
    "container",
    "fps_mode",
)


def _key_order(key: str) -> tuple[int, str]:
    """The order of the README's example first, then the rest by name (a readable written job)."""
    return (_ORDER.index(key), "") if key in _ORDER else (len(_ORDER), key)


def preset_problems(name: str, table: Any) -> list[str]:
    """What is wrong with a node config's ``[presets.NAME]`` table, worded for the config's author."""
    if not isinstance(table, dict):
        return [f"presets.{name} must be a table of JobSpec keys"]
    problems = []
    for key in sorted(set(table) - SETTABLE):
        why = (
            "comes from the command line"
            if key == "sources"
            else "is derived (the lowest version that holds the keys; codec and container from the profile)"
            if key in ("jobspec_version", "codec", "container", "fps_mode")
            else "is not a JobSpec key"
        )
        problems.append(f"presets.{name}.{key} {why}; a preset holds: {', '.join(sorted(SETTABLE))}")
    return problems
