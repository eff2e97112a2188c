"""The JobSpec loader refuses hostile documents as *invalid* (exit 1, a JSON path, a clear message),
never with a traceback, and nothing it accepts can break the writing of a result later."""

from __future__ import annotations

import json

import pytest

from proxx_core.pipeline.check import check_job_file
from proxx_core.pipeline.serialization import dumps
from proxxtest import job_doc


@pytest.fixture(scope="module")
def engines():
    from proxx_core.support.plugins import load_engines
    from proxx_engine_ffmpeg import plugin

    return load_engines(plugins=[plugin], entry_points=False)


@pytest.fixture
def base(tmp_path):
    src = tmp_path / "A001.mov"
    src.write_bytes(b"not probed: every case below fails before probing")
    out = tmp_path / "out"
    out.mkdir()
    return json.dumps(job_doc([src], out), ensure_ascii=False)


def _with(base: str, key: str, raw_value: str) -> str:
    """``base`` with ``"key": <raw JSON text>`` added before the closing brace."""
    return base[:-1] + f', "{key}": {raw_value}' + "}"


def _check(tmp_path, engines, text: str | bytes):
    path = tmp_path / "job.json"
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8", "surrogatepass"))
    checked = check_job_file(path, engines)
    assert checked.exit_code == 1, checked.problems
    assert checked.job is None and checked.problems
    text = dumps(checked.refusal)  # the refused job's result is always writable, strict JSON
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-strict JSON constant {c}"))
    text.encode("utf-8")
    return {(p.path, p.message) for p in checked.problems}


def _hit(problems, path, *words):
    hits = [m for p, m in problems if p == path and all(w in m for w in words)]
    assert hits, f"no problem at {path!r} containing {words}: {problems}"


def test_lone_surrogate_escape_is_refused_with_its_path(tmp_path, engines, base):
    problems = _check(tmp_path, engines, _with(base, "user_metadata", '{"note": ["ok", "\\ud800"]}'))
    _hit(problems, "/user_metadata/note/1", "surrogate")


def test_lone_surrogate_in_a_key_is_refused(tmp_path, engines, base):
    problems = _check(tmp_path, engines, _with(base, "user_metadata", '{"\\udfff": 1}'))
    _hit(problems, "/user_metadata", "surrogate")


def test_a_valid_surrogate_pair_is_fine(tmp_path, engines, base):
    path = tmp_path / "job.json"
    path.write_text(_with(base, "user_metadata", '{"emoji": "\\ud83c\\udfac"}'), encoding="utf-8")
    checked = check_job_file(path, engines)
    assert not any(p.path.startswith("/user_metadata") for p in checked.problems), checked.problems


def test_integer_with_5000_digits_is_refused(tmp_path, engines, base):
    problems = _check(tmp_path, engines, _with(base, "user_metadata", '{"n": ' + "9" * 5000 + "}"))
    _hit(problems, "/user_metadata/n", "integer")


def test_integer_outside_64_bits_is_refused(tmp_path, engines, base):
    problems = _check(tmp_path, engines, _with(base, "user_metadata", '{"n": 18446744073709551616}'))
    _hit(problems, "/user_metadata/n", "integer")


@pytest.mark.parametrize("raw", ["NaN", "Infinity", "-Infinity", "1e999", "-1e400"])
def test_non_finite_numbers_are_refused(tmp_path, engines, base, raw):
    problems = _check(tmp_path, engines, _with(base, "user_metadata", '{"x": [' + raw + "]}"))
    _hit(problems, "/user_metadata/x/0", "finite")


def test_duplicate_keys_are_refused_with_their_path(tmp_path, engines, base):
    problems = _check(tmp_path, engines, _with(base, "user_metadata", '{"a": {"k": 1, "k": 2}}'))
    _hit(problems, "/user_metadata/a/k", "duplicate")
    top = _check(tmp_path, engines, _with(base, "overwrite", 'true, "overwrite": false'))
    _hit(top, "/overwrite", "duplicate")


@pytest.mark.parametrize("depth", [33, 1000, 100_000])
def test_deep_nesting_is_refused_with_the_limit(tmp_path, engines, base, depth):
    problems = _check(tmp_path, engines, _with(base, "user_metadata", '{"a": ' + "[" * depth + "]" * depth + "}"))
    assert any(p.startswith("/user_metadata/a/0/0") and "32" in m and "deep" in m for p, m in problems), problems


