"""Step 2, preflight (``proxx_core.pipeline.preflight``): sources and the output folder checked on disk
before any engine is asked anything."""

from __future__ import annotations

import os

from proxx_core.pipeline.check import check_document
from proxx_core.support.plugins import load_engines
from proxxtest import job_doc


def test_unreadable_source_and_unwritable_output_dir(monkeypatch, media, outdir):
    """Permission problems (simulated: the test suite may run as root, who can read anything)."""
    from proxx_core.pipeline import preflight
    from proxx_core.pipeline.check import static_problems

    src = media("locked.mov")
    real_open, real_access = os.open, os.access

    def fake_open(path, *a, **kw):  # sources are opened by proxx_core.io.safeopen, with os.open
        if str(path) == str(src):
            raise PermissionError(13, "Permission denied", str(path))
        return real_open(path, *a, **kw)

    monkeypatch.setattr(os, "open", fake_open)
    monkeypatch.setattr(preflight.os, "access", lambda p, m: False if str(p) == str(outdir) else real_access(p, m))
    _, problems = static_problems(job_doc([src], outdir))
    msgs = {p.path: p.message for p in problems}
    assert "not readable" in msgs["/sources/0"] and "read permission" in msgs["/sources/0"]
    assert "not writable" in msgs["/output_dir"]


def test_empty_source_says_empty_file(outdir, tmp_path):
    empty = tmp_path / "A002.mov"
    empty.write_bytes(b"")
    checked = check_document(job_doc([empty], outdir), load_engines())
    messages = [p.message for p in checked.problems if p.path == "/sources/0"]
    assert messages and "empty file" in messages[0], checked.problems
    assert len(messages) == 1  # not also "unsupported" from every engine's probe
