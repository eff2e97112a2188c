"""Environment faults met while running (disk full) are io_error clips and exit code 4."""

from __future__ import annotations

import errno
import threading

from proxx_core.contract.hookspecs import hookimpl
from proxx_core.io import writegate
from proxx_core.pipeline import runner
from proxx_core.pipeline.check import check_document
from proxx_core.support.plugins import load_engines
from proxxtest import job_doc


def test_disk_full_at_publish_is_io_error_exit_4(monkeypatch, media, outdir):
    engines = load_engines()
    checked = check_document(job_doc([media("a.mov"), media("b.mov")], outdir), engines)
    assert checked.job is not None, checked.problems

    def full(temp, final, *, overwrite):
        raise OSError(errno.ENOSPC, "No space left on device", final)

    monkeypatch.setattr(writegate, "publish", full)
    result = runner.run_job(checked.job, engines, max_workers=2)
    assert result.status == "FAILED" and result.exit_code == 4
    assert {c.failure.category for c in result.clips} == {"io_error"}
    assert "No space left on device" in result.clips[0].failure.message
    assert list(outdir.iterdir()) == []  # neither final names nor temporaries left behind


def test_read_only_at_publish_still_reports_every_clip(monkeypatch, media, outdir):
    """Publishing and cleaning up both fail (the volume went read-only): no exception escapes, every
    clip is io_error and says which temporary file was left behind."""
    import os

    engines = load_engines()
    checked = check_document(job_doc([media("a.mov"), media("b.mov")], outdir), engines)
    assert checked.job is not None, checked.problems

    def read_only(*args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", args[-1] if args else None)

    monkeypatch.setattr(writegate, "publish", read_only)
    monkeypatch.setattr(os, "unlink", read_only)
    result = runner.run_job(checked.job, engines, max_workers=2)
    monkeypatch.undo()
    assert result.exit_code == 4 and [c.failure.category for c in result.clips] == ["io_error", "io_error"]
    for clip in result.clips:
        assert "Read-only file system" in clip.failure.message
        assert "could not be removed" in clip.failure.message


def test_quota_exceeded_while_hashing_is_io_error(monkeypatch, media, outdir):
    from proxx_core.io import tempclaim

    engines = load_engines()
    checked = check_document(job_doc([media("a.mov")], outdir), engines)

    def quota(self):
        raise OSError(errno.EDQUOT, "Disk quota exceeded")

    monkeypatch.setattr(tempclaim.TempClaim, "fsync", quota)
    result = runner.run_job(checked.job, engines)
    assert result.exit_code == 4 and result.clips[0].failure.category == "io_error"
    assert list(outdir.iterdir()) == []


def test_an_unexpected_error_in_one_clip_never_loses_the_others(monkeypatch, media, outdir):
    engines = load_engines()
    checked = check_document(job_doc([media("a.mov"), media("b.mov")], outdir), engines)
    real = runner.run_clip

    def flaky(clip, *a, **kw):
        if clip.index == 1:
            raise OSError(errno.EIO, "Input/output error")
        return real(clip, *a, **kw)

    monkeypatch.setattr(runner, "run_clip", flaky)
    result = runner.run_job(checked.job, engines, max_workers=2)
    assert [c.status for c in result.clips] == ["FAILED", "COMPLETED"]
    assert result.clips[0].failure.category == "io_error" and result.exit_code == 4


def _replace_file(path, data: bytes) -> None:
    import os

    tmp = str(path) + ".new"
    with open(tmp, "wb") as fh:
        fh.write(data)
    os.replace(tmp, path)


def test_source_replaced_after_validation_fails_the_clip(media, outdir):
    engines = load_engines()
    src = media("a.mov")
    checked = check_document(job_doc([src], outdir), engines)
    probed_size = src.stat().st_size
    _replace_file(src, b"a different file now" * 100)
    clip = runner.run_job(checked.job, engines).clips[0]
    assert clip.status == "FAILED" and clip.failure.category == "io_error"
    assert "changed after it was probed" in clip.failure.message
    assert clip.source["size"] == probed_size  # the record describes the probed file
    assert list(outdir.iterdir()) == []


def test_source_replaced_during_the_encode_is_not_published(monkeypatch, media, outdir):
    engines = load_engines()
    src = media("a.mov")
    checked = check_document(job_doc([src], outdir), engines)
    engine = engines.get(checked.job.clips[0].plan.engine)
    real_execute = engine.execute

    def execute_then_replace(plan, cancel):
        records = real_execute(plan, cancel)
        _replace_file(src, src.read_bytes())  # same bytes, another file: the copy tool rewrote it
        return records

    monkeypatch.setattr(engine, "execute", execute_then_replace)
    clip = runner.run_job(checked.job, engines).clips[0]
    assert clip.failure.category == "io_error" and "changed after it was probed" in clip.failure.message
    assert list(outdir.iterdir()) == []


def test_kept_temp_path_is_only_given_for_a_file_that_exists(monkeypatch, media, outdir):
    """An engine that leaves no output fails verification; the result does not point at a file
    that is not there."""
    import os

    engines = load_engines()
    checked = check_document(job_doc([media("a.mov")], outdir), engines)
    engine = engines.get(checked.job.clips[0].plan.engine)
    real_execute = engine.execute

    def execute_then_lose(plan, cancel):
        records = real_execute(plan, cancel)
        os.unlink(plan.request.temp_path)
        return records

    monkeypatch.setattr(engine, "execute", execute_then_lose)
    clip = runner.run_job(checked.job, engines).clips[0]
    assert clip.failure.category == "verification_failed"
    assert clip.output.kept_temp_path is None and "no output" in clip.failure.message


class _HoldsVerification:
    """A checks plugin that holds the first clip's verification until the job starts another clip
    (or 20 s pass): what a slow verification or a slow disk does to the run."""

    __name__ = "holds_verification"

    def __init__(self):
        self.second_started = threading.Event()
        self.waited_for: list[bool] = []

    def events(self, event):
        if event.event == "start" and event.index == 2:
            self.second_started.set()

    @hookimpl
    def proxx_clip_checks(self, plan, output_info):
        if plan.request.output_path.endswith("a_proxy.mov"):
            self.waited_for.append(self.second_started.wait(20))
        return []


def test_the_next_clip_encodes_while_one_is_verified_and_published(media, outdir):
    """One worker: the slot is given back when a clip's engine run ends, so the next clip's encode is
    not held up by the previous clip's verification, hashing and publishing (issue 26's fixed cost)."""
    holder = _HoldsVerification()
    engines = load_engines([holder])
    checked = check_document(job_doc([media("a.mov"), media("b.mov")], outdir), engines)
    assert checked.job is not None, checked.problems
    seen = []

    def events(event):
        seen.append((event.event, event.index))
        holder.events(event)

    result = runner.run_job(checked.job, engines, max_workers=1, events=events)
    assert result.status == "COMPLETED", [c.failure for c in result.clips]
    assert holder.waited_for == [True]
    # never more than one encode at a time: the second clip started after the first one's engine run
    first_done, second_start = seen.index(("done", 1)), seen.index(("start", 2))
    assert seen.index(("start", 1)) < second_start < first_done
    a, b = result.clips
    a_end = a.commands[-1]["timing"]
    assert b.commands[0]["timing"]["started_at"] >= a_end["started_at"]
