"""Step 1 of the pipeline: a JobSpec document -> one ``ParsedJob`` value, or every problem in it.

Reading (strict, bounded JSON: :mod:`.jsonload`), the schema with operator wording and JSON paths,
the version and key-per-version rules, field checks that need no disk, and the job's identity
(canonical form, SHA-256, job id) computed exactly once. The raw dict is read here only: each key
is built once into a typed value or an ``Invalid`` marker (:func:`read_spec`, ``specvalues``), and
later checks take that ``DraftSpec``, later steps the ``ParsedJob``. (The document itself travels on
verbatim for the result's audit trail and for deliverable sinks, which are given JSON data.)
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import attrs

from ..contract.errors import JobFileError, Problem, SpecInvalid
from ..contract.errors import cut as _cut
from ..contract.errors import shown as _short
from ..contract.profiles import PROFILES
from ..contract.vocabulary import ExistingOutputs, FpsMode, Layout, Raster, UnsupportedSources
from ..features.burnin import burn_in_problems
from ..features.existing import policy_problem
from ..features.layouts import layout_document_problems
from ..io.digests import short_sha256
from ..io.safeopen import NotAFile, read_regular
from ..support.jsonload import MAX_DOCUMENT_BYTES, decode_document
from ..support.schemacheck import conforms
from ..support.specvalues import (
    DEFAULT_SIZE,
    DEFAULT_WATERMARK_SIZE,
    BurnInText,
    DraftSpec,
    Invalid,
    LookSpec,
    Rendition,
    RequiredBuilds,
    WatermarkText,
    draft_of,
    valid,
    with_first_rendition,
)
from .serialization import load_schema

if TYPE_CHECKING:
    import jsonschema

T = TypeVar("T")

SUPPORTED_MAJOR = 1

SUPPORTED_MINOR = 2

MAX_USER_METADATA_BYTES = 64 * 1024

_JOB_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)", re.ASCII)

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


@attrs.frozen(kw_only=True)
class JobSpec:
    """A valid JobSpec as typed values (built from its ``DraftSpec``: ``JobSpec.of``)."""

    jobspec_version: str
    sources: tuple[str, ...]
    #: required except with layout "proxy_subfolder" (JobSpec 1.1)
    output_dir: str | None = None
    output_name_template: str | None = None
    proxy_profile: str
    codec: str
    container: str
    fps_mode: FpsMode
    created_at: str | None = None
    job_id: str | None = None
    engine: str | None = None
    overwrite: bool = False
    user_metadata: dict[str, Any] | None = None
    require_builds: RequiredBuilds | None = None
    #: where proxies land (proxx_core.features.layouts, JobSpec 1.1)
    layout: Layout = Layout.OUTPUT_DIR
    #: the profile's box, or the source divided exactly (JobSpec 1.1)
    raster: Raster = Raster.FIT
    look: LookSpec | None = None
    burn_in: tuple[BurnInText, ...] | None = None
    watermark: WatermarkText | None = None
    #: JobSpec 1.1 (proxx_core.features.existing); None: from ``overwrite``
    existing_outputs: ExistingOutputs | None = None
    #: JobSpec 1.1: refuse the job (default) or fail the clip (planning.RefusedClip)
    unsupported_sources: UnsupportedSources = UnsupportedSources.REFUSE_JOB
    deliverables: tuple[str, ...] = ()
    #: JobSpec 1.2: notification targets by name (node config ``[notify.targets]``; proxx-notify)
    notify: tuple[str, ...] = ()
    #: JobSpec 1.2, fleets only: "high", "normal" or "low" (specvalues.PRIORITIES)
    priority: str = "normal"
    #: JobSpec 1.2: several proxies of every source (proxx_core.pipeline.renditions). With renditions, the
    #: single-rendition keys above (proxy_profile, codec, container, layout, raster,
    #: output_name_template) are the first rendition's, for front ends that show one profile;
    #: every step that makes files takes each rendition's own (``renditions.single_spec``)
    renditions: tuple[Rendition, ...] = ()

    @classmethod
    def of(cls, draft: DraftSpec) -> JobSpec:
        """The spec of a draft with no problem (every value typed; ValueError otherwise)."""
        draft = with_first_rendition(draft)
        burn_in = valid(draft.burn_in)
        watermark = valid(draft.watermark)
        return cls(
            jobspec_version=valid(draft.jobspec_version),
            sources=valid(draft.sources),
            output_dir=valid(draft.output_dir),
            output_name_template=valid(draft.output_name_template),
            proxy_profile=valid(draft.proxy_profile),
            codec=valid(draft.codec),
            container=valid(draft.container),
            fps_mode=valid(draft.fps_mode),
            created_at=valid(draft.created_at),
            job_id=valid(draft.job_id),
            engine=valid(draft.engine),
            overwrite=valid(draft.overwrite),
            user_metadata=valid(draft.user_metadata),
            require_builds=valid(draft.require_builds),
            layout=valid(draft.layout),
            raster=valid(draft.raster),
            look=valid(draft.look),
            burn_in=None
            if burn_in is None
            else tuple(
                BurnInText(
                    text=valid_text(e.text),
                    position=valid_text(e.position),
                    size=DEFAULT_SIZE if e.size is None else e.size,
                )
                for e in burn_in
            ),
            watermark=None
            if watermark is None
            else WatermarkText(
                text=valid_text(watermark.text),
                opacity=float(valid_text(watermark.opacity)),
                size=DEFAULT_WATERMARK_SIZE if watermark.size is None else watermark.size,
            ),
            existing_outputs=valid(draft.existing_outputs),
            unsupported_sources=valid(draft.unsupported_sources),
            deliverables=valid(draft.deliverables),
            notify=valid(draft.notify),
            priority=valid(draft.priority),
            renditions=valid(draft.renditions),
        )


def valid_text(value: T | None) -> T:
    """A member of a burn-in element or watermark the schema requires (a valid spec has it)."""
    if value is None:
        raise ValueError("a burn-in text without its required text, position or opacity was used as valid")
    return value


@attrs.frozen(kw_only=True)
class ParsedJob:
    """A valid JobSpec and its identity, computed once: what every later step of the pipeline takes."""

    spec: JobSpec
    #: the document as given (already strict JSON), kept verbatim for the result's audit trail
    document: dict[str, Any]
    job_id: str
    jobspec_sha256: str
    #: JobSpec 1.2 folder sources: what each folder or card entry of ``sources`` expanded to (the
    #: document above already lists the files), for the result's ``source_folders``
    source_folders: tuple[dict[str, Any], ...] = ()

    @classmethod
    def of(cls, document: dict[str, Any], spec: JobSpec | None = None) -> ParsedJob:
        """The parsed job of a document that :func:`document_problems` found valid (``spec``: its
        typed values, when the caller already built them)."""
        return cls(
            spec=spec or structure(document),
            document=document,
            job_id=derive_job_id(document),
            jobspec_sha256=jobspec_sha256(document),
        )


def read_document(path: Path | str) -> Any:
    """Read and decode a JobSpec file. Missing/unreadable file -> JobFileError (system, exit 4); a path
    that is not a regular file (a FIFO, a directory, a device: never opened in a way that blocks, see
    safeopen) or bytes that are not strict, bounded UTF-8 JSON -> SpecInvalid (validation, exit 1)."""
    path = Path(path)
    try:
        raw = read_regular(path, MAX_DOCUMENT_BYTES + 1)  # bounded: a huge file is refused, not loaded
    except NotAFile as exc:
        raise SpecInvalid([Problem(path="", message=f"job file {exc}; give the path of a .json job file")]) from None
    except FileNotFoundError:
        raise JobFileError(f"{path}: job file not found; check the path") from None
    except OSError as exc:
        raise JobFileError(f"{path}: cannot read job file ({exc.strerror}); check permissions") from None
    return decode_document(raw)


def _pointer(parts: Iterable[object]) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


_TYPE_WORDS = {
    "array": "an array (a JSON list)",
    "string": "a string",
    "object": "an object",
    "boolean": "true or false",
    "integer": "an integer",
    "number": "a number",
}


def _json_type(value: Any) -> str:
    return {
        dict: "object",
        list: "array",
        str: "string",
        bool: "boolean",
        int: "integer",
        float: "number",
        type(None): "null",
    }.get(type(value), type(value).__name__)


def _schema_problem(err: jsonschema.ValidationError, schema: dict[str, Any]) -> Problem:
    path = _pointer(err.absolute_path)
    v = err.validator
    if v == "required":
        key = err.message.split("'")[1]
        return Problem(path=f"{path}/{key}", message=f"missing required key {key!r}; add it (see `proxx schema`)")
    if v == "type":
        want = err.validator_value
        return Problem(
            path=path,
            message=f"must be {_TYPE_WORDS.get(want, want)}, not {_json_type(err.instance)}"
            + (
                '; put a single source in a list: ["/path/clip.mov"]'
                if want == "array" and isinstance(err.instance, str)
                else ""
            ),
        )
    if v == "enum" and path.endswith("/proxy_profile") and isinstance(err.instance, str):
        import difflib  # only when wording a problem: kept out of every command's start-up

        names = [str(x) for x in err.validator_value]
        close = difflib.get_close_matches(err.instance, names, n=1, cutoff=0.75)
        close = close or [n for n in names if err.instance.strip().lower() in n][:2]  # "prores_proxy"
        close = close if len(close) == 1 else []
        hint = f"did you mean {close[0]!r}? " if close else ""
        return Problem(
            path=path,
            message=(
                f"{hint}{_short(err.instance)} is not one of: "
                f"{', '.join(map(str, err.validator_value))} (`proxx profiles`)"
            ),
        )
    if v == "enum":
        return Problem(
            path=path, message=f"{_short(err.instance)} is not one of: {', '.join(map(str, err.validator_value))}"
        )
    if v == "maxLength":
        return Problem(
            path=path, message=f"is too long ({len(err.instance)} characters); the limit is {err.validator_value}"
        )
    if v == "minItems":
        return Problem(path=path, message="must not be empty; list at least one source file")
    if v == "minLength":
        return Problem(path=path, message="must not be empty")
    if v == "pattern" and path == "/jobspec_version":
        return Problem(path=path, message=f'{_short(err.instance)} is not a semantic version like "1.0.0"')
    if v == "pattern" and path.startswith("/require_builds/"):
        return Problem(
            path=path,
            message=f"{_short(err.instance)} is not a build fingerprint: write the engine's "
            f"binary_sha256 (64 lowercase hex digits) as `proxx engines --json` or "
            f"`proxx plan` shows it",
        )
    if v == "pattern" and path == "/job_id":
        return Problem(path=path, message=f"{_short(err.instance)} must be 1-64 characters from A-Z a-z 0-9 . _ -")
    return Problem(path=path, message=_cut(err.message, 300))


def _source_of(parts: Iterable[object]) -> int | None:
    """The source index of a schema error's path (``["sources", 3, ...]``), as the int it is."""
    head = list(parts)[:2]
    return head[1] if len(head) == 2 and head[0] == "sources" and isinstance(head[1], int) else None


