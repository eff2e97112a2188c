"""Every JobSpec validation rule: exit 1, a message naming the JSON path, nothing written."""

from __future__ import annotations

import json

import pytest

from proxxtest import job_doc


def _problems(result):
    doc = result.json()
    assert doc["valid"] is False
    return {(p["path"], p["message"]) for p in doc["problems"]}


def _expect(proxx, write_job, doc, path, *words, code=1):
    r = proxx("validate", write_job(doc))
    assert r.returncode == code, r.stderr
    problems = _problems(r)
    hits = [m for p, m in problems if p == path and all(w in m for w in words)]
    assert hits, f"no problem at {path} containing {words}: {problems}"
    assert path in r.stderr  # the operator sees the JSON path too
    return problems


def test_valid_spec_exits_0(proxx, write_job, valid):
    doc, _ = valid
    doc["output_name_template"] = "{source_name}"  # "{source_name}_proxy" is warned: Resolve links by base name
    r = proxx("validate", write_job(doc))
    assert r.returncode == 0, r.stderr
    assert r.json() == {
        "valid": True,
        "job_id": r.json()["job_id"],
        "problems": [],
        "warnings": [],
        "folders": [doc["output_dir"]],
    }


CASES = [
    ("unknown key", lambda d, s: d.update(colour="red"), "/colour", ("unknown key",)),
    ("typo key suggests", lambda d, s: d.update(overwrit=True), "/overwrit", ("did you mean 'overwrite'",)),
    ("sources as string", lambda d, s: d.update(sources=str(s)), "/sources", ("must be an array",)),
    ("source item not string", lambda d, s: d.update(sources=[3]), "/sources/0", ("must be a string",)),
    ("empty sources", lambda d, s: d.update(sources=[]), "/sources", ("must not be empty",)),
    ("missing required", lambda d, s: d.pop("fps_mode"), "/fps_mode", ("missing required key",)),
    ("bad fps_mode", lambda d, s: d.update(fps_mode="conform_24"), "/fps_mode", ("not one of",)),
    ("major version", lambda d, s: d.update(jobspec_version="2.0.0"), "/jobspec_version", ("major version 2",)),
    ("newer minor", lambda d, s: d.update(jobspec_version="1.3.0"), "/jobspec_version", ("newer", "1.2.x")),
    ("not semver", lambda d, s: d.update(jobspec_version="1.0"), "/jobspec_version", ("semantic version",)),
    ("relative source", lambda d, s: d.update(sources=["media/A001.mov"]), "/sources/0", ("not an absolute path",)),
    ("missing source", lambda d, s: d.update(sources=[str(s) + ".nope"]), "/sources/0", ("no such file",)),
    ("directory source", lambda d, s: d.update(sources=[str(s.parent)]), "/sources/0", ("is a directory",)),
    (
        "duplicate source",
        lambda d, s: d.update(sources=[str(s), str(s.parent / ".." / s.parent.name / s.name)]),
        "/sources/1",
        ("duplicate of /sources/0",),
    ),
    ("relative output_dir", lambda d, s: d.update(output_dir="out"), "/output_dir", ("not an absolute path",)),
    (
        "missing output_dir",
        lambda d, s: d.update(output_dir=d["output_dir"] + "/nope"),
        "/output_dir",
        ("does not exist", "never creates"),
    ),
    ("output_dir is a file", lambda d, s: d.update(output_dir=str(s)), "/output_dir", ("not a directory",)),
    ("codec disagrees", lambda d, s: d.update(codec="h264"), "/codec", ("disagrees", "'prores'")),
    ("container disagrees", lambda d, s: d.update(container="mp4"), "/container", ("disagrees", "'mov'")),
    ("unknown profile", lambda d, s: d.update(proxy_profile="offline_av1_4k"), "/proxy_profile", ("not one of",)),
    (
        "template slash",
        lambda d, s: d.update(output_name_template="../{source_name}"),
        "/output_name_template",
        ("path separator",),
    ),
    (
        "template backslash",
        lambda d, s: d.update(output_name_template="a\\{source_name}"),
        "/output_name_template",
        ("path separator",),
    ),
    (
        "template hidden",
        lambda d, s: d.update(output_name_template=".{source_name}"),
        "/output_name_template",
        ("starts with '.'",),
    ),
    (
        "template unknown token",
        lambda d, s: d.update(output_name_template="{source_name}_{reel}"),
        "/output_name_template",
        ("unknown token {reel}",),
    ),
    (
        "template time token",
        lambda d, s: d.update(output_name_template="{source_name}_{date}"),
        "/output_name_template",
        ("time-based",),
    ),
    (
        "template unbalanced",
        lambda d, s: d.update(output_name_template="{source_name"),
        "/output_name_template",
        ("unbalanced",),
    ),
    (
        "template control char",
        lambda d, s: d.update(output_name_template="a\tb{index}"),
        "/output_name_template",
        ("control characters",),
    ),
    (
        "template too long",
        lambda d, s: d.update(output_name_template="é" * 120 + "{index}"),
        "/output_name_template",
        ("limit is 200 bytes",),
    ),
    ("bad job_id", lambda d, s: d.update(job_id="has space"), "/job_id", ("1-64 characters",)),
    ("bad created_at", lambda d, s: d.update(created_at="yesterday"), "/created_at", ("RFC 3339",)),
    ("overwrite not bool", lambda d, s: d.update(overwrite="yes"), "/overwrite", ("true or false",)),
    (
        "user_metadata too big",
        lambda d, s: d.update(user_metadata={"x": "y" * 70000}),
        "/user_metadata",
        ("limit is 65536",),
    ),
    ("user_metadata not object", lambda d, s: d.update(user_metadata=[1]), "/user_metadata", ("must be an object",)),
    ("unknown engine pin", lambda d, s: d.update(engine="warp"), "/engine", ("not installed",)),
]


