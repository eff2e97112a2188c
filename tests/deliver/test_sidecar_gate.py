"""Sidecars pass the write gate: never a source (refused at validate, exit 1, before any encode),
and a rerun treats an earlier run's sidecars with the job's existing-output policy, like proxies."""

from __future__ import annotations

import hashlib
import os
import shutil

import pytest

from proxxtest import job_doc


def _sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _camera_file_named(media, path):
    """A real camera file at ``path`` (any name: FFmpeg reads it by its content)."""
    shutil.move(str(media("cam.mov", size="64x36", frames=3)), path)
    return path


@pytest.mark.parametrize("kind", ["otio", "ale", "fcpxml"])
def test_a_sidecar_named_like_a_source_is_refused_at_validate(proxx, write_job, media, outdir, kind):
    """Issue 20: source <output_dir>/j1.otio, job j1, deliverables ["otio"], overwrite true: the
    camera file became OTIO JSON (exit 0). Now refused at validate, and run never starts."""
    src = _camera_file_named(media, outdir / f"j1.{kind}")
    before = _sha(src)
    job = write_job(job_doc([src], outdir, jobspec_version="1.1.0", job_id="j1", deliverables=[kind], overwrite=True))
    v = proxx("validate", job)
    assert v.returncode == 1, v.stdout + v.stderr
    (problem,) = v.json()["problems"]
    assert problem["path"] == "/deliverables/0"
    assert f"j1.{kind} is a source of this job" in problem["message"]
    r = proxx("run", job)
    assert r.returncode == 1, r.stderr
    assert _sha(src) == before
    assert sorted(os.listdir(outdir)) == [f"j1.{kind}"], "something was written"


def test_a_source_under_the_mhl_history_is_refused_at_validate(proxx, write_job, media, outdir, mhl_env):
    """ascmhl writes ascmhl/*.mhl and ascmhl/ascmhl_chain.xml itself: no source may be under it."""
    (outdir / "ascmhl").mkdir()
    src = _camera_file_named(media, outdir / "ascmhl" / "ascmhl_chain.xml")
    before = _sha(src)
    job = write_job(
        job_doc([src], outdir, jobspec_version="1.1.0", job_id="j1", deliverables=["mhl"], existing_outputs="overwrite")
    )
    r = proxx("run", job, env_extra=mhl_env)
    assert r.returncode == 1, r.stderr
    assert any(p["path"] == "/deliverables/0" and "ascmhl" in p["message"] for p in r.json()["problems"])
    assert _sha(src) == before


def _run(proxx, job, env=None):
    r = proxx("run", job, env_extra=env)
    return r, r.json()


def test_a_rerun_with_existing_outputs_overwrite_replaces_its_sidecars(proxx, write_job, media, outdir):
    """Issue 20: the rerun exited 4 (old sidecars not replaced) and suggested "overwrite": true,
    which is refused together with existing_outputs."""
    src = media("A001.mov", size="64x36", frames=3)
    job = write_job(
        job_doc(
            [src],
            outdir,
            jobspec_version="1.1.0",
            job_id="day1",
            deliverables=["ale", "fcpxml", "otio"],
            existing_outputs="overwrite",
        )
    )
    first, _ = _run(proxx, job)
    assert first.returncode == 0, first.stderr
    (outdir / "day1.otio").write_text("stale")
    second, res = _run(proxx, job)
    assert second.returncode == 0, second.stderr
    assert all(d["error"] is None for d in res["deliverables"]), res["deliverables"]
    for d in res["deliverables"]:
        assert _sha(d["path"]) == d["sha256"]
    assert (outdir / "day1.otio").read_text() != "stale"


def test_skip_verified_keeps_a_sidecar_that_still_describes_the_outputs_and_rewrites_a_stale_one(
    proxx, write_job, media, outdir
):
    src = media("A001.mov", size="64x36", frames=3)
    job = write_job(
        job_doc(
            [src],
            outdir,
            jobspec_version="1.1.0",
            job_id="day1",
            deliverables=["ale", "otio"],
            existing_outputs="skip_verified",
        )
    )
    first, res1 = _run(proxx, job)
    assert first.returncode == 0, first.stderr
    kept = os.stat(outdir / "day1.ale").st_ino
    (outdir / "day1.otio").write_text("describes other proxies")
    second, res2 = _run(proxx, job)
    assert second.returncode == 0, second.stderr
    assert [c["status"] for c in res2["clips"]] == ["SKIPPED"]
    assert os.stat(outdir / "day1.ale").st_ino == kept, "an up-to-date sidecar was rewritten"
    assert {d["name"]: d["sha256"] for d in res2["deliverables"]} == {
        d["name"]: d["sha256"] for d in res1["deliverables"]
    }
    assert _sha(outdir / "day1.otio") == next(d["sha256"] for d in res1["deliverables"] if d["name"] == "otio")


def test_existing_outputs_fail_names_the_sidecar_and_the_1_1_fix(proxx, write_job, media, outdir):
    src = media("A001.mov", size="64x36", frames=3)
    (outdir / "day1.ale").write_text("the editor's own ALE")
    r, res = _run(
        proxx,
        write_job(
            job_doc(
                [src], outdir, jobspec_version="1.1.0", job_id="day1", deliverables=["ale"], existing_outputs="fail"
            )
        ),
    )
    assert r.returncode == 4
    (ale,) = res["deliverables"]
    assert "day1.ale already exists" in ale["error"] and '"existing_outputs": "overwrite"' in ale["error"]
    assert '"overwrite": true' not in ale["error"]
    assert (outdir / "day1.ale").read_text() == "the editor's own ALE"
