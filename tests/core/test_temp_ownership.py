"""A clip's temp file belongs to exactly one run: a live run's temp is never touched, a crashed
run's leftover may be replaced with ``overwrite``, and the file published is the file hashed."""

from __future__ import annotations

import fcntl
import hashlib
import os

import pytest

from proxx_core.pipeline import runner
from proxx_core.pipeline.check import check_document
from proxx_core.support.plugins import load_engines
from proxxtest import job_doc


@pytest.fixture(scope="module")
def engines():
    return load_engines()


def _job(engines, doc):
    checked = check_document(doc, engines)
    assert checked.job is not None, checked.problems
    return checked.job


def test_temp_held_by_a_live_run_is_never_touched(engines, media, outdir):
    job = _job(engines, job_doc([media("a.mov")], outdir, overwrite=True))
    temp = job.clips[0].plan.request.temp_path
    with open(temp, "wb") as held:
        held.write(b"another run's half-written proxy")
        held.flush()
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)  # as a live run holds it
        inode = os.stat(temp).st_ino
        result = runner.run_job(job, engines)
        clip = result.clips[0]
        assert clip.status == "FAILED" and clip.failure.category == "output_exists"
        assert "still running" in clip.failure.message and temp in clip.failure.message
        assert os.stat(temp).st_ino == inode
        assert open(temp, "rb").read() == b"another run's half-written proxy"
        assert sorted(p.name for p in outdir.iterdir()) == [os.path.basename(temp)]


def test_stale_temp_of_a_crashed_run_is_replaced_with_overwrite(engines, media, outdir):
    job = _job(engines, job_doc([media("a.mov")], outdir, overwrite=True))
    temp = job.clips[0].plan.request.temp_path
    with open(temp, "wb") as fh:
        fh.write(b"left by a run that crashed")
    result = runner.run_job(job, engines)
    clip = result.clips[0]
    assert clip.status == "COMPLETED", clip.failure
    final = clip.output.path
    assert hashlib.sha256(open(final, "rb").read()).hexdigest() == clip.output.sha256
    assert sorted(os.listdir(outdir)) == [os.path.basename(final)]  # no temp or claim file left


def test_stale_temp_is_kept_without_overwrite(engines, media, outdir):
    job = _job(engines, job_doc([media("a.mov")], outdir))
    temp = job.clips[0].plan.request.temp_path
    with open(temp, "wb") as fh:
        fh.write(b"left by a run that crashed")
    clip = runner.run_job(job, engines).clips[0]
    assert clip.failure.category == "output_exists" and "overwrite" in clip.failure.message
    assert open(temp, "rb").read() == b"left by a run that crashed"


def test_temp_replaced_during_the_encode_is_not_published(engines, media, outdir, monkeypatch):
    """Another run swaps the file under the temp name after this run's encode: nothing is published
    and the other run's file is left alone."""
    job = _job(engines, job_doc([media("a.mov")], outdir, overwrite=True))
    engine = engines.get(job.clips[0].plan.engine)
    real_probe = engine.probe_output
    temp = job.clips[0].plan.request.temp_path

    def probe_then_swap(plan):
        info = real_probe(plan)
        other = temp + ".other"
        with open(other, "wb") as fh:
            fh.write(b"someone else's file")
            fh.flush()
        os.replace(other, temp)
        return info

    monkeypatch.setattr(engine, "probe_output", probe_then_swap)
    clip = runner.run_job(job, engines).clips[0]
    assert clip.status == "FAILED" and clip.failure.category == "output_exists"
    assert not os.path.exists(job.clips[0].plan.request.output_path)
    assert open(temp, "rb").read() == b"someone else's file"
