"""Watch folder at constant cost per job: the first claim comes quickly, a file still being
written in place is not taken, and the work per job (file checks, validations, fsyncs) does not
grow with the queue. Counts, not timings, except the claim latency the issue sets (0.5 s)."""

from __future__ import annotations

import io
import json
import os
import threading
import time

import pytest

from proxx_core.pipeline import check as api
from proxx_core.watch import DEFAULT_STABLE_SECONDS, Watcher
from watchhelp import drop, spec, wait_for


def _running(watcher: Watcher) -> threading.Thread:
    thread = threading.Thread(target=watcher.run, daemon=True)
    thread.start()
    wait_for(lambda: "event=watching" in watcher.log.stream.getvalue(), 20, "the watcher to start")
    return thread


def _stop(watcher: Watcher, thread: threading.Thread) -> None:
    watcher.request_stop("test")
    thread.join(timeout=30)
    assert not thread.is_alive()


@pytest.mark.parametrize("poll", [None, 0.05], ids=["events", "polling"])
def test_a_file_renamed_into_pending_is_claimed_within_half_a_second(tmp_path, ffmpeg_engines, poll):
    w = tmp_path / "w"
    w.mkdir()
    watcher = Watcher(w, ffmpeg_engines, poll_seconds=poll, stream=io.StringIO())  # default stability
    thread = _running(watcher)
    try:
        time.sleep(0.2)
        t0 = time.monotonic()
        drop(w, "quick.json", "{}")  # the documented protocol: hidden name, then rename
        wait_for(lambda: not (w / "pending" / "quick.json").exists(), 5, "the claim")
        elapsed = time.monotonic() - t0
    finally:
        _stop(watcher, thread)
    assert elapsed < 0.5, f"claimed {elapsed:.3f} s after the rename (default stability {DEFAULT_STABLE_SECONDS} s)"
    assert (w / "failed" / "quick.result.json").exists()


def test_a_pending_file_that_keeps_growing_is_not_claimed_until_stable(tmp_path, media, ffmpeg_engines):
    w = tmp_path / "w"
    (w / "pending").mkdir(parents=True)
    watcher = Watcher(w, ffmpeg_engines, poll_seconds=0.05, stable_seconds=0.3, stream=io.StringIO())
    thread = _running(watcher)
    path = w / "pending" / "growing.json"
    try:
        import json

        path.write_text(json.dumps(spec([media / "tiny.mov"], tmp_path / "nowhere")))  # complete JSON at once
        for _ in range(10):  # written in place and still changing (trailing whitespace keeps it valid JSON)
            time.sleep(0.1)
            assert path.exists(), "a file that is still changing was claimed"
            with open(path, "a") as fh:
                fh.write(" ")
        t0 = time.monotonic()
        wait_for(lambda: not path.exists(), 5, "the claim once it stopped changing")
        assert time.monotonic() - t0 >= 0.25  # waited for its stability, not a moment more than needed
    finally:
        _stop(watcher, thread)
    assert (w / "failed" / "growing.result.json").exists()


def _drain_counts(tmp_path, engines, n: int, monkeypatch) -> dict[str, float]:
    """Drain n queued invalid specs with ``once``; per-job lstat calls, validations and fsyncs."""
    w = tmp_path / f"w{n}"
    for i in range(n):
        drop(w, f"job{i:05d}.json", '{"jobspec_version": "1.0.0"}')
    counts = {"lstat": 0, "validate": 0, "fsync": 0}
    real_lstat, real_check, real_fsync = os.lstat, api.check_document, os.fsync

    def lstat(*args, **kwargs):
        counts["lstat"] += 1
        return real_lstat(*args, **kwargs)

    def check(*args, **kwargs):
        counts["validate"] += 1
        return real_check(*args, **kwargs)

    def fsync(*args, **kwargs):
        counts["fsync"] += 1
        return real_fsync(*args, **kwargs)

    with monkeypatch.context() as m:
        m.setattr(os, "lstat", lstat)
        m.setattr(api, "check_document", check)
        m.setattr(os, "fsync", fsync)
        watcher = Watcher(
            w, engines, once=True, poll_seconds=60, stable_seconds=0.0, invalid_grace_seconds=0.0, stream=io.StringIO()
        )
        assert watcher.run() == 0
    assert len(os.listdir(w / "failed")) == 2 * n
    return {k: v / n for k, v in counts.items()}


def test_work_per_job_does_not_grow_with_the_queue(tmp_path, ffmpeg_engines, monkeypatch):
    small = _drain_counts(tmp_path, ffmpeg_engines, 50, monkeypatch)
    large = _drain_counts(tmp_path, ffmpeg_engines, 500, monkeypatch)
    assert small["validate"] == large["validate"] == 1, (small, large)  # each spec validated once
    assert large["lstat"] <= small["lstat"] * 1.2 + 1, (small, large)  # no rescan of pending/ per job
    assert large["lstat"] <= 8, large
    assert large["fsync"] <= 2.2, large  # result bytes + its folder (the issue measured 6 per filed job)


def test_the_watch_folder_applies_the_node_path_map(tmp_path, monkeypatch):
    """PROXX_CONFIG's [paths] map (the fleet's node config) turns the submitter's paths into this
    node's before validation, in the watch folder too."""
    import subprocess
    import sys

    from proxx_engine_ffmpeg.testmedia import make_source

    real = tmp_path / "raid"
    (real / "media").mkdir(parents=True)
    (real / "out").mkdir()
    make_source(real / "media" / "A001.mov", size="64x36", rate="25/1", frames=3, timecode="01:00:00:00", audio=(1,))
    config = tmp_path / "node.toml"
    config.write_text(f'[paths]\n"/Volumes/RAID" = "{real}"\n', encoding="utf-8")
    root = tmp_path / "watch"
    (root / "pending").mkdir(parents=True)
    doc = {
        "jobspec_version": "1.0.0",
        "sources": ["/Volumes/RAID/media/A001.mov"],
        "output_dir": "/Volumes/RAID/out",
        "output_name_template": "{source_name}",
        "proxy_profile": "offline_prores_proxy_1920x1080",
        "codec": "prores",
        "container": "mov",
        "fps_mode": "preserve_source",
    }
    (root / "pending" / "job.json").write_text(json.dumps(doc), encoding="utf-8")
    env = {**os.environ, "PROXX_CONFIG": str(config), "PROXX_WATCH_STABLE_SECONDS": "0.05"}
    proc = subprocess.run(
        [sys.executable, "-m", "proxx_cli", "watch", str(root), "--once", "--poll-seconds", "0.1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert (real / "out" / "A001.mov").is_file(), proc.stderr
    assert (root / "completed" / "job.result.json").is_file()
