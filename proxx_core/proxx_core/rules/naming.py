"""Step 3 of the pipeline: output names, rendered from the template, and their temporary siblings.

Pure functions of the spec (no clock, no host). A name must be a plain, portable file name inside
``output_dir``, different from every other output of the job on case-insensitive, normalising
volumes, and never a source (by file identity, not path text). Linear in the number of sources.
"""

from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Any

import attrs

from ..contract.errors import Problem, shown
from ..contract.profiles import PROFILES
from ..io.writegate import SourceIndex as _SourceIndex
from ..io.writegate import folder_key, name_key
from ..support.specvalues import DraftSpec

#: how much of a rendered name a message quotes (names are up to 255 bytes; a template can make more)
NAME_ECHO = 160

MAX_NAME_BYTES = 200

TOKENS = ("source_name", "source_ext", "index", "job_id", "profile")

_TIME_WORDS = {
    "date",
    "time",
    "datetime",
    "timestamp",
    "now",
    "today",
    "year",
    "month",
    "day",
    "hour",
    "minute",
    "second",
    "epoch",
    "created_at",
    "utc",
    "local_time",
}

TEMP_PREFIX = "."

TEMP_SUFFIX = ".proxx-partial"

_TOKEN = re.compile(r"\{([^{}]*)\}")


def template_token_problems(template: str) -> list[Problem]:
    where = "/output_name_template"
    problems = []
    allowed = ", ".join("{" + t + "}" for t in TOKENS)
    for name in _TOKEN.findall(template):
        if name in TOKENS:
            continue
        if name.lower() in _TIME_WORDS:
            problems.append(
                Problem(
                    path=where,
                    message=(
                        f"token {{{name}}} is time-based; names must be a pure function of the spec. Use {allowed}"
                    ),
                )
            )
        else:
            problems.append(Problem(path=where, message=f"unknown token {{{name}}}; allowed tokens: {allowed}"))
    if "{" in _TOKEN.sub("", template) or "}" in _TOKEN.sub("", template):
        problems.append(Problem(path=where, message="unbalanced '{' or '}'; tokens look like {source_name}"))
    return problems


def render_name(
    template: str, *, source: str, index: int, count: int, job_id: str, profile: str, extension: str
) -> str:
    """The output file name of one source (pure: no clock, no host)."""
    p = Path(source)
    width = max(3, len(str(count)))
    values = {
        "source_name": p.stem,
        "source_ext": p.suffix.lstrip("."),
        "index": str(index).zfill(width),
        "job_id": job_id,
        "profile": profile,
    }
    stem = _TOKEN.sub(lambda m: values[m.group(1)], template)
    return f"{stem}.{extension}"


#: characters SMB/NTFS (and so Windows editors) cannot store, or that APFS/SMB map to others
_RESERVED_CHARS = frozenset(':*?"<>|')

#: characters that make a name display as something else (bidi overrides and isolates) or look
#: identical to another name (zero-width characters, byte order mark)
_DECEPTIVE_CHARS = {chr(c): "a bidirectional-text control" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}

_DECEPTIVE_CHARS.update({chr(c): "a zero-width character" for c in (0x200B, 0x200C, 0x200D, 0xFEFF)})

_WINDOWS_DEVICES = frozenset(
    {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)), *(f"LPT{i}" for i in range(1, 10))}
)


def portability_problem(name: str) -> str | None:
    """Why ``name`` cannot be stored, or would mislead, on the SMB/NTFS/APFS volumes editors mount.
    The rule (docs/jobspec.md) refuses rather than rewrites: a proxy silently renamed would not
    relink by name."""
    bad = sorted({ch for ch in name if ch in _RESERVED_CHARS})
    if bad:
        return (
            f"contains {' '.join(bad)}, which SMB shares and Windows (NTFS) cannot store; "
            f"remove them from the template or from the source names"
        )
    for ch in name:
        if ch in _DECEPTIVE_CHARS:
            return (
                f"contains U+{ord(ch):04X}, {_DECEPTIVE_CHARS[ch]} that makes names display or compare "
                f"misleadingly on SMB/APFS volumes; remove it"
            )
    if name[-1] in ". ":
        return "ends with a dot or a space, which Windows (NTFS) and SMB shares drop"
    if name.split(".", 1)[0].rstrip(" ").upper() in _WINDOWS_DEVICES:
        return "is a Windows reserved device name (CON, NUL, COM1...); SMB shares refuse it"
    return None


