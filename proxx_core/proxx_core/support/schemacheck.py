"""A fast yes/no check of a document against one of the shipped JSON Schemas.

``jsonschema`` stays the authority and writes every message, but importing it costs about 50 ms, a
fifth of the start-up budget of ``proxx validate`` (issue 12), and nearly every document is valid.
So :func:`conforms` evaluates the draft 2020-12 keywords our schemas use, and only a document it
cannot pass is handed to ``jsonschema``.

The contract is one-sided: ``conforms`` may refuse a document jsonschema accepts (that only costs
the slow path), but must never pass one jsonschema refuses. Where exact JSON semantics are subtle
(``1`` vs ``1.0``, uniqueness of mixed items) it is stricter. A keyword it does not know makes it
answer "cannot tell" (False), so a schema change can never slip past it;
``tests/core/test_schemacheck.py`` holds it to jsonschema with hypothesis.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import Any

#: annotations: they never make a document invalid
_ANNOTATIONS = frozenset({"$schema", "$id", "$comment", "title", "description", "default", "examples"})


class _Unsupported(Exception):
    """The schema uses a keyword this checker does not evaluate."""


def conforms(instance: Any, schema: dict[str, Any]) -> bool:
    """True only if ``instance`` is valid under ``schema``; False if invalid or not decidable here."""
    try:
        return _valid(instance, schema)
    except _Unsupported:
        return False


def supports(schema: Any) -> bool:
    """Whether every keyword in ``schema`` is one this checker evaluates (a test asserts it for the
    shipped schemas, so the fast path is never silently lost)."""
    if isinstance(schema, bool):
        return True
    if not isinstance(schema, dict) or not set(schema) <= _KNOWN:
        return False
    subschemas = [schema[k] for k in _SUBSCHEMA if k in schema]
    subschemas += list(schema.get("properties", {}).values()) + list(schema.get("oneOf", []))
    return all(supports(s) for s in subschemas)


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


_TYPES: dict[str, Callable[[Any], bool]] = {
    "object": lambda v: isinstance(v, dict),
    "array": lambda v: isinstance(v, list),
    "string": lambda v: isinstance(v, str),
    "boolean": lambda v: isinstance(v, bool),
    "null": lambda v: v is None,
    "number": _is_number,
    # stricter than JSON Schema, which also takes 2.0: a float falls through to jsonschema
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
}

#: (keyword, applies to, holds) for the bounds keywords
_BOUNDS: dict[str, tuple[Callable[[Any], bool], Callable[[Any, Any], bool]]] = {
    "minLength": (lambda v: isinstance(v, str), lambda v, n: len(v) >= n),
    "maxLength": (lambda v: isinstance(v, str), lambda v, n: len(v) <= n),
    "minItems": (lambda v: isinstance(v, list), lambda v, n: len(v) >= n),
    "maxItems": (lambda v: isinstance(v, list), lambda v, n: len(v) <= n),
    "minProperties": (lambda v: isinstance(v, dict), lambda v, n: len(v) >= n),
    "maxProperties": (lambda v: isinstance(v, dict), lambda v, n: len(v) <= n),
    "minimum": (_is_number, lambda v, n: v >= n),
    "maximum": (_is_number, lambda v, n: v <= n),
    "exclusiveMinimum": (_is_number, lambda v, n: v > n),
    "exclusiveMaximum": (_is_number, lambda v, n: v < n),
}


_SUBSCHEMA = ("items", "additionalProperties", "propertyNames", "if", "then", "else")
_KNOWN = frozenset(
    {
        *_ANNOTATIONS,
        *_BOUNDS,
        *_SUBSCHEMA,
        "type",
        "enum",
        "const",
        "pattern",
        "required",
        "properties",
        "uniqueItems",
        "oneOf",
    }
)


@cache
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _same(a: Any, b: Any) -> bool:
    """JSON equality, stricter where Python's is loose: ``True`` is not ``1``, and ``1`` is not ``1.0``."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


def _unique(items: list[Any]) -> bool:
    if all(isinstance(x, str) for x in items):
        return len(set(items)) == len(items)
    raise _Unsupported("uniqueItems over non-strings")  # not decidable here: jsonschema decides


# one branch per JSON Schema keyword the shipped schemas use, in one place to read against the spec
def _valid(inst: Any, schema: Any) -> bool:  # noqa: C901
    if isinstance(schema, bool):
        return schema
    if not isinstance(schema, dict):
        raise _Unsupported(f"schema {schema!r}")
    for key, value in schema.items():
        if key in _ANNOTATIONS or key in ("then", "else"):
            continue
        if key == "type":
            kinds = value if isinstance(value, list) else [value]
            if not set(kinds) <= _TYPES.keys():
                raise _Unsupported(f"type {value!r}")
            if not any(_TYPES[k](inst) for k in kinds):
                return False
        elif key == "enum":
            if not any(_same(inst, option) for option in value):
                return False
        elif key == "const":
            if not _same(inst, value):
                return False
        elif key in _BOUNDS:
            applies, holds = _BOUNDS[key]
            if applies(inst) and not holds(inst, value):
                return False
        elif key == "pattern":
            if isinstance(inst, str) and not _regex(value).search(inst):
                return False
        elif key == "required":
            if isinstance(inst, dict) and not all(k in inst for k in value):
                return False
        elif key == "properties":
            if isinstance(inst, dict) and not all(_valid(inst[k], s) for k, s in value.items() if k in inst):
                return False
        elif key == "additionalProperties":
            if isinstance(inst, dict):
                known = schema.get("properties", {})
                if not all(_valid(v, value) for k, v in inst.items() if k not in known):
                    return False
        elif key == "propertyNames":
            if isinstance(inst, dict) and not all(_valid(k, value) for k in inst):
                return False
        elif key == "items":
            if isinstance(inst, list) and not all(_valid(x, value) for x in inst):
                return False
        elif key == "uniqueItems":
            if value is True and isinstance(inst, list) and not _unique(inst):
                return False
        elif key == "if":
            branch = schema.get("then" if _valid(inst, value) else "else", True)
            if not _valid(inst, branch):
                return False
        elif key == "oneOf":
            if sum(1 for s in value if _valid(inst, s)) != 1:
                return False
        else:
            raise _Unsupported(key)
    return True