@pytest.mark.parametrize("mutate,path,words", [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_rule(proxx, write_job, valid, mutate, path, words):
    doc, src = valid
    mutate(doc, src)
    _expect(proxx, write_job, doc, path, *words)


def test_collision_between_sources(proxx, write_job, media, outdir, tmp_path):
    a = media("A001.mov")
    other = tmp_path / "other"
    other.mkdir()
    b = other / "A001.mov"
    b.write_bytes(a.read_bytes())
    doc = job_doc([a, b], outdir)
    _expect(proxx, write_job, doc, "/output_name_template", "both render to", "{index}")


def test_collision_is_case_insensitive(proxx, write_job, media, outdir):
    a, b = media("shot.mov"), media("SHOT.mov")
    _expect(proxx, write_job, job_doc([a, b], outdir), "/output_name_template", "both render to")


def test_output_would_replace_source(proxx, write_job, media, outdir):
    a = media("clip.mov")
    doc = job_doc([a], a.parent, output_name_template="{source_name}")
    _expect(proxx, write_job, doc, "/output_name_template", "would replace source")


def test_every_problem_is_reported_at_once(proxx, write_job, valid):
    doc, src = valid
    doc.update(colour="red", codec="h264", output_dir="relative", sources=["rel.mov"])
    r = proxx("validate", write_job(doc))
    assert r.returncode == 1
    paths = {p for p, _ in _problems(r)}
    assert {"/colour", "/codec", "/output_dir", "/sources/0"} <= paths


def test_invalid_json_is_validation_error(proxx, write_job):
    r = proxx("validate", write_job('{"jobspec_version": "1.0.0",'))
    assert r.returncode == 1
    assert "not valid JSON" in r.stderr and "line 1" in r.stderr


def test_spec_not_an_object(proxx, write_job):
    r = proxx("validate", write_job("[1, 2]"))
    assert r.returncode == 1 and "JSON object" in r.stderr


def test_missing_job_file_is_system_error(proxx, tmp_path):
    r = proxx("validate", tmp_path / "absent.json")
    assert r.returncode == 4 and "not found" in r.stderr


def test_schema_and_classes_agree(proxx):
    r = proxx("schema")
    schema = json.loads(r.stdout)
    import attrs

    from proxx_core.pipeline.document import JobSpec

    assert set(schema["properties"]) == {f.name for f in attrs.fields(JobSpec)}
    # the single-rendition form's keys are required unless the spec lists renditions (JobSpec 1.2)
    required = {*schema["required"], *schema["else"]["required"]}
    assert schema["if"] == {"required": ["renditions"]}
    assert required == {f.name for f in attrs.fields(JobSpec) if f.default is attrs.NOTHING}
    from proxx_core.contract.profiles import PROFILES

    assert schema["properties"]["proxy_profile"]["enum"] == sorted(PROFILES)  # the catalogue, nothing else


UNSAFE_TEMPLATES = [
    ("colon", "{source_name}:v2"),
    ("asterisk", "take*{index}"),
    ("question", "why?{index}"),
    ("quote", 'a"{index}'),
    ("angle", "<{index}>"),
    ("pipe", "a|{index}"),
    ("bidi override", "clip\u202egpj.{index}"),
    ("bidi isolate", "\u2066{index}"),
    ("zero width space", "a\u200b{index}"),
    ("zero width joiner", "a\u200d{index}"),
    ("byte order mark", "\ufeff{index}"),
    ("reserved device name", "CON"),
    ("reserved device name lower", "lpt1"),
]


@pytest.mark.parametrize("label,template", UNSAFE_TEMPLATES, ids=[t[0] for t in UNSAFE_TEMPLATES])
def test_names_unsafe_on_smb_ntfs_apfs_are_refused(label, template, media, outdir):
    from proxx_core.pipeline.check import check_document
    from proxx_core.support.plugins import load_engines

    checked = check_document(job_doc([media("A001.mov")], outdir, output_name_template=template), load_engines())
    assert checked.job is None, label
    messages = [p.message for p in checked.problems if p.path == "/output_name_template"]
    assert messages and ("SMB" in messages[0] or "Windows" in messages[0]), checked.problems


@pytest.mark.parametrize(
    "template", ["Straße_{index}", "café_{index}", "A001 C002 (take 2)", "日本語_{index}", "a.b.c"]
)
def test_ordinary_unicode_names_are_fine(template, media, outdir):
    from proxx_core.pipeline.check import check_document
    from proxx_core.support.plugins import load_engines

    checked = check_document(job_doc([media("A001.mov")], outdir, output_name_template=template), load_engines())
    assert checked.job is not None, checked.problems