def name_problem(name: str) -> str | None:
    """Why ``name`` is not a plain file name inside output_dir, or None."""
    stem = name.rsplit(".", 1)[0]
    if not stem:
        return "renders to an empty name"
    if "/" in name or "\\" in name:
        return f"renders to {shown(name, NAME_ECHO)}, which contains a path separator and could escape output_dir"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return f"renders to {shown(name, NAME_ECHO)}, which contains control characters"
    if name.startswith("."):
        return (
            f"renders to {shown(name, NAME_ECHO)}, which starts with '.' (hidden files are reserved for "
            f"Proxx's temporary outputs)"
        )
    why = portability_problem(name)
    if why:
        return f"renders to {shown(name, NAME_ECHO)}, which {why}"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return (
            f"renders to a name of {len(name.encode('utf-8'))} bytes; the limit is {MAX_NAME_BYTES} bytes "
            f"(UTF-8); shorten the template"
        )
    return None


@attrs.frozen(kw_only=True)
class _NameInputs:
    """The part of a JobSpec output names depend on (the rest may still be invalid)."""

    sources: tuple[str, ...]
    output_dir: str
    output_name_template: str
    proxy_profile: str


def output_names(spec: _NameInputs | Any, job_id: str) -> tuple[list[str], list[Problem]]:
    """Render every source's output name and report escaping or colliding names. Linear in the
    number of sources: every comparison is a dictionary lookup."""
    profile = PROFILES[spec.proxy_profile]
    seen: dict[str, int]
    names, problems, seen = [], [], {}
    index = _SourceIndex(spec.sources)
    out_key = folder_key(spec.output_dir)
    for i, src in enumerate(spec.sources):
        name = render_name(
            spec.output_name_template,
            source=src,
            index=i + 1,
            count=len(spec.sources),
            job_id=job_id,
            profile=profile.name,
            extension=profile.extension,
        )
        names.append(name)
        why = name_problem(name)
        if why:
            problems.append(Problem(path="/output_name_template", message=f"for /sources/{i}: {why}"))
            continue
        # proxies often land on macOS/SMB volumes that fold case and normalise Unicode
        key = name_key(name)
        if key in seen:
            problems.append(
                Problem(
                    path="/output_name_template",
                    message=(
                        f"/sources/{seen[key]} and /sources/{i} both render to {shown(name, NAME_ECHO)}; add "
                        f"{{index}} or "
                        f"{{source_ext}} to the template so every source gets its own name"
                    ),
                )
            )
        else:
            seen[key] = i
        j = index.replaced_by(out_key, name, os.path.join(spec.output_dir, name))
        if j is not None:
            problems.append(
                Problem(
                    path="/output_name_template",
                    message=(
                        f"the output of /sources/{i} ({name}) would replace source /sources/{j} ({spec.sources[j]}): "
                        f"same file, or the same name on a case-insensitive or Unicode-normalising volume; "
                        f"choose another template or output_dir"
                    ),
                )
            )
    return names, problems


def temp_path_for(output_path: str) -> str:
    """Hidden sibling of the final output: same directory, so the final rename is atomic."""
    head, tail = os.path.split(output_path)
    return os.path.join(head, f"{TEMP_PREFIX}{tail}{TEMP_SUFFIX}")


def name_problems(draft: DraftSpec, *, job_id: str | None) -> list[Problem]:
    """The names' problems, whenever the fields they depend on are usable (``job_id`` None: the
    spec's job id is invalid, so names cannot be rendered) even if other fields are wrong, so every
    problem is reported in one pass."""
    sources, template, output_dir, profile = (
        draft.sources,
        draft.output_name_template,
        draft.output_dir,
        draft.proxy_profile,
    )
    if not (
        isinstance(sources, tuple)
        and isinstance(output_dir, str)
        and isinstance(template, str)
        and isinstance(profile, str)
        and job_id is not None
    ):
        return []
    token_problems = template_token_problems(template)
    if token_problems:
        return token_problems
    parts = _NameInputs(sources=sources, output_dir=output_dir, output_name_template=template, proxy_profile=profile)
    return output_names(parts, job_id)[1]
