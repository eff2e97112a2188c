"""Strict, bounded JSON decoding for JobSpecs (limits documented in docs/jobspec.md).

Python's ``json`` accepts things a JobSpec must not hold, and fails on others with exceptions that
are not "invalid JSON": NaN/Infinity (a result must be strict JSON), duplicate keys (which one
counts?), lone UTF-16 surrogates (cannot be written back as UTF-8), integers over 4,300 digits
(ValueError) and deep nesting (RecursionError, here or later when the result is written). Every
one of them becomes a :class:`Problem` with the JSON pointer of the offending value, so a bad spec
is always "invalid" (exit 1), and everything accepted can be serialised again.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from typing import Any

from ..contract.errors import Problem, SpecInvalid, shown

#: a JobSpec file larger than this is refused before decoding
MAX_DOCUMENT_BYTES = 32 * 1024 * 1024
#: arrays/objects nested deeper than this are refused (the document itself is level 1)
MAX_DEPTH = 32
#: integers must fit in a signed 64-bit integer (what every JSON reader can hold exactly enough)
MAX_INT = 2**63 - 1
MIN_INT = -(2**63)

_SURROGATE = re.compile("[\ud800-\udfff]")
# one token of the depth pre-scan: a complete string, or a structural character
_TOKEN = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"|[\[\]{},:]|"', re.DOTALL)


class DocumentInvalid(SpecInvalid):
    """The bytes are not an acceptable JSON document. ``incomplete`` is True when they may still
    be being written (not UTF-8 yet, or a JSON syntax error) rather than complete but refused."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...], *, incomplete: bool = False):
        super().__init__(problems)
        self.incomplete = incomplete


class _Dupes(dict[str, Any]):
    """An object that had repeated keys: kept so the walk can report where."""

    duplicates: list[str]


class _Refused:
    """Stands in for a number that is not allowed, so the walk can report its path."""

    def __init__(self, why: str):
        self.why = why


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj = dict(pairs)
    if len(obj) == len(pairs):
        return obj
    seen: set[str] = set()
    dupes = _Dupes(obj)
    dupes.duplicates = [k for k, _ in pairs if k in seen or seen.add(k)]  # type: ignore[func-returns-value]
    return dupes


def _int(text: str) -> Any:
    if len(text.lstrip("-")) > 19:
        return _Refused(
            f"integer with {len(text.lstrip('-'))} digits is outside the 64-bit range; write large numbers as strings"
        )
    value = int(text)
    if not MIN_INT <= value <= MAX_INT:
        return _Refused("integer is outside the 64-bit range; write large numbers as strings")
    return value


def _float(text: str) -> Any:
    value = float(text)
    if value in (float("inf"), float("-inf")):
        return _Refused(f"{text[:40]} is not a finite number (too large for a 64-bit float)")
    return value


def _constant(name: str) -> Any:
    return _Refused(f"{name} is not a finite number; JSON has no NaN or Infinity")


def pointer(parts: Iterable[object]) -> str:
    """A JSON pointer (RFC 6901) for a list of keys and indexes."""
    return "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in parts)


def _safe_key(key: str) -> str:
    return _SURROGATE.sub("\N{REPLACEMENT CHARACTER}", key)


def _too_deep(text: str) -> list[Problem]:
    """Find nesting deeper than MAX_DEPTH without recursion, and say where (as a JSON pointer)."""
    path: list[Any] = []  # keys/indexes of the containers we are in
    kinds: list[str] = []
    key: Any = None
    expect_key = False
    for m in _TOKEN.finditer(text):
        tok = m.group()
        if tok in "[{":
            if kinds:
                path.append(key)
            kinds.append(tok)
            if len(kinds) > MAX_DEPTH:
                return [
                    Problem(
                        path=pointer(path[:MAX_DEPTH]),
                        message=(
                            f"nests arrays/objects more than {MAX_DEPTH} levels deep "
                            f"(line {text.count(chr(10), 0, m.start()) + 1}); "
                            f"the limit is {MAX_DEPTH} levels: flatten this value"
                        ),
                    )
                ]
            key, expect_key = (0, False) if tok == "[" else (None, True)
        elif tok in "]}":
            if not kinds:
                return []
            kinds.pop()
            key = path.pop() if path else None
            expect_key = False
        elif tok == ",":
            if kinds and kinds[-1] == "[":
                key = key + 1 if isinstance(key, int) else 0
            else:
                expect_key = True
        elif tok == ":":
            expect_key = False
        elif tok == '"':
            return []  # an unterminated string: a syntax error, reported by the decoder
        elif expect_key:
            try:
                key = _safe_key(json.loads(tok))
            except ValueError:
                key = tok[1:-1]
    return []


def _walk(value: Any) -> list[Problem]:
    """Report refused numbers, duplicate keys and lone surrogates, each with its JSON pointer."""
    problems: list[Problem] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    while stack:
        where, item = stack.pop()
        if isinstance(item, _Refused):
            problems.append(Problem(path=pointer(where), message=item.why))
        elif isinstance(item, str):
            if _SURROGATE.search(item):
                problems.append(
                    Problem(
                        path=pointer(where),
                        message=(
                            "contains a lone UTF-16 surrogate escape (such as \\ud800), which is not a character "
                            "and cannot be written as UTF-8; remove it"
                        ),
                    )
                )
        elif isinstance(item, dict):
            for dup in sorted(set(getattr(item, "duplicates", ()))):
                problems.append(
                    Problem(
                        path=pointer((*where, _safe_key(dup))),
                        message=(f"duplicate key {shown(_safe_key(dup))} in the same object; give each key once"),
                    )
                )
            for k, v in item.items():
                if _SURROGATE.search(k):
                    problems.append(
                        Problem(
                            path=pointer(where),
                            message=(
                                f"key {shown(_safe_key(k))} contains a lone UTF-16 surrogate escape (such as \\ud800), "
                                f"which is not a character and cannot be written as UTF-8; remove it"
                            ),
                        )
                    )
                stack.append(((*where, _safe_key(k)), v))
        elif isinstance(item, list):
            stack.extend(((*where, i), v) for i, v in enumerate(item))
    return sorted(problems, key=lambda p: p.path)


def decode_document(raw: bytes, *, what: str = "the job file") -> Any:
    """Decode a JobSpec's bytes; raise :class:`DocumentInvalid` listing every refused value."""
    if len(raw) > MAX_DOCUMENT_BYTES:
        raise DocumentInvalid(
            [
                Problem(
                    path="", message=(f"{what} is larger than the limit of {MAX_DOCUMENT_BYTES} bytes: split the job")
                )
            ]
        )
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise DocumentInvalid(
            [
                Problem(
                    path="",
                    message=(f"{what} is not UTF-8 text ({exc.reason} at byte {exc.start}); save it as UTF-8 JSON"),
                )
            ],
            incomplete=True,
        ) from None
    deep = _too_deep(text)
    if deep:
        raise DocumentInvalid(deep)
    try:
        value = json.loads(text, object_pairs_hook=_pairs, parse_int=_int, parse_float=_float, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise DocumentInvalid(
            [
                Problem(
                    path="",
                    message=(f"not valid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}; fix the JSON syntax"),
                )
            ],
            incomplete=True,
        ) from None
    except (ValueError, RecursionError) as exc:  # defence in depth: the checks above should catch these
        raise DocumentInvalid([Problem(path="", message=f"not acceptable JSON: {exc}")]) from None
    problems = _walk(value)
    if problems:
        raise DocumentInvalid(problems)
    return value
