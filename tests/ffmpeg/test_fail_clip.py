"""JobSpec 1.1 ``unsupported_sources``: one unrepresentable clip need not cost the whole batch."""

from __future__ import annotations

import json

import jsonschema

from proxx_core.pipeline.serialization import PLAN_SCHEMA, RESULT_SCHEMA, load_schema
from proxxtest import job_doc

DNX = "offline_dnxhr_lb_1920x1080"


def _sources(media):
    """A progressive clip DNxHR LB makes, and an interlaced one it cannot (docs/source-handling.md)."""
    good = media("good.mov", size="256x144", rate="25/1", frames=5)
    interlaced = media("interlaced.mov", size="256x144", rate="25/1", frames=4, field_order="tt")
    return good, interlaced


def test_fail_clip_runs_the_rest_and_reports_partial(proxx, write_job, media, outdir):
    good, interlaced = _sources(media)
    doc = job_doc([interlaced, good], outdir, profile=DNX, jobspec_version="1.1.0", unsupported_sources="fail_clip")
    r = proxx("run", write_job(doc))
    assert r.returncode == 3, r.stderr
    result = r.json()
    jsonschema.Draft202012Validator(load_schema(RESULT_SCHEMA)).validate(result)
    refused, made = result["clips"]
    assert result["status"] == "PARTIAL"
    assert (refused["index"], refused["status"], refused["failure"]["category"]) == (1, "FAILED", "unsupported_source")
    assert "interlaced" in refused["failure"]["message"] and refused["commands"] == []
    assert refused["source"]["path"] == str(interlaced)
    assert (made["index"], made["status"]) == (2, "COMPLETED")
    assert sorted(p.name for p in outdir.iterdir()) == ["good_proxy.mxf"]


def test_fail_clip_with_nothing_makeable_exits_2(proxx, write_job, media, outdir):
    _good, interlaced = _sources(media)
    doc = job_doc([interlaced], outdir, profile=DNX, jobspec_version="1.1.0", unsupported_sources="fail_clip")
    r = proxx("run", write_job(doc))
    assert r.returncode == 2 and r.json()["status"] == "FAILED"
    assert r.json()["clips"][0]["failure"]["category"] == "unsupported_source"


def test_refuse_job_is_the_default(proxx, write_job, media, outdir):
    good, interlaced = _sources(media)
    for extra in ({}, {"unsupported_sources": "refuse_job"}):
        doc = job_doc([interlaced, good], outdir, profile=DNX, jobspec_version="1.1.0", **extra)
        r = proxx("run", write_job(doc))
        assert r.returncode == 1 and r.json()["clips"] == []
        assert [p["path"] for p in r.json()["problems"]] == ["/sources/0"]
    assert list(outdir.iterdir()) == []


def test_validate_and_plan_list_the_refused_clips_and_say_the_job_runs_without_them(proxx, write_job, media, outdir):
    good, interlaced = _sources(media)
    job = write_job(
        job_doc([interlaced, good], outdir, profile=DNX, jobspec_version="1.1.0", unsupported_sources="fail_clip")
    )
    v = proxx("validate", job)
    assert v.returncode == 0, v.stderr
    doc = json.loads(v.stdout)
    assert doc["valid"] and doc["problems"] == []
    assert [(c["index"], c["path"], c["category"]) for c in doc["refused_clips"]] == [
        (1, "/sources/0", "unsupported_source")
    ]
    assert "will run without them" in v.stderr and "interlaced" in v.stderr
    p = proxx("plan", job)
    assert p.returncode == 0
    plan = json.loads(p.stdout)
    jsonschema.Draft202012Validator(load_schema(PLAN_SCHEMA)).validate(plan)
    assert [c["index"] for c in plan["clips"]] == [2] and plan["refused_clips"][0]["index"] == 1


def test_job_level_problems_still_refuse_the_job(proxx, write_job, media, outdir, tmp_path):
    good, interlaced = _sources(media)
    doc = job_doc(
        [interlaced, good], tmp_path / "missing", profile=DNX, jobspec_version="1.1.0", unsupported_sources="fail_clip"
    )
    r = proxx("run", write_job(doc))
    paths = [p["path"] for p in r.json()["problems"]]
    assert r.returncode == 1 and "/output_dir" in paths
    assert "/unsupported_sources" not in paths and "/jobspec_version" not in paths  # the key itself is fine
