"""JobSpec 1.0: reading, schema validation with precise paths, semantic checks, canonical identity.

Validation never stops at the first problem: every problem in the document is collected, each with
its JSON pointer and the fix, so an operator fixes a spec in one round trip.
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import stat
import unicodedata
from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any

import attrs
import cattrs
import jsonschema

from .errors import JobFileError, Problem, SpecInvalid
from .jsonload import MAX_DOCUMENT_BYTES, decode_document
from .profiles import PROFILES

SUPPORTED_MAJOR = 1
SUPPORTED_MINOR = 1
MAX_USER_METADATA_BYTES = 64 * 1024
MAX_NAME_BYTES = 200
TOKENS = ("source_name", "source_ext", "index", "job_id", "profile")
_TIME_WORDS = {"date", "time", "datetime", "timestamp", "now", "today", "year", "month", "day",
               "hour", "minute", "second", "epoch", "created_at", "utc", "local_time"}
_JOB_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)", re.ASCII)
_RFC3339 = re.compile(r"\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})")


@attrs.frozen(kw_only=True)
class JobSpec:
    jobspec_version: str
    sources: tuple[str, ...]
    output_dir: str
    output_name_template: str
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


_converter = cattrs.Converter(forbid_extra_keys=True)


def load_schema(name: str = "jobspec-1.0.json") -> dict:
    return json.loads(resources.files("proxx_core").joinpath("schemas", name).read_text("utf-8"))


def read_document(path: Path | str) -> Any:
    """Read and decode a JobSpec file. Missing/unreadable file -> JobFileError (system, exit 4);
    bytes that are not strict, bounded UTF-8 JSON -> SpecInvalid (validation, exit 1; see jsonload)."""
    path = Path(path)
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_DOCUMENT_BYTES + 1)  # bounded: a huge file is refused, not loaded
    except FileNotFoundError:
        raise JobFileError(f"{path}: job file not found; check the path") from None
    except IsADirectoryError:
        raise JobFileError(f"{path}: is a directory, not a job file") from None
    except OSError as exc:
        raise JobFileError(f"{path}: cannot read job file ({exc.strerror}); check permissions") from None
    return decode_document(raw)


def _pointer(parts) -> str:
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


_TYPE_WORDS = {"array": "an array (a JSON list)", "string": "a string", "object": "an object",
               "boolean": "true or false", "integer": "an integer", "number": "a number"}


def _json_type(value: Any) -> str:
    return {dict: "object", list: "array", str: "string", bool: "boolean", int: "integer",
            float: "number", type(None): "null"}.get(type(value), type(value).__name__)


def _schema_problem(err: jsonschema.ValidationError, schema: dict) -> Problem:
    path = _pointer(err.absolute_path)
    v = err.validator
    if v == "required":
        key = err.message.split("'")[1]
        return Problem(path=f"{path}/{key}", message=f"missing required key {key!r}; add it (see `proxx schema`)")
    if v == "type":
        want = err.validator_value
        return Problem(path=path, message=f"must be {_TYPE_WORDS.get(want, want)}, not {_json_type(err.instance)}"
                       + ("; put a single source in a list: [\"/path/clip.mov\"]" if want == "array" and isinstance(err.instance, str) else ""))
    if v == "enum":
        return Problem(path=path, message=f"{_short(err.instance)} is not one of: {', '.join(map(str, err.validator_value))}")
    if v == "maxLength":
        return Problem(path=path, message=f"is too long ({len(err.instance)} characters); the limit is {err.validator_value}")
    if v == "minItems":
        return Problem(path=path, message="must not be empty; list at least one source file")
    if v == "minLength":
        return Problem(path=path, message="must not be empty")
    if v == "pattern" and path == "/jobspec_version":
        return Problem(path=path, message=f"{_short(err.instance)} is not a semantic version like \"1.0.0\"")
    if v == "pattern" and path.startswith("/require_builds/"):
        return Problem(path=path, message=f"{_short(err.instance)} is not a build fingerprint: write the engine's binary_sha256 "
                                          f"(64 lowercase hex digits) as `proxx engines --json` or `proxx plan` shows it")
    if v == "pattern" and path == "/job_id":
        return Problem(path=path, message=f"{_short(err.instance)} must be 1-64 characters from A-Z a-z 0-9 . _ -")
    return Problem(path=path, message=_cut(err.message, 300))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short(value: Any) -> str:
    """``repr`` of a value, cut so a message never echoes a huge or hostile value in full."""
    return _cut(repr(value), 80)


def schema_problems(doc: Any) -> list[Problem]:
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(schema)
    problems: list[Problem] = []
    for err in validator.iter_errors(doc):
        if err.validator == "additionalProperties" and isinstance(err.instance, dict):
            allowed = sorted(schema.get("properties", {}))
            for key in sorted(set(err.instance) - set(allowed)):
                close = difflib.get_close_matches(key, allowed, n=1)
                hint = f"did you mean {close[0]!r}? " if close else ""
                problems.append(Problem(path=_pointer([*err.absolute_path, key]),
                                        message=f"unknown key {key!r}; {hint}allowed keys: {', '.join(allowed)}"))
            continue
        problems.append(_schema_problem(err, schema))
    return problems


def structure(doc: dict) -> JobSpec:
    data = dict(doc)
    data["sources"] = tuple(data["sources"])
    return _converter.structure(data, JobSpec)


def canonical_json(doc: dict) -> str:
    """Sorted keys, no whitespace, UTF-8: the form hashed for ``jobspec_sha256``."""
    return json.dumps(doc, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def jobspec_sha256(doc: dict) -> str:
    return hashlib.sha256(canonical_json(doc).encode("utf-8")).hexdigest()


def derive_job_id(doc: dict) -> str:
    """The job's id: the spec's own, or one derived from its canonical hash (same spec, same id)."""
    return doc.get("job_id") or f"job-{jobspec_sha256(doc)[:16]}"


def version_problems(version: str) -> list[Problem]:
    major, minor, _patch = (int(x) for x in version.split("."))
    if major != SUPPORTED_MAJOR:
        return [Problem(path="/jobspec_version", message=f"JobSpec major version {major} is not supported; this Proxx reads {SUPPORTED_MAJOR}.{SUPPORTED_MINOR}.x")]
    if minor > SUPPORTED_MINOR:
        return [Problem(path="/jobspec_version", message=f"JobSpec {version} is newer than this Proxx supports ({SUPPORTED_MAJOR}.{SUPPORTED_MINOR}.x); upgrade Proxx or write a {SUPPORTED_MAJOR}.{SUPPORTED_MINOR}.x spec")]
    return []


#: JobSpec keys added after 1.0, with the minor version that introduced each (SPEC section 9). A
#: spec using one must declare at least that minor; 1.0.0 specs stay exactly as they were. Every
#: later 1.x key is added to this table, and nowhere else, to get the same rule.
KEYS_SINCE_MINOR: dict[str, int] = {
    "require_builds": 1,
}


def minor_key_problems(doc: dict) -> list[Problem]:
    """A key newer than the spec's declared ``jobspec_version`` is an error naming the version to set."""
    try:
        declared = int(str(doc.get("jobspec_version")).split(".")[1])
    except (IndexError, ValueError):
        return []
    problems = []
    for key in sorted(k for k in doc if KEYS_SINCE_MINOR.get(k, 0) > declared):
        need = f"{SUPPORTED_MAJOR}.{KEYS_SINCE_MINOR[key]}.0"
        problems.append(Problem(path="/jobspec_version", message=(
            f"/{key} is a JobSpec {need} key but this spec declares {doc['jobspec_version']}; "
            f"set jobspec_version to \"{need}\" (or remove /{key})")))
    return problems


