"""Step 1 of the pipeline: a JobSpec document -> one ``ParsedJob`` value, or every problem in it.

Reading (strict, bounded JSON: :mod:`.jsonload`), the schema with operator wording and JSON paths,
the version and key-per-version rules, field checks that need no disk, and the job's identity
(canonical form, SHA-256, job id) computed exactly once. Later steps take the ``ParsedJob``: its
typed ``spec`` for what is typed, and its ``document`` (the dict as read) where steps still read
keys (the features a job needs, burn-in tokens, deliverables, the re-run hint) and for the result's
``jobspec``.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import re
from collections.abc import Iterable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from .burnin import burn_in_problems
from .errors import JobFileError, Problem, SpecInvalid
from .errors import cut as _cut
from .errors import shown as _short
from .existing import policy_problem
from .jsonload import MAX_DOCUMENT_BYTES, decode_document
from .layouts import layout_document_problems
from .profiles import PROFILES
from .renditions import Rendition
from .safeopen import NotAFile, read_regular
from .schemacheck import conforms
from .serialization import load_schema

if TYPE_CHECKING:
    import jsonschema

SUPPORTED_MAJOR = 1

SUPPORTED_MINOR = 2

MAX_USER_METADATA_BYTES = 64 * 1024

_JOB_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")

_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)", re.ASCII)

_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


@attrs.frozen(kw_only=True)
class JobSpec:
    jobspec_version: str
    sources: tuple[str, ...]
    #: required except with layout "proxy_subfolder" (JobSpec 1.1)
    output_dir: str | None = None
    output_name_template: str | None = None
    proxy_profile: str
    codec: str
    container: str
    fps_mode: str
    created_at: str | None = None
    job_id: str | None = None
    engine: str | None = None
    overwrite: bool = False
    user_metadata: dict[str, Any] | None = None
    require_builds: dict[str, str] | None = None
    #: where proxies land (proxx_core.layouts, JobSpec 1.1)
    layout: str = "output_dir"
    #: "fit" (the profile's box), or the source divided exactly: "half", "quarter" (JobSpec 1.1)
    raster: str = "fit"
    look: dict[str, Any] | None = None
    burn_in: list[dict[str, Any]] | None = None
    watermark: dict[str, Any] | None = None
    #: JobSpec 1.1: "fail", "skip_verified" or "overwrite" (proxx_core.existing); None: from ``overwrite``
    existing_outputs: str | None = None
    #: JobSpec 1.1: "refuse_job" (default) or "fail_clip" (planning.RefusedClip)
    unsupported_sources: str = "refuse_job"
    deliverables: tuple[str, ...] = ()
    #: JobSpec 1.2: notification targets by name (node config ``[notify.targets]``; proxx-notify)
    notify: tuple[str, ...] = ()
    #: JobSpec 1.2, fleets only: "high", "normal" or "low" (proxx_fleet.settings.PRIORITIES)
    priority: str = "normal"
    #: JobSpec 1.2: several proxies of every source (proxx_core.renditions). With renditions, the
    #: single-rendition keys above (proxy_profile, codec, container, layout, raster,
    #: output_name_template) are the first rendition's, for front ends that show one profile;
    #: every step that makes files takes each rendition's own (``renditions.single_spec``)
    renditions: tuple[Rendition, ...] = ()


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
    def of(cls, document: dict[str, Any]) -> ParsedJob:
        """Structure a document that :func:`document_problems` found valid."""
        return cls(spec=structure(document), document=document, job_id=derive_job_id(document),
                   jobspec_sha256=jobspec_sha256(document))


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

_TYPE_WORDS = {"array": "an array (a JSON list)", "string": "a string", "object": "an object",
               "boolean": "true or false", "integer": "an integer", "number": "a number"}

def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)

def _schema_problem(err: jsonschema.ValidationError, schema: dict[str, Any]) -> Problem:
    path = _pointer(err.absolute_path)
    v = err.validator
    if v == "required":
        key = err.message.split("'")[1]
        return Problem(path=f"{path}/{key}", message=f"missing required key {key!r}; add it (see `proxx schema`)")
    if v == "type":
        want = err.validator_value
        return Problem(path=path, message=f"must be {_TYPE_WORDS.get(want, want)}, not {_json_type(err.instance)}"
                       + ("; put a single source in a list: [\"/path/clip.mov\"]"
                          if want == "array" and isinstance(err.instance, str) else ""))
    if v == "enum" and path.endswith("/proxy_profile") and isinstance(err.instance, str):
        names = [str(x) for x in err.validator_value]
        close = difflib.get_close_matches(err.instance, names, n=1, cutoff=0.75)
        close = close or [n for n in names if err.instance.strip().lower() in n][:2]  # "prores_proxy"
        close = close if len(close) == 1 else []
        hint = f"did you mean {close[0]!r}? " if close else ""
        return Problem(path=path, message=(f"{hint}{_short(err.instance)} is not one of: "
                                           f"{', '.join(map(str, err.validator_value))} (`proxx profiles`)"))
    if v == "enum":
        return Problem(path=path, message=f"{_short(err.instance)} is not one of: "
                                          f"{', '.join(map(str, err.validator_value))}")
    if v == "maxLength":
        return Problem(path=path, message=f"is too long ({len(err.instance)} characters); "
                                          f"the limit is {err.validator_value}")
    if v == "minItems":
        return Problem(path=path, message="must not be empty; list at least one source file")
    if v == "minLength":
        return Problem(path=path, message="must not be empty")
    if v == "pattern" and path == "/jobspec_version":
        return Problem(path=path, message=f"{_short(err.instance)} is not a semantic version like \"1.0.0\"")
    if v == "pattern" and path.startswith("/require_builds/"):
        return Problem(path=path, message=f"{_short(err.instance)} is not a build fingerprint: write the engine's "
                                          f"binary_sha256 (64 lowercase hex digits) as `proxx engines --json` or "
                                          f"`proxx plan` shows it")
    if v == "pattern" and path == "/job_id":
        return Problem(path=path, message=f"{_short(err.instance)} must be 1-64 characters from A-Z a-z 0-9 . _ -")
    return Problem(path=path, message=_cut(err.message, 300))

def schema_problems(doc: Any) -> list[Problem]:
    schema = load_schema()
    if conforms(doc, schema):  # the usual case, without importing jsonschema (see schemacheck)
        return []
    import jsonschema  # the authority, and the one that words every message

    validator = jsonschema.Draft202012Validator(schema)
    problems: list[Problem] = []
    for err in validator.iter_errors(doc):
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = sorted(err.schema.get("properties", {}) if isinstance(err.schema, dict) else {})
            for key in sorted(set(err.instance) - set(allowed)):
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                problems.append(Problem(path=_pointer([*err.absolute_path, key]),
                                        message=f"unknown key {_short(key)}; {hint}allowed keys: {', '.join(allowed)}"))
            continue
        problems.append(_schema_problem(err, schema))
    return problems

def structure(doc: dict[str, Any]) -> JobSpec:
    """The typed spec of a document the schema passed (so every key is a field, of its type)."""
    data = dict(doc)
    for key in ("sources", "deliverables", "notify"):
        if key in data:
            data[key] = tuple(data[key])
    if "renditions" in data:  # the first rendition's keys stand for the job's (see JobSpec.renditions)
        renditions = tuple(Rendition(**r) for r in data["renditions"])
        first = PROFILES[renditions[0].proxy_profile]
        data.update(renditions=renditions, proxy_profile=first.name, codec=first.codec, container=first.container,
                    layout=renditions[0].layout, raster=renditions[0].raster,
                    output_name_template=renditions[0].output_name_template)
        data.setdefault("fps_mode", "preserve_source")
    return JobSpec(**data)

def canonical_json(doc: dict[str, Any]) -> str:
    """Sorted keys, no whitespace, UTF-8: the form hashed for ``jobspec_sha256``."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)