def schema_problems(doc: Any) -> list[Problem]:
    schema = load_schema()
    if conforms(doc, schema):  # the usual case, without importing jsonschema (see schemacheck)
        return []
    import difflib  # only when wording problems, as jsonschema: kept out of every command's start-up

    import jsonschema  # the authority, and the one that words every message

    validator = jsonschema.Draft202012Validator(schema)
    problems: list[Problem] = []
    for err in validator.iter_errors(doc):
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = sorted(err.schema.get("properties", {}) if isinstance(err.schema, dict) else {})
            for key in sorted(set(err.instance) - set(allowed)):
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                problems.append(
                    Problem(
                        path=_pointer([*err.absolute_path, key]),
                        message=f"unknown key {_short(key)}; {hint}allowed keys: {', '.join(allowed)}",
                    )
                )
            continue
        problems.append(attrs.evolve(_schema_problem(err, schema), source_index=_source_of(err.absolute_path)))
    return problems


def structure(doc: dict[str, Any]) -> JobSpec:
    """The typed spec of a document the schema passed (so every key is a field, of its type)."""
    return JobSpec.of(draft_of(doc))


def canonical_json(doc: dict[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8: the form hashed for ``jobspec_sha256``."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def jobspec_sha256(doc: dict[str, Any]) -> str:
    return short_sha256(canonical_json(doc).encode("utf-8")).hexdigest()


def derive_job_id(doc: dict[str, Any]) -> str:
    """The job's id: the spec's own, or one derived from its canonical hash (same spec, same id)."""
    return doc.get("job_id") or f"job-{jobspec_sha256(doc)[:16]}"


def version_problems(version: str) -> list[Problem]:
    major, minor, _patch = (int(x) for x in version.split("."))
    if major != SUPPORTED_MAJOR:
        return [
            Problem(
                path="/jobspec_version",
                message=f"JobSpec major version {major} is not supported; "
                f"this Proxx reads {SUPPORTED_MAJOR}.{SUPPORTED_MINOR}.x",
            )
        ]
    if minor > SUPPORTED_MINOR:
        return [
            Problem(
                path="/jobspec_version",
                message=f"JobSpec {version} is newer than this Proxx supports "
                f"({SUPPORTED_MAJOR}.{SUPPORTED_MINOR}.x); upgrade Proxx "
                f"or write a {SUPPORTED_MAJOR}.{SUPPORTED_MINOR}.x spec",
            )
        ]
    return []


#: JobSpec keys added after 1.0, with the minor version that introduced each (SPEC section 9). A
#: spec using one must declare at least that minor; 1.0.0 specs stay exactly as they were. Every
#: later 1.x key is added to this table, and nowhere else, to get the same rule.
KEYS_SINCE_MINOR: dict[str, int] = {
    "require_builds": 1,
    "layout": 1,
    "raster": 1,
    "look": 1,
    "burn_in": 1,
    "watermark": 1,
    "existing_outputs": 1,
    "unsupported_sources": 1,
    "deliverables": 1,
    "notify": 2,
    "priority": 2,
    "renditions": 2,
}


def declared_minor(doc: dict[str, Any]) -> int:
    """The minor version a document declares (0 when it declares none that parses)."""
    try:
        return int(str(doc.get("jobspec_version")).split(".")[1])
    except (IndexError, ValueError):
        return 0


#: JobSpec 1.2: what a spec may leave out because its profile (or the only value there is) says it
PROFILE_DEFAULTS_SINCE_MINOR = 2


def with_profile_defaults(doc: Any) -> Any:
    """A 1.2 document with ``codec`` and ``container`` taken from its profile and ``fps_mode`` set
    to ``preserve_source`` where it leaves them out (a 1.0 or 1.1 spec must still write them: they
    were its explicit confirmation). Given values are kept, so a disagreeing one is still refused.
    The document every later step sees, and the result records, holds them."""
    if not isinstance(doc, dict) or declared_minor(doc) < PROFILE_DEFAULTS_SINCE_MINOR:
        return doc
    profile = PROFILES.get(doc["proxy_profile"]) if isinstance(doc.get("proxy_profile"), str) else None
    if profile is None or all(k in doc for k in ("codec", "container", "fps_mode")):
        return doc
    return {
        **doc,
        "codec": doc.get("codec", profile.codec),
        "container": doc.get("container", profile.container),
        "fps_mode": doc.get("fps_mode", FpsMode.PRESERVE_SOURCE),
    }


def minor_key_problems(draft: DraftSpec) -> list[Problem]:
    """A key newer than the spec's declared ``jobspec_version`` is an error naming the version to set."""
    version = draft.jobspec_version
    try:
        declared = int(str(version.raw if isinstance(version, Invalid) else version).split(".")[1])
    except (IndexError, ValueError):
        return []
    problems = []
    for key in sorted(k for k in draft.given if KEYS_SINCE_MINOR.get(k, 0) > declared):
        need = f"{SUPPORTED_MAJOR}.{KEYS_SINCE_MINOR[key]}.0"
        problems.append(
            Problem(
                path="/jobspec_version",
                message=(
                    f"/{key} is a JobSpec {need} key but this spec declares {_cut(str(version))}; "
                    f'set jobspec_version to "{need}" (or remove /{key})'
                ),
            )
        )
    return problems


def document_problems(doc: Any) -> list[Problem]:
    """Every problem of the document itself (no disk, no engines): schema, version, keys per version,
    profile confirmation, timestamps, job id, metadata size."""
    return read_spec(doc)[1]


def read_spec(doc: Any) -> tuple[DraftSpec | None, list[Problem]]:
    """The document as typed values (built once; each key marked flawed that has a problem) and
    every problem of the document itself; None for a document that is not a JSON object."""
    if not isinstance(doc, dict):
        return None, [Problem(path="", message=f"a JobSpec is a JSON object, not {_json_type(doc)}")]
    problems = schema_problems(doc)
    draft = draft_of(doc, problems)
    version = draft.jobspec_version
    if draft.usable("jobspec_version") and isinstance(version, str):
        if _VERSION.fullmatch(version):  # re.search's "$" also matches before a final "\n"
            problems += version_problems(version)
            problems += minor_key_problems(draft)
        else:
            problems.append(
                Problem(path="/jobspec_version", message=(f'{_short(version)} is not a semantic version like "1.0.0"'))
            )
    profile = PROFILES[draft.proxy_profile] if isinstance(draft.proxy_profile, str) else None
    if profile is not None:
        for key, want in (("codec", profile.codec), ("container", profile.container)):
            got = getattr(draft, key)
            if isinstance(got, str) and got != want and key not in draft.flawed:
                problems.append(
                    Problem(
                        path=f"/{key}",
                        message=(
                            f"{_short(got)} disagrees with profile {profile.name}, which makes {key} {want!r}; "
                            f"set {key} to {want!r} or choose another profile (`proxx profiles`)"
                        ),
                    )
                )
    problems += layout_document_problems(draft, profile)
    both = policy_problem(draft)
    if both:
        problems.append(Problem(path="/existing_outputs", message=both))
    if isinstance(draft.created_at, str) and not _valid_rfc3339(draft.created_at):
        problems.append(
            Problem(
                path="/created_at",
                message=f"{_short(draft.created_at)} is not an RFC 3339 timestamp like 2026-01-31T09:00:00Z",
            )
        )
    job_id = draft.job_id
    if isinstance(job_id, str) and not _JOB_ID.fullmatch(job_id) and "job_id" not in draft.flawed:
        problems.append(
            Problem(path="/job_id", message=f"{_short(job_id)} must be 1-64 characters from A-Z a-z 0-9 . _ -")
        )
    if isinstance(draft.user_metadata, dict):
        size = len(json.dumps(draft.user_metadata, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        if size > MAX_USER_METADATA_BYTES:
            problems.append(
                Problem(
                    path="/user_metadata",
                    message=f"is {size} bytes serialised; the limit is {MAX_USER_METADATA_BYTES} bytes",
                )
            )
    problems += burn_in_problems(draft.burn_in, draft.watermark)
    problems += nul_problems(draft)
    return draft.with_problems(problems), problems


def _path_fields(draft: DraftSpec) -> Iterable[tuple[int | None, str, str | Invalid | None]]:
    """(source index, pointer, value) of the fields that name files or folders."""
    # a list with an item of another type is Invalid as a whole; its string items are still paths
    sources = draft.sources.raw if isinstance(draft.sources, Invalid) else draft.sources
    if isinstance(sources, list | tuple):
        yield from ((i, f"/sources/{i}", s) for i, s in enumerate(sources))
    yield None, "/output_dir", draft.output_dir
    yield None, "/output_name_template", draft.output_name_template
    if isinstance(draft.look, LookSpec):
        yield None, "/look/lut", draft.look.lut
        yield None, "/look/cdl", draft.look.cdl if isinstance(draft.look.cdl, str) else None


def nul_problems(draft: DraftSpec) -> list[Problem]:
    """A NUL byte in a path is refused here, with the field named, before any step hands the path to
    the OS (which would raise ValueError: an exit 4 with no result, or an ``io_error`` in a watch folder)."""
    return [
        Problem(
            path=where,
            source_index=index,
            message="contains a NUL character (\\u0000), which no file name can hold; remove it",
        )
        for index, where, value in _path_fields(draft)
        if isinstance(value, str) and "\x00" in value
    ]


def job_id_usable(draft: DraftSpec) -> bool:
    """Whether the job id names depend on can be derived (absent, or a valid id)."""
    return draft.job_id is None or (isinstance(draft.job_id, str) and bool(_JOB_ID.fullmatch(draft.job_id)))


def _valid_rfc3339(value: str) -> bool:
    if not _RFC3339.fullmatch(value):
        return False
    from datetime import datetime  # a spec that names a date: not loaded by every command

    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True
