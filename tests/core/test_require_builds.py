"""JobSpec 1.1 ``require_builds``: a node whose engine build differs refuses the job; the 1.1 gate."""

from __future__ import annotations

import os
import stat

import imageio_ffmpeg
import pytest

from proxx_core.io.fingerprint import binary_sha256
from proxx_core.pipeline.check import static_problems
from proxx_core.pipeline.document import KEYS_SINCE_MINOR
from proxxtest import job_doc

FFMPEG_ENV = {"PROXX_LOAD_PLUGINS": "ffmpeg"}


def real_ffmpeg_sha() -> str:
    return binary_sha256(imageio_ffmpeg.get_ffmpeg_exe())


def other_build(tmp_path) -> str:
    """Another 'build' that really runs: a wrapper script with its own SHA-256."""
    path = tmp_path / "ffmpeg-other"
    path.write_text(f"#!/bin/sh\nexec '{imageio_ffmpeg.get_ffmpeg_exe()}' \"$@\"\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return str(path)


def test_a_11_key_in_a_10_spec_names_the_version_to_set(media, outdir):
    doc = job_doc([media("a.mov")], outdir, require_builds={"ffmpeg": "0" * 64})
    _, problems = static_problems(doc)
    assert [p.path for p in problems] == ["/jobspec_version"]
    assert '"1.1.0"' in problems[0].message and "/require_builds" in problems[0].message
    doc["jobspec_version"] = "1.1.0"
    assert static_problems(doc)[1] == []


def test_every_post_10_key_is_gated():
    assert all(minor >= 1 for minor in KEYS_SINCE_MINOR.values())
    assert "require_builds" in KEYS_SINCE_MINOR


@pytest.mark.parametrize(
    "value,fragment",
    [({"ffmpeg": "ABC"}, "64 lowercase hex"), ({"ffmpeg": 5}, "must be a string"), ("ffmpeg", "must be an object")],
)
def test_malformed_require_builds_is_refused(value, fragment, media, outdir):
    doc = job_doc([media("a.mov")], outdir, jobspec_version="1.1.0", require_builds=value)
    _, problems = static_problems(doc)
    assert problems and problems[0].path.startswith("/require_builds") and fragment in problems[0].message, problems


def test_matching_build_runs_and_plan_records_it(media, outdir, write_job, proxx):
    sha = real_ffmpeg_sha()
    job = write_job(job_doc([media("a.mov")], outdir, jobspec_version="1.1.0", require_builds={"ffmpeg": sha}))
    plan = proxx("plan", job, env_extra=FFMPEG_ENV)
    assert plan.returncode == 0, plan.stderr
    assert [(e["name"], e["binary_sha256"]) for e in plan.json()["engines"]] == [("ffmpeg", sha)]
    run = proxx("run", job, env_extra=FFMPEG_ENV)
    assert run.returncode == 0, run.stderr
    assert run.json()["environment"]["engines"][0]["binary_sha256"] == sha


def test_a_node_with_another_build_refuses(media, outdir, write_job, proxx, tmp_path):
    job = write_job(
        job_doc([media("a.mov")], outdir, jobspec_version="1.1.0", require_builds={"ffmpeg": real_ffmpeg_sha()})
    )
    env = {**FFMPEG_ENV, "PROXX_FFMPEG": other_build(tmp_path)}
    res = proxx("run", job, env_extra=env)
    assert res.returncode == 1, res.stderr
    problem = res.json()["problems"][0]
    assert problem["path"] == "/require_builds/ffmpeg" and problem["category"] == "engine_unavailable"
    assert "PROXX_FFMPEG" in problem["message"]
    assert os.listdir(outdir) == []
    # the same node without the requirement runs the job with its own build
    free = write_job(job_doc([media("b.mov")], outdir))
    assert proxx("run", free, env_extra=env).returncode == 0


def test_a_required_engine_not_installed_is_named(media, outdir, write_job, proxx):
    job = write_job(job_doc([media("a.mov")], outdir, jobspec_version="1.1.0", require_builds={"ffmpg": "0" * 64}))
    res = proxx("validate", job, env_extra=FFMPEG_ENV)
    assert res.returncode == 1
    problem = res.json()["problems"][0]
    assert problem["path"] == "/require_builds/ffmpg" and "not installed" in problem["message"]