def jobspec_sha256(doc: dict[str, Any]) -> str:
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()

def derive_job_id(doc: dict[str, Any]) -> str:
    """The job's id: the spec's own, or one derived from its canonical hash (same spec, same id)."""
    return doc.get("job_id") or f"job-{jobspec_sha256(doc)[:16]}"

def version_problems(version: str) -> list[Problem]:
    major, minor, _patch = (int(x) for x in version.split("."))
    if major != SUPPORTED_MAJOR:
        return [Problem(path="/jobspec_version", message=f"JobSpec major version {major} is not supported; "
                                                         f"this Proxx reads {SUPPORTED_MAJOR}.{SUPPORTED_MINOR}.x")]
    if minor > SUPPORTED_MINOR:
        return [Problem(path="/jobspec_version", message=f"JobSpec {version} is newer than this Proxx supports "
                                                         f"({SUPPORTED_MAJOR}.{SUPPORTED_MINOR}.x); upgrade Proxx "
                                                         f"or write a {SUPPORTED_MAJOR}.{SUPPORTED_MINOR}.x spec")]
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
    return {**doc, "codec": doc.get("codec", profile.codec), "container": doc.get("container", profile.container),
            "fps_mode": doc.get("fps_mode", "preserve_source")}


def minor_key_problems(doc: dict[str, Any]) -> list[Problem]:
    """A key newer than the spec's declared ``jobspec_version`` is an error naming the version to set."""
    try:
        declared = int(str(doc.get("jobspec_version")).split(".")[1])
    except (IndexError, ValueError):
        return []
    problems = []
    for key in sorted(k for k in doc if KEYS_SINCE_MINOR.get(k, 0) > declared):
        need = f"{SUPPORTED_MAJOR}.{KEYS_SINCE_MINOR[key]}.0"
        problems.append(Problem(path="/jobspec_version", message=(
            f"/{key} is a JobSpec {need} key but this spec declares {_cut(doc['jobspec_version'])}; "
            f"set jobspec_version to \"{need}\" (or remove /{key})")))
    return problems


