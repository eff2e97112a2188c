"""A fleet runs one clip per task and does not make JobSpec 1.2 renditions yet: `proxx submit` refuses
such a job, naming /renditions and what to do, rather than making the first rendition only."""

from __future__ import annotations

import pytest

pytest.importorskip("celery", reason="proxx-fleet's dependencies (celery[redis]) are not installed")


def test_submit_refuses_renditions(media, outdir):
    from proxx_core.support.plugins import load_engines
    from proxx_fleet.submit import plan_submission

    doc = {
        "jobspec_version": "1.2.0",
        "sources": [str(media("A.mov"))],
        "output_dir": str(outdir),
        "renditions": [
            {"name": "a", "proxy_profile": "offline_prores_proxy_1920x1080", "output_name_template": "{source_name}"},
            {"name": "b", "proxy_profile": "offline_h264_1280x720", "output_name_template": "{source_name}"},
        ],
    }
    sub = plan_submission(doc, load_engines())
    assert sub.job_id is None
    assert [p.path for p in sub.problems] == ["/renditions"]
    assert "proxx run" in sub.problems[0].message
