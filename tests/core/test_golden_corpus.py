"""The golden JobSpec corpus, checked against both the JSON Schema and the attrs classes."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from proxx_core.pipeline.document import schema_problems, structure
from proxx_core.pipeline.serialization import load_schema

CORPUS = Path(__file__).resolve().parent.parent / "data" / "jobspecs"
EXPECTED = json.loads((CORPUS / "invalid" / "expected.json").read_text("utf-8"))


@pytest.mark.parametrize("path", sorted((CORPUS / "valid").glob("*.json")), ids=lambda p: p.stem)
def test_valid_specs_pass_schema_and_structure(path):
    doc = json.loads(path.read_text("utf-8"))
    jsonschema.Draft202012Validator(load_schema()).validate(doc)
    assert schema_problems(doc) == []
    spec = structure(doc)
    assert spec.sources == tuple(doc["sources"])


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_invalid_specs_are_refused_at_the_expected_path(name):
    doc = json.loads((CORPUS / "invalid" / f"{name}.json").read_text("utf-8"))
    assert not jsonschema.Draft202012Validator(load_schema()).is_valid(doc)
    assert EXPECTED[name] in [p.path for p in schema_problems(doc)]


def test_corpus_is_complete():
    assert set(EXPECTED) == {p.stem for p in (CORPUS / "invalid").glob("*.json")} - {"expected"}
