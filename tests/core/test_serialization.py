"""Every result `proxx run` prints (completed, partial, refused) validates against the shipped schema."""

from __future__ import annotations

import json

import jsonschema

from proxxtest import job_doc


def _validator(proxx):
    return jsonschema.Draft202012Validator(json.loads(proxx("schema", "--result").stdout))


def test_completed_and_refused_results_match_the_schema(proxx, write_job, media, outdir):
    validator = _validator(proxx)
    done = proxx("run", write_job(job_doc([media("a.mov", audio=(1, 2))], outdir, user_metadata={"k": [1]})))
    assert done.returncode == 0
    validator.validate(done.json())
    refused = proxx("run", write_job(job_doc([media("b.mov")], outdir, colour="red")))
    assert refused.returncode == 1
    doc = refused.json()
    validator.validate(doc)
    assert doc["status"] == "FAILED" and doc["clips"] == [] and doc["problems"][0]["path"] == "/colour"


def test_failed_clip_result_matches_the_schema(proxx, write_job, media, outdir):
    src = media("exists.mov")
    (outdir / "exists_proxy.mov").write_bytes(b"keep")
    r = proxx("run", write_job(job_doc([src], outdir)))
    assert r.returncode == 2
    _validator(proxx).validate(r.json())
    assert r.json()["clips"][0]["failure"]["category"] == "output_exists"
