"""The live state a watch process keeps for status pages (running/<owner>/owner.progress): written
when clips start and end, progress at most once per second, a heartbeat at least every 5 s; its
size does not grow with the job; a normal exit removes it with the owner folder."""

from __future__ import annotations

import json

from proxx_core.contract.progress import ProgressEvent
from proxx_core.watch import live as live_mod
from proxx_core.watch.live import LiveRecord
from proxx_core.watch.owner import PROGRESS_FILE
from watchhelp import drop, run_inprocess, spec


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def _record(tmp_path, clock):
    writes = []
    rec = LiveRecord(tmp_path, node="n", pid=1, max_workers=1, engines={}, clock=clock)
    real = rec.write

    def counting():
        writes.append(clock())
        real()

    rec.write = counting
    return rec, writes


def _ev(kind, index, **kw):
    return ProgressEvent(event=kind, index=index, source=f"/m/{index}.mov", output="o", **kw)


def test_progress_is_throttled_starts_and_ends_are_not_and_the_heartbeat_is_kept(tmp_path):
    clock = Clock()
    rec, writes = _record(tmp_path, clock)
    rec.job_started("j.json", "job-1", {i: 10.0 for i in range(1, 2001)}, 1)
    rec.event("j.json", _ev("start", 1))
    assert len(writes) == 2
    for step in range(50):  # 50 samples within 0.5 s: one write at most
        clock.now += 0.01
        rec.event("j.json", _ev("progress", 1, percent=float(step)))
    assert len(writes) == 2
    assert rec.next_due() <= live_mod.WRITE_SECONDS
    clock.now += live_mod.WRITE_SECONDS
    rec.beat()  # the loop flushes the throttled sample
    assert len(writes) == 3
    doc = json.loads((tmp_path / PROGRESS_FILE).read_text())
    assert doc["jobs"]["j.json"]["running"][0]["percent"] == 49.0
    rec.beat()
    assert len(writes) == 3  # nothing new, heartbeat not due
    clock.now += live_mod.HEARTBEAT_SECONDS
    rec.beat()
    assert len(writes) == 4  # the heartbeat
    for i in range(1, 2001):  # a long job: the file counts finished clips, never lists them
        rec.event("j.json", _ev("start", i))
        rec.event(
            "j.json",
            _ev("done", i, status="FAILED" if i % 2 else "COMPLETED", category="engine_failed" if i % 2 else None),
        )
    doc = json.loads((tmp_path / PROGRESS_FILE).read_text())
    job = doc["jobs"]["j.json"]
    assert job["done"] == {"FAILED": 1000, "COMPLETED": 1000} and job["done_seconds"] == 20000.0
    assert len(job["failures"]) == live_mod.KEPT_FAILURES and job["running"] == []
    assert (tmp_path / PROGRESS_FILE).stat().st_size < 4000


def test_a_watcher_writes_its_live_state_and_removes_it_on_exit(tmp_path, media, monkeypatch):
    seen = []
    real = LiveRecord.document

    def spy(self):
        doc = real(self)
        seen.append(doc)
        return doc

    monkeypatch.setattr(LiveRecord, "document", spy)
    w = tmp_path / "w"
    out = tmp_path / "out"
    out.mkdir()
    drop(w, "a.json", spec([media / "tiny.mov"], out))
    rc, log = run_inprocess(w)
    assert rc == 0, log
    started = [d for d in seen if d["jobs"].get("a.json")]
    assert started and started[0]["jobs"]["a.json"]["clips"] == 1 and "ffmpeg" in started[0]["engines"]
    assert any(d["jobs"]["a.json"]["done"] == {"COMPLETED": 1} for d in started)
    assert seen[-1]["jobs"] == {}
    assert list((w / "running").iterdir()) == []  # removed with the owner folder
