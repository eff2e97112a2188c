"""JobSpec 1.2 renditions in the deliverables: the report shows every rendition of every clip; the NLE
sidecars (ALE, FCPXML, OTIO) describe one proxy per clip, the first rendition's (docs/delivery.md)."""

from __future__ import annotations

import opentimelineio as otio


def test_report_names_each_rendition_and_sidecars_the_first(media, outdir, proxx, write_job):
    src = media("A001_C001.mov", size="256x144", audio=(2,))
    review = outdir / "review"
    review.mkdir()
    doc = {
        "jobspec_version": "1.2.0",
        "sources": [str(src)],
        "output_dir": str(outdir),
        "deliverables": ["ale", "fcpxml", "otio", "report"],
        "renditions": [
            {
                "name": "avid",
                "proxy_profile": "offline_dnxhr_lb_1920x1080",
                "layout": "avid_mxf",
                "output_name_template": "{source_name}",
            },
            {
                "name": "review",
                "proxy_profile": "offline_h264_1280x720",
                "output_dir": str(review),
                "output_name_template": "{source_name}",
            },
        ],
    }
    r = proxx("run", write_job(doc), "--max-workers", 1)
    assert r.returncode == 0, r.stderr
    result = r.json()
    written = {(d["name"], d["path"].rsplit(".", 1)[-1]): d["path"] for d in result["deliverables"]}
    assert {n for n, _ in written} == {"ale", "fcpxml", "otio", "report"}, result["deliverables"]
    html = open(written["report", "html"], encoding="utf-8").read()
    assert 'data-rendition="avid"' in html and 'data-rendition="review"' in html
    avid = next(c for c in result["clips"] if c["rendition"] == "avid")
    timeline = otio.adapters.read_from_file(written["otio", "otio"])
    clips = list(timeline.find_clips()) if hasattr(timeline, "find_clips") else list(timeline.each_clip())
    assert len(clips) == 1, "one proxy per clip in an NLE sidecar"
    assert avid["output"]["path"] in open(written["otio", "otio"], encoding="utf-8").read(), (
        "the sidecar describes the first rendition's proxy"
    )
    ale = open(written["ale", "ale"], encoding="utf-8").read()
    assert len(ale.split("\nData\n")[1].strip().splitlines()) == 1, ale
