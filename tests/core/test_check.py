"""The joined validation (``proxx_core.pipeline.check``) reports every problem of a spec in one pass, and says
plainly what is wrong."""

from __future__ import annotations

import os

from proxx_core.pipeline.check import check_document
from proxx_core.support.plugins import load_engines
from proxxtest import job_doc


def test_missing_source_collision_and_unroutable_clip_reported_together(media, outdir, tmp_path):
    a = media("A001.mov")
    other = tmp_path / "cardB"
    other.mkdir()
    b = other / "A001.mov"
    b.write_bytes(a.read_bytes())
    corrupt = tmp_path / "corrupt.mov"
    corrupt.write_bytes(b"\x00\x00\x00\x14ftypqt  " + os.urandom(2000))
    doc = job_doc([str(tmp_path / "missing.mov"), a, b, corrupt], outdir)
    checked = check_document(doc, load_engines())
    assert checked.job is None and checked.exit_code == 1
    by_path = {}
    for p in checked.problems:
        by_path.setdefault(p.path, []).append(p.message)
    assert any("no such file" in m for m in by_path.get("/sources/0", [])), by_path
    assert any("both render to" in m for m in by_path.get("/output_name_template", [])), by_path
    assert any("corrupt.mov" in m for m in by_path.get("/sources/3", [])), by_path


def test_schema_problem_does_not_hide_name_and_routing_problems(media, outdir, tmp_path):
    a = media("A001.mov")
    corrupt = tmp_path / "corrupt.mov"
    corrupt.write_bytes(b"\x00\x00\x00\x14ftypqt  " + os.urandom(2000))
    doc = job_doc([a, corrupt], a.parent, output_name_template="{source_name}", colour="red")
    checked = check_document(doc, load_engines())
    paths = {p.path for p in checked.problems}
    assert {"/colour", "/output_name_template", "/sources/1"} <= paths, checked.problems


def test_names_check_survives_a_source_path_with_a_nul_byte(outdir):
    """Names are now checked alongside other problems, so they must cope with any source string."""
    from proxx_core.pipeline.check import static_problems

    spec, problems = static_problems(job_doc(["/tmp/a\x00b.mov"], outdir))
    assert spec is None and any("NUL" in p.message for p in problems)
