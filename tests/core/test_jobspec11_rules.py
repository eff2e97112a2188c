"""JobSpec 1.1 rules beyond the schema (golden corpus tests/data/jobspecs/refused/): each document is
schema-valid yet refused, at the expected path, with the expected words."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest

from proxx_core.features.existing import policy_of
from proxx_core.pipeline.document import document_problems, structure
from proxx_core.pipeline.serialization import load_schema

CORPUS = Path(__file__).resolve().parent.parent / "data" / "jobspecs"
EXPECTED = json.loads((CORPUS / "refused" / "expected.json").read_text("utf-8"))


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_schema_valid_but_refused(name):
    doc = json.loads((CORPUS / "refused" / f"{name}.json").read_text("utf-8"))
    jsonschema.Draft202012Validator(load_schema()).validate(doc)
    path, words = EXPECTED[name]
    assert any(p.path == path and words in p.message for p in document_problems(doc)), document_problems(doc)


def test_corpus_is_complete():
    assert set(EXPECTED) == {p.stem for p in (CORPUS / "refused").glob("*.json")} - {"expected"}


@pytest.mark.parametrize(
    "extra,policy",
    [
        ({}, "fail"),
        ({"overwrite": False}, "fail"),
        ({"overwrite": True}, "overwrite"),
        ({"jobspec_version": "1.1.0", "existing_outputs": "skip_verified"}, "skip_verified"),
    ],
)
def test_policy_from_either_key(extra, policy):
    doc = {**json.loads((CORPUS / "valid" / "minimal.json").read_text("utf-8")), **extra}
    assert document_problems(doc) == []
    assert policy_of(structure(doc)) == policy
