"""Step 4, probe (``proxx_core.pipeline.probe``): every engine probes every source; a source no engine can
read is refused naming the file."""

from __future__ import annotations

import os

from test_document import _expect


def test_corrupt_source_is_refused(proxx, write_job, valid, tmp_path):
    doc, _ = valid
    bad = tmp_path / "corrupt.mov"
    bad.write_bytes(b"\x00\x00\x00\x14ftypqt  " + os.urandom(2000))
    doc["sources"] = [str(bad)]
    _expect(proxx, write_job, doc, "/sources/0", "corrupt.mov")
