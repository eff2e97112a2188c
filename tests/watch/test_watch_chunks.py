"""The watch folder gives a long intra clip's chunks every free slot, as `proxx run` does
(proxx_core.features.chunking): a job of one clip no longer holds one slot while the others idle."""

from __future__ import annotations

import os

from watchhelp import drop, result_of, run_inprocess, spec


def test_one_long_clip_gets_every_free_slot_and_the_single_pass_bytes(tmp_path, ffmpeg_engines, monkeypatch):
    from proxx_engine_ffmpeg.testmedia import make_source

    src = make_source(tmp_path / "A001_C001.mov", size="320x180", rate="25/1", frames=32, audio=(2,))
    hashes = {}
    for label, seconds in (("whole", "0"), ("chunked", "0.4")):
        monkeypatch.setenv("PROXX_CHUNK_SECONDS", seconds)
        out, w = tmp_path / f"out-{label}", tmp_path / f"w-{label}"
        out.mkdir()
        w.mkdir()
        drop(w, "job.json", spec([src], out))
        rc, log = run_inprocess(w, engines=ffmpeg_engines, max_workers=2)
        assert rc == 0, log
        res = result_of(w / "completed" / "job.result.json")
        clip = res["clips"][0]
        assert clip["status"] == "COMPLETED", clip["failure"]
        hashes[label] = clip["output"]["sha256"]
        if label == "chunked":
            assert clip["chunks"]["count"] == 3
            assert res["timing"]["workers"]["max_workers"] == 2  # both slots, for one clip
        else:
            assert clip["chunks"] is None and res["timing"]["workers"]["max_workers"] == 1
        assert sorted(os.listdir(out)) == ["A001_C001_proxy.mov"]
    assert hashes["whole"] == hashes["chunked"]