def source_problems(sources: tuple[str, ...]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, src in enumerate(sources):
        where = f"/sources/{i}"
        if not os.path.isabs(src):
            problems.append(Problem(path=where, message=f"{src!r} is not an absolute path; write the full path starting at /"))
            continue
        if "\x00" in src:
            problems.append(Problem(path=where, message="contains a NUL character"))
            continue
        key = unicodedata.normalize("NFC", os.path.normpath(src))
        try:
            real = unicodedata.normalize("NFC", os.path.realpath(src))
        except OSError:
            real = key
        for k in {key, real}:
            if k in seen:
                problems.append(Problem(path=where, message=f"duplicate of /sources/{seen[k]} ({src}); list each source once"))
                break
        else:
            seen[key] = seen.setdefault(real, i)
            problems.extend(_file_problems(src, where))
    return problems


def _file_problems(src: str, where: str) -> list[Problem]:
    try:
        st = os.stat(src)
    except FileNotFoundError:
        return [Problem(path=where, message=f"{src}: no such file; check the path and that the volume is mounted")]
    except OSError as exc:
        return [Problem(path=where, message=f"{src}: cannot be accessed ({exc.strerror}); check permissions")]
    if stat.S_ISDIR(st.st_mode):
        return [Problem(path=where, message=f"{src}: is a directory; list the media files inside it")]
    if not stat.S_ISREG(st.st_mode):
        return [Problem(path=where, message=f"{src}: is not a regular file")]
    if st.st_size == 0:
        return [Problem(path=where, message=f"{src}: empty file (0 bytes); the copy from the card may have failed or "
                                            f"still be running")]
    try:
        with open(src, "rb") as fh:
            fh.read(1)
    except OSError as exc:
        return [Problem(path=where, message=f"{src}: not readable ({exc.strerror}); give this user read permission")]
    return []


def output_dir_problems(output_dir: str) -> list[Problem]:
    where = "/output_dir"
    if not os.path.isabs(output_dir):
        return [Problem(path=where, message=f"{output_dir!r} is not an absolute path; write the full path starting at /")]
    if not os.path.exists(output_dir):
        return [Problem(path=where, message=f"{output_dir}: does not exist; create it first (Proxx never creates it)")]
    if not os.path.isdir(output_dir):
        return [Problem(path=where, message=f"{output_dir}: is not a directory")]
    if not os.access(output_dir, os.W_OK | os.X_OK):
        return [Problem(path=where, message=f"{output_dir}: is not writable by this user; fix its permissions")]
    return []


_TOKEN = re.compile(r"\{([^{}]*)\}")


def template_token_problems(template: str) -> list[Problem]:
    where = "/output_name_template"
    problems = []
    for name in _TOKEN.findall(template):
        if name in TOKENS:
            continue
        if name.lower() in _TIME_WORDS:
            problems.append(Problem(path=where, message=f"token {{{name}}} is time-based; names must be a pure function of the spec. Use {', '.join('{' + t + '}' for t in TOKENS)}"))
        else:
            problems.append(Problem(path=where, message=f"unknown token {{{name}}}; allowed tokens: {', '.join('{' + t + '}' for t in TOKENS)}"))
    if "{" in _TOKEN.sub("", template) or "}" in _TOKEN.sub("", template):
        problems.append(Problem(path=where, message="unbalanced '{' or '}'; tokens look like {source_name}"))
    return problems


def render_name(template: str, *, source: str, index: int, count: int, job_id: str, profile: str, extension: str) -> str:
    """The output file name of one source (pure: no clock, no host)."""
    p = Path(source)
    width = max(3, len(str(count)))
    values = {"source_name": p.stem, "source_ext": p.suffix.lstrip("."), "index": str(index).zfill(width),
              "job_id": job_id, "profile": profile}
    stem = _TOKEN.sub(lambda m: values[m.group(1)], template)
    return f"{stem}.{extension}"


#: characters SMB/NTFS (and so Windows editors) cannot store, or that APFS/SMB map to others
_RESERVED_CHARS = frozenset(':*?"<>|')
#: characters that make a name display as something else (bidi overrides and isolates) or look
#: identical to another name (zero-width characters, byte order mark)
_DECEPTIVE_CHARS = {chr(c): "a bidirectional-text control" for c in (*range(0x202A, 0x202F), *range(0x2066, 0x206A))}
_DECEPTIVE_CHARS.update({chr(c): "a zero-width character" for c in (0x200B, 0x200C, 0x200D, 0xFEFF)})
_WINDOWS_DEVICES = frozenset({"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
                              *(f"LPT{i}" for i in range(1, 10))})


def portability_problem(name: str) -> str | None:
    """Why ``name`` cannot be stored, or would mislead, on the SMB/NTFS/APFS volumes editors mount.
    The rule (docs/jobspec.md) refuses rather than rewrites: a proxy silently renamed would not
    relink by name."""
    bad = sorted({ch for ch in name if ch in _RESERVED_CHARS})
    if bad:
        return (f"contains {' '.join(bad)}, which SMB shares and Windows (NTFS) cannot store; "
                f"remove them from the template or from the source names")
    for ch in name:
        if ch in _DECEPTIVE_CHARS:
            return (f"contains U+{ord(ch):04X}, {_DECEPTIVE_CHARS[ch]} that makes names display or compare "
                    f"misleadingly on SMB/APFS volumes; remove it")
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
        return f"renders to {name!r}, which contains a path separator and could escape output_dir"
    if any(unicodedata.category(ch) == "Cc" for ch in name):
        return f"renders to {name!r}, which contains control characters"
    if name.startswith("."):
        return f"renders to {name!r}, which starts with '.' (hidden files are reserved for Proxx's temporary outputs)"
    why = portability_problem(name)
    if why:
        return f"renders to {name!r}, which {why}"
    if len(name.encode("utf-8")) > MAX_NAME_BYTES:
        return f"renders to a name of {len(name.encode('utf-8'))} bytes; the limit is {MAX_NAME_BYTES} bytes (UTF-8); shorten the template"
    return None


def name_key(name: str) -> str:
    """The name as a case-insensitive, Unicode-normalising volume (APFS, NTFS, SMB shares) compares
    it: NFC, then lower case. Deliberately not ``str.casefold``, which maps ß to ss: none of those
    volumes does, so "Straße" and "Strasse" are two files there and two names here."""
    return unicodedata.normalize("NFC", name).lower()


def file_identity(path: str) -> tuple[int, int] | None:
    """(st_dev, st_ino) of what ``path`` points at (symlinks followed), or None if it cannot be
    reached. Two paths are the same file exactly when their identities are equal."""
    try:
        st = os.stat(path)
    except (OSError, ValueError):
        return None
    return st.st_dev, st.st_ino


def _realpath(path: str) -> str:
    """``os.path.realpath`` that never raises (a NUL byte, a loop): the path itself then."""
    try:
        return os.path.realpath(path)
    except (OSError, ValueError):
        return path


class _SourceIndex:
    """Where every source lives, keyed so that a lookup is O(1): (identity of its directory, name
    key) for the path as given and for its real path, plus the identity of the file itself."""

    def __init__(self, sources: tuple[str, ...]):
        self.entries: dict[tuple, int] = {}
        self.files: dict[tuple[int, int], int] = {}
        dirs: dict[str, Any] = {}
        for j, src in enumerate(sources):
            for path in {src, _realpath(src)}:
                head, tail = os.path.split(path)
                if head not in dirs:
                    dirs[head] = file_identity(head) or _realpath(head)
                self.entries.setdefault((dirs[head], name_key(tail)), j)
            ident = file_identity(src)
            if ident is not None:
                self.files.setdefault(ident, j)

    def replaced_by(self, output_dir_key: Any, name: str, output_path: str) -> int | None:
        """Index of the source that writing ``name`` in the output directory would replace."""
        hit = self.entries.get((output_dir_key, name_key(name)))
        if hit is None:
            ident = file_identity(output_path)
            hit = self.files.get(ident) if ident is not None else None
        return hit


def output_names(spec: JobSpec, job_id: str) -> tuple[list[str], list[Problem]]:
    """Render every source's output name and report escaping or colliding names. Linear in the
    number of sources: every comparison is a dictionary lookup."""
    profile = PROFILES[spec.proxy_profile]
    names, problems, seen = [], [], {}
    index = _SourceIndex(spec.sources)
    out_key = file_identity(spec.output_dir) or _realpath(spec.output_dir)
    for i, src in enumerate(spec.sources):
        name = render_name(spec.output_name_template, source=src, index=i + 1, count=len(spec.sources),
                           job_id=job_id, profile=profile.name, extension=profile.extension)
        names.append(name)
        why = name_problem(name)
        if why:
            problems.append(Problem(path="/output_name_template", message=f"for /sources/{i}: {why}"))
            continue
        # proxies often land on macOS/SMB volumes that fold case and normalise Unicode
        key = name_key(name)
        if key in seen:
            problems.append(Problem(path="/output_name_template", message=(
                f"/sources/{seen[key]} and /sources/{i} both render to {name!r}; add {{index}} or "
                f"{{source_ext}} to the template so every source gets its own name")))
        else:
            seen[key] = i
        j = index.replaced_by(out_key, name, os.path.join(spec.output_dir, name))
        if j is not None:
            problems.append(Problem(path="/output_name_template", message=(
                f"the output of /sources/{i} ({name}) would replace source /sources/{j} ({spec.sources[j]}): "
                f"same file, or the same name on a case-insensitive or Unicode-normalising volume; "
                f"choose another template or output_dir")))
    return names, problems


def static_problems(doc: Any) -> tuple[JobSpec | None, list[Problem]]:
    """Every problem that can be found without engines: schema, version, paths, names."""
    if not isinstance(doc, dict):
        return None, [Problem(path="", message=f"a JobSpec is a JSON object, not {_json_type(doc)}")]
    problems = schema_problems(doc)
    bad_paths = {p.path for p in problems}
    if "/jobspec_version" not in bad_paths and isinstance(doc.get("jobspec_version"), str):
        if _VERSION.fullmatch(doc["jobspec_version"]):  # re.search's "$" also matches before a final "\n"
            problems += version_problems(doc["jobspec_version"])
            problems += minor_key_problems(doc)
        else:
            problems.append(Problem(path="/jobspec_version", message=(
                f"{_short(doc['jobspec_version'])} is not a semantic version like \"1.0.0\"")))
    if isinstance(doc.get("sources"), list) and not any(p.startswith("/sources") for p in bad_paths):
        problems += source_problems(tuple(doc["sources"]))
    if isinstance(doc.get("output_dir"), str) and "/output_dir" not in bad_paths:
        problems += output_dir_problems(doc["output_dir"])
    if isinstance(doc.get("output_name_template"), str):
        problems += template_token_problems(doc["output_name_template"])
    profile = PROFILES.get(doc.get("proxy_profile")) if isinstance(doc.get("proxy_profile"), str) else None
    if profile is not None:
        for key, want in (("codec", profile.codec), ("container", profile.container)):
            got = doc.get(key)
            if isinstance(got, str) and got != want and f"/{key}" not in bad_paths:
                problems.append(Problem(path=f"/{key}", message=(
                    f"{got!r} disagrees with profile {profile.name}, which makes {key} {want!r}; "
                    f"set {key} to {want!r} or choose another profile (`proxx profiles`)")))
    if isinstance(doc.get("created_at"), str) and not _valid_rfc3339(doc["created_at"]):
        problems.append(Problem(path="/created_at", message=f"{doc['created_at']!r} is not an RFC 3339 timestamp like 2026-01-31T09:00:00Z"))
    if isinstance(doc.get("job_id"), str) and not _JOB_ID.fullmatch(doc["job_id"]) and "/job_id" not in bad_paths:
        problems.append(Problem(path="/job_id", message=f"{doc['job_id']!r} must be 1-64 characters from A-Z a-z 0-9 . _ -"))
    if isinstance(doc.get("user_metadata"), dict):
        size = len(json.dumps(doc["user_metadata"], ensure_ascii=False, separators=(",", ":")).encode("utf-8"))
        if size > MAX_USER_METADATA_BYTES:
            problems.append(Problem(path="/user_metadata", message=f"is {size} bytes serialised; the limit is {MAX_USER_METADATA_BYTES} bytes"))
    names_checkable = (
        isinstance(doc.get("sources"), list) and all(isinstance(s, str) for s in doc["sources"])
        and isinstance(doc.get("output_dir"), str) and profile is not None
        and isinstance(doc.get("output_name_template"), str)
        and not any(p.path == "/output_name_template" for p in problems)
        and ("job_id" not in doc or (isinstance(doc["job_id"], str) and _JOB_ID.fullmatch(doc["job_id"]))))
    if names_checkable:
        # the fields names depend on are usable: check names even when other things are wrong
        parts = _NameInputs(sources=tuple(doc["sources"]), output_dir=doc["output_dir"],
                            output_name_template=doc["output_name_template"], proxy_profile=doc["proxy_profile"])
        problems += output_names(parts, derive_job_id(doc))[1]  # type: ignore[arg-type]
    if problems:
        return None, problems
    return structure(doc), []


@attrs.frozen(kw_only=True)
class _NameInputs:
    """The part of a JobSpec output names depend on (the rest may still be invalid)."""

    sources: tuple[str, ...]
    output_dir: str
    output_name_template: str
    proxy_profile: str


def _valid_rfc3339(value: str) -> bool:
    if not _RFC3339.fullmatch(value):
        return False
    try:
        datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        return False
    return True


def load_spec(path: Path | str) -> tuple[dict, JobSpec]:
    """Read and statically validate a job file; raise JobFileError or SpecInvalid."""
    doc = read_document(path)
    spec, problems = static_problems(doc)
    if problems:
        raise SpecInvalid(problems)
    return doc, spec