def document_problems(doc: Any) -> list[Problem]:
    """Every problem of the document itself (no disk, no engines): schema, version, keys per version,
    profile confirmation, timestamps, job id, metadata size."""
    if not isinstance(doc, dict):
        return [Problem(path="", message=f"a JobSpec is a JSON object, not {_json_type(doc)}")]
    problems = schema_problems(doc)
    bad_paths = {p.path for p in problems}
    if "/jobspec_version" not in bad_paths and isinstance(doc.get("jobspec_version"), str):
        if _VERSION.fullmatch(doc["jobspec_version"]):  # re.search's "$" also matches before a final "\n"
            problems += version_problems(doc["jobspec_version"])
            problems += minor_key_problems(doc)
        else:
            problems.append(Problem(path="/jobspec_version", message=(
                f"{_short(doc['jobspec_version'])} is not a semantic version like \"1.0.0\"")))
    profile = PROFILES.get(doc.get("proxy_profile")) if isinstance(doc.get("proxy_profile"), str) else None  # type: ignore[arg-type]  # a str: checked
    if profile is not None:
        for key, want in (("codec", profile.codec), ("container", profile.container)):
            got = doc.get(key)
            if isinstance(got, str) and got != want and f"/{key}" not in bad_paths:
                problems.append(Problem(path=f"/{key}", message=(
                    f"{_short(got)} disagrees with profile {profile.name}, which makes {key} {want!r}; "
                    f"set {key} to {want!r} or choose another profile (`proxx profiles`)")))
    problems += layout_document_problems(doc, profile)
    if "existing_outputs" in doc:  # JobSpec 1.1 modules load only for the specs that use them
        both = policy_problem(doc)
        if both:
            problems.append(Problem(path="/existing_outputs", message=both))
    if isinstance(doc.get("created_at"), str) and not _valid_rfc3339(doc["created_at"]):
        problems.append(Problem(path="/created_at", message=f"{_short(doc['created_at'])} is not an RFC 3339 timestamp "
                                                            f"like 2026-01-31T09:00:00Z"))
    if isinstance(doc.get("job_id"), str) and not _JOB_ID.fullmatch(doc["job_id"]) and "/job_id" not in bad_paths:
        problems.append(Problem(path="/job_id", message=f"{_short(doc['job_id'])} must be 1-64 characters "
                                                        f"from A-Z a-z 0-9 . _ -"))
    if isinstance(doc.get("user_metadata"), dict):
        size = len(json.dumps(doc["user_metadata"], ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        if size > MAX_USER_METADATA_BYTES:
            problems.append(Problem(path="/user_metadata", message=f"is {size} bytes serialised; "
                                                                   f"the limit is {MAX_USER_METADATA_BYTES} bytes"))
    problems += burn_in_problems(doc)
    problems += nul_problems(doc)
    return problems


#: the fields that name files or folders: a NUL byte can be in none of them (no OS allows it in a name)
def _path_fields(doc: dict[str, Any]) -> Iterable[tuple[str, Any]]:
    if isinstance(doc.get("sources"), list):
        yield from ((f"/sources/{i}", s) for i, s in enumerate(doc["sources"]))
    yield from (("/" + k, doc.get(k)) for k in ("output_dir", "output_name_template"))
    if isinstance(doc.get("look"), dict):
        yield from ((f"/look/{k}", doc["look"].get(k)) for k in ("lut", "cdl"))


def nul_problems(doc: dict[str, Any]) -> list[Problem]:
    """A NUL byte in a path is refused here, with the field named, before any step hands the path to
    the OS (which would raise ValueError: an exit 4 with no result, or an ``io_error`` in a watch folder)."""
    return [Problem(path=where, message="contains a NUL character (\\u0000), which no file name can hold; "
                                        "remove it")
            for where, value in _path_fields(doc) if isinstance(value, str) and "\x00" in value]


def job_id_usable(doc: dict[str, Any]) -> bool:
    """Whether the job id names depend on can be derived (absent, or a valid id)."""
    return "job_id" not in doc or (isinstance(doc["job_id"], str) and bool(_JOB_ID.fullmatch(doc["job_id"])))


def _valid_rfc3339(value: str) -> bool:
    if not _RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True
