"""The real-media matrix: every camera-like source kind x every profile is either COMPLETED with
every relink check passing, or refused at validate with a reason that names the cause. No cell may
fail after the encode."""

from __future__ import annotations

from pathlib import Path

import pytest
from cameras import EXPECTED_REFUSALS, FAST_KINDS, KINDS, PROFILES, table
from mediainfo_inspect import MEDIAINFO, displayed_field_order

from proxx_core.pipeline.check import check_document
from proxx_core.pipeline.runner import run_job
from proxx_core.support.plugins import load_engines
from proxx_engine_ffmpeg.testmedia import make_source
from proxxtest import job_doc

DOCS = Path(__file__).resolve().parents[2] / "docs" / "source-handling.md"


class _Sources(dict):
    """kind -> source path, each made once per module on first use."""

    def __init__(self, root):
        super().__init__()
        self.root = root

    def __missing__(self, kind):
        name, kw, _ = KINDS[kind]
        self[kind] = make_source(self.root / name, **{"size": "256x144", "frames": 3, **kw})
        return self[kind]


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    return _Sources(tmp_path_factory.mktemp("cameras"))


def _matrix_row(kinds, profile, sources, tmp_path):
    engines = load_engines()
    srcs = [sources[k] for k in kinds]
    out = tmp_path / "out"
    out.mkdir()
    checked = check_document(job_doc(srcs, out, profile=profile), engines)
    refused = {}
    for p in checked.problems:
        i = int(p.path.split("/")[2])
        refused[kinds[i]] = p.message
    expected = {k: w for (k, prof), w in EXPECTED_REFUSALS.items() if prof == profile and k in kinds}
    assert set(refused) == set(expected), {k: refused.get(k) for k in set(refused) ^ set(expected)}
    for kind, words in expected.items():
        assert words in refused[kind] and "choose" in refused[kind], refused[kind]
    accepted = [k for k in kinds if k not in refused]
    checked = check_document(job_doc([sources[k] for k in accepted], out, profile=profile), engines)
    assert checked.job is not None, checked.problems
    result = run_job(checked.job, engines, max_workers=2)
    for kind, clip in zip(accepted, result.clips, strict=False):
        failed = clip.output.verification.failed_checks() if clip.output and clip.output.verification else None
        assert clip.status == "COMPLETED", (kind, clip.failure, failed)
        checks = {c.name: c for c in clip.output.verification.checks}
        if kind in ("dv-pal", "dv-ntsc", "xdcam-1080i25", "hdv-1440x1080i") and MEDIAINFO:
            # the field dominance Proxx verified is the one an inspector independent of libav reads
            assert checks["field_dominance"].actual == displayed_field_order(sources[kind])
            assert displayed_field_order(clip.output.path) == checks["field_dominance"].expected
        if kind == "reel-name-mov" and profile.startswith("offline_prores"):
            assert checks["reel_name"].ok
        assert "color_tags" in checks and "start_timecode" in checks


@pytest.mark.slow
@pytest.mark.parametrize("profile", PROFILES)
def test_every_source_kind(profile, sources, tmp_path):
    _matrix_row(list(KINDS), profile, sources, tmp_path)


@pytest.mark.parametrize("profile", PROFILES)
def test_representative_source_kinds(profile, sources, tmp_path):
    _matrix_row(list(FAST_KINDS), profile, sources, tmp_path)


def test_docs_print_the_matrix():
    assert table() in DOCS.read_text("utf-8"), "regenerate with: python tests/media/cameras.py"
