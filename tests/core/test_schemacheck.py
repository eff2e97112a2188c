"""The fast schema check (proxx_core.support.schemacheck) never passes a document jsonschema refuses.

It exists so `proxx validate` of a valid spec does not import jsonschema (issue 12's start-up
budget); jsonschema stays the authority for every refusal and its message. The one-sided contract is
checked on the golden corpus, on hand-picked JSON corner cases and with hypothesis on documents
mutated from valid ones.
"""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxx_core.pipeline.serialization import load_schema
from proxx_core.support.schemacheck import conforms, supports

CORPUS = Path(__file__).resolve().parent.parent / "data" / "jobspecs"
SCHEMA = load_schema()
AUTHORITY = jsonschema.Draft202012Validator(SCHEMA)
VALID = [json.loads(p.read_text("utf-8")) for p in sorted((CORPUS / "valid").glob("*.json"))]
INVALID = [
    json.loads(p.read_text("utf-8")) for p in sorted((CORPUS / "invalid").glob("*.json")) if p.stem != "expected"
]


def test_the_jobspec_schema_uses_only_keywords_the_fast_check_evaluates():
    """Else every spec would silently take the slow path (results and plans are never checked on it)."""
    assert supports(SCHEMA), "the JobSpec schema uses a keyword schemacheck does not evaluate; add it there"


def test_an_unknown_keyword_means_cannot_tell_not_valid():
    assert not supports({"type": "string", "format": "date-time"})
    assert not conforms("x", {"type": "string", "format": "date-time"})
    assert not conforms({"a": 1}, {"patternProperties": {"^a$": {"type": "string"}}})
    assert not conforms("x", {"type": "text"})  # an unknown type name: cannot tell, never an exception


def test_every_valid_corpus_spec_takes_the_fast_path():
    assert VALID
    for doc in VALID:
        assert conforms(doc, SCHEMA), doc


def test_no_invalid_corpus_spec_passes_the_fast_path():
    assert INVALID
    for doc in INVALID:
        assert not AUTHORITY.is_valid(doc)
        assert not conforms(doc, SCHEMA), doc


@pytest.mark.parametrize(
    ("schema", "instance"),
    [
        ({"enum": [1]}, True),  # JSON true is not 1, although Python says True == 1
        ({"const": 0}, False),
        ({"enum": ["a"]}, ["a"]),
        ({"type": "integer"}, True),
        ({"type": "number"}, False),
        ({"type": "object"}, []),
        ({"type": "string", "pattern": "^[0-9]+$"}, "1a"),
        ({"type": "string", "pattern": "^[0-9]+(?!\\n)$"}, "12\n"),  # how our schemas refuse a final newline
        ({"uniqueItems": True}, ["a", "a"]),
        ({"oneOf": [{"type": "string"}, {"maxLength": 3}]}, "ab"),  # both match: not exactly one
        ({"if": {"required": ["a"]}, "then": {"required": ["b"]}}, {"a": 1}),
        ({"if": {"required": ["a"]}, "else": {"required": ["b"]}}, {}),
        ({"propertyNames": {"pattern": "^[a-z]+$"}}, {"A": 1}),
        ({"additionalProperties": False, "properties": {"a": {}}}, {"a": 1, "b": 2}),
        ({"exclusiveMinimum": 0}, 0),
        ({"maximum": 1}, 1.5),
        ({"minProperties": 1}, {}),
    ],
)
def test_corner_cases_refused_like_jsonschema(schema, instance):
    assert not jsonschema.Draft202012Validator(schema).is_valid(instance)
    assert not conforms(instance, schema)


def test_patterns_search_like_jsonschema():
    """Both use re.search, so "$" matches before a final newline (why our patterns add (?!\\n))."""
    schema = {"type": "string", "pattern": "^[0-9]+$"}
    assert jsonschema.Draft202012Validator(schema).is_valid("12\n") and conforms("12\n", schema)
    assert conforms("x12", {"pattern": "[0-9]"})


def test_stricter_only_where_json_is_subtle():
    """2.0 is an integer to JSON Schema; the fast check declines it (jsonschema then decides)."""
    assert jsonschema.Draft202012Validator({"type": "integer"}).is_valid(2.0)
    assert not conforms(2.0, {"type": "integer"})


JSON = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-3, 300)
    | st.sampled_from([0.0, 1.0, 2.5, -1.0, 1e300])
    | st.text(max_size=12)
    | st.sampled_from(
        [
            "1.0.0",
            "1.1.0",
            "1.0.0\n",
            "2.0.0",
            "fit",
            "half",
            "mov",
            "prores",
            "preserve_source",
            "proxy_subfolder",
            "avid_mxf",
            "skip_verified",
            "fail_clip",
            "ale",
            "mhl",
            "top_left",
            "0" * 64,
        ]
    ),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
KEYS = sorted(SCHEMA["properties"]) + ["extra", "Sources"]


@st.composite
def mutated_specs(draw):
    doc = json.loads(json.dumps(draw(st.sampled_from(VALID))))
    for _ in range(draw(st.integers(1, 4))):
        key = draw(st.sampled_from(KEYS))
        action = draw(st.sampled_from(["set", "drop", "nest"]))
        if action == "drop":
            doc.pop(key, None)
        elif action == "nest" and isinstance(doc.get(key), dict | list) and doc[key]:
            inner = doc[key]
            slot = draw(st.sampled_from(sorted(inner) if isinstance(inner, dict) else list(range(len(inner)))))
            inner[slot] = draw(JSON)
        else:
            doc[key] = draw(JSON)
    return doc


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_specs())
def test_fast_check_never_passes_what_jsonschema_refuses(doc):
    if conforms(doc, SCHEMA):
        assert AUTHORITY.is_valid(doc), [e.message for e in AUTHORITY.iter_errors(doc)]


@settings(max_examples=300, deadline=None)
@given(JSON, st.sampled_from(sorted(SCHEMA["properties"])))
def test_each_property_schema_agrees_with_jsonschema(value, key):
    """Every property's own schema, on arbitrary JSON: fast-valid implies valid."""
    sub = SCHEMA["properties"][key]
    if conforms(value, sub):
        assert jsonschema.Draft202012Validator(sub).is_valid(value)
