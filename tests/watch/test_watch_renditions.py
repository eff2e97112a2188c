"""A watch folder runs a JobSpec 1.2 job with renditions like `proxx run`: one decode per source, one
result entry per source and rendition, filed completed."""

from __future__ import annotations

from watchhelp import drop, result_of, run_inprocess


def test_a_watch_folder_makes_every_rendition(tmp_path, media, ffmpeg_engines):
    out, w = tmp_path / "out", tmp_path / "w"
    (out / "review").mkdir(parents=True)
    w.mkdir()
    doc = {
        "jobspec_version": "1.2.0",
        "sources": [str(media / "tiny.mov")],
        "output_dir": str(out),
        "renditions": [
            {
                "name": "edit",
                "proxy_profile": "offline_prores_proxy_1920x1080",
                "output_name_template": "{source_name}",
            },
            {
                "name": "review",
                "proxy_profile": "offline_h264_1280x720",
                "output_dir": str(out / "review"),
                "output_name_template": "{source_name}",
            },
        ],
    }
    drop(w, "dailies.json", doc)
    rc, log = run_inprocess(w, engines=ffmpeg_engines)
    assert rc == 0, log
    result = result_of(w / "completed" / "dailies.result.json")  # checked against the result schema
    assert [(c["rendition"], c["status"]) for c in result["clips"]] == [("edit", "COMPLETED"), ("review", "COMPLETED")]
    assert result["clips"][0]["commands"] == result["clips"][1]["commands"]
    assert (out / "tiny.mov").is_file() and (out / "review" / "tiny.mp4").is_file()
