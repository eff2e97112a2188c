"""Environment faults met while running (disk full) are io_error clips and exit code 4."""

from __future__ import annotations

import errno

from proxxtest import job_doc
from proxx_core import runner
from proxx_core.api import check_document
from proxx_core.plugins import load_engines


def test_disk_full_at_publish_is_io_error_exit_4(monkeypatch, media, outdir):
    engines = load_engines()
    checked = check_document(job_doc([media("a.mov"), media("b.mov")], outdir), engines)
    assert checked.job is not None, checked.problems

    def full(temp, final, *, overwrite):
        raise OSError(errno.ENOSPC, "No space left on device", final)

    monkeypatch.setattr(runner, "publish", full)
    result = runner.run_job(checked.job, engines, max_workers=2)
    assert result.status == "FAILED" and result.exit_code == 4
    assert {c.failure.category for c in result.clips} == {"io_error"}
    assert "No space left on device" in result.clips[0].failure.message
    assert list(outdir.iterdir()) == []  # neither final names nor temporaries left behind