def test_deep_nesting_at_the_top_level(tmp_path, engines):
    problems = _check(tmp_path, engines, "[" * 5000 + "]" * 5000)
    _hit(problems, "/0" * 32, "deep", "limit is 32")


def test_metadata_400_levels_deep_is_refused_before_it_can_break_the_result(tmp_path, engines, base):
    deep = "{}"
    for _ in range(400):
        deep = '{"m": ' + deep + "}"
    problems = _check(tmp_path, engines, _with(base, "user_metadata", deep))
    assert any(p.startswith("/user_metadata/m/m") for p, _ in problems), problems


def test_nesting_up_to_the_limit_is_accepted(tmp_path, engines, base):
    deep = "{}"
    for _ in range(30):  # document (1) + user_metadata (1) + 30 = 32 levels
        deep = '{"m": ' + deep + "}"
    path = tmp_path / "job.json"
    path.write_text(_with(base, "user_metadata", deep), encoding="utf-8")
    checked = check_job_file(path, engines)
    assert not any(p.path.startswith("/user_metadata") for p in checked.problems), checked.problems


@pytest.mark.parametrize("version", ["1.0.0\n", "1.0.0\r\n", " 1.0.0", "1.0.0 ", "1.0.0\x00", "１.0.0", "1.0.0\u0663"])
def test_version_with_trailing_newline_or_odd_digits_is_refused(tmp_path, engines, base, version):
    doc = json.loads(base)
    doc["jobspec_version"] = version
    _hit(_check(tmp_path, engines, json.dumps(doc)), "/jobspec_version", "semantic version")


def test_version_newline_is_refused_by_the_schema_itself():
    """The published schema must say the same as Proxx for other tools validating with Python's re."""
    import jsonschema

    from proxx_core.pipeline.serialization import load_schema

    version_schema = load_schema()["properties"]["jobspec_version"]
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate("1.0.0\n", version_schema)
    jsonschema.validate("1.0.0", version_schema)


def test_huge_document_is_refused_by_size(tmp_path, engines, base, monkeypatch):
    from proxx_core.support import jsonload

    monkeypatch.setattr(jsonload, "MAX_DOCUMENT_BYTES", 4096)
    problems = _check(tmp_path, engines, _with(base, "user_metadata", '{"x": "' + "a" * 5000 + '"}'))
    _hit(problems, "", "bytes", "limit")


@pytest.mark.parametrize("key", ["output_dir", "output_name_template", "codec", "container", "engine"])
def test_overlong_strings_are_refused_with_a_short_message(tmp_path, engines, base, key):
    doc = json.loads(base)
    doc[key] = "/" + "x" * 100_000
    problems = _check(tmp_path, engines, json.dumps(doc))
    _hit(problems, f"/{key}", "long")
    assert all(len(m) < 400 for _, m in problems), "a message must not echo a huge value"


def test_overlong_source_path_is_refused(tmp_path, engines, base):
    doc = json.loads(base)
    doc["sources"] = ["/" + "x" * 10_000]
    problems = _check(tmp_path, engines, json.dumps(doc))
    _hit(problems, "/sources/0", "long")
    assert all(len(m) < 400 for _, m in problems)


def test_bom_and_utf16_are_refused_as_invalid(tmp_path, engines, base):
    _check(tmp_path, engines, b"\xef\xbb\xbf" + base.encode())
    _check(tmp_path, engines, base.encode("utf-16"))


@pytest.mark.parametrize(
    "text",
    [
        '{"a": 1, "a": 2}',
        "[" * 3000,
        '"\\ud800"',
        "1" * 10_000,
        "-" + "1" * 10_000,
        "1e99999",
        '{"jobspec_version": "1.0.0", "x": ' + '{"a":' * 2000 + "1" + "}" * 2000 + "}",
    ],
)
def test_cli_validate_exits_1_never_4(proxx, tmp_path, text):
    path = tmp_path / "job.json"
    path.write_bytes(text.encode("utf-8", "surrogatepass"))
    r = proxx("validate", path)
    assert r.returncode == 1, r.stderr
    assert "Traceback" not in r.stderr
    assert r.json()["valid"] is False and r.json()["problems"]
    r = proxx("run", path)
    assert r.returncode == 1, r.stderr
    json.loads(r.stdout)  # the refused job's result document
