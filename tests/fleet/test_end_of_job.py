"""A fleet job ends like `proxx run`: the same sidecars, byte for byte, and proxx_job_finished once,
run by whoever finishes the job (a worker, a reaper, or `proxx wait`), exactly once, even when
several try at once. Real redis-server, real `proxx worker` processes, real FFmpeg encodes."""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path

import pytest
from test_fleet import counting_ffmpeg, submit

from proxxtest import job_doc

pytestmark = pytest.mark.timeout(120)

SINKS = "ffmpeg,deliver_ale,deliver_fcpxml,deliver_otio"
SIDECARS = ("ale", "fcpxml", "otio")


def finished_calls(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def sidecar_bytes(folder: Path, job_id: str) -> dict[str, bytes]:
    return {ext: (folder / f"{job_id}.{ext}").read_bytes() for ext in SIDECARS}


def test_a_fleet_job_writes_the_sidecars_of_proxx_run_and_fires_job_finished_once(
    workers, fleet, proxx, media, tmp_path, write_job
):
    out = tmp_path / "out"
    out.mkdir()
    doc = job_doc(
        [media("a.mov"), media("b.mov", frames=4)],
        out,
        jobspec_version="1.1.0",
        job_id="deliver-1",
        deliverables=list(SIDECARS),
        overwrite=True,
    )
    job = write_job(doc)
    ran = proxx("run", job, env_extra={"PROXX_LOAD_PLUGINS": SINKS})
    assert ran.returncode == 0, ran.stderr
    by_run = sidecar_bytes(out, "deliver-1")
    proxies_by_run = {c["output"]["path"]: c["output"]["sha256"] for c in ran.json()["clips"]}
    for f in out.iterdir():
        f.unlink()

    calls = tmp_path / "finished.jsonl"
    for name in ("node-1", "node-2"):
        workers.start(name, plugins=SINKS, record_finished=calls)
    job_id = submit(fleet, job)
    res = fleet("wait", job_id, "--timeout", "60")
    assert res.returncode == 0, res.stderr
    result = res.json()
    assert [(d["name"], d["path"], d["error"]) for d in result["deliverables"]] == [
        (ext, str(out / f"deliver-1.{ext}"), None) for ext in SIDECARS
    ]
    assert sidecar_bytes(out, "deliver-1") == by_run
    assert {c["output"]["path"]: c["output"]["sha256"] for c in result["clips"]} == proxies_by_run
    assert [(c["job_id"], c["status"], c["deliverables"], c["clips"]) for c in finished_calls(calls)] == [
        ("deliver-1", "COMPLETED", list(SIDECARS), 2)
    ]
    assert result["timing"]["fleet"]["finished_by"] in ("node-1", "node-2")
    assert fleet("wait", job_id, "--timeout", "5").json() == result  # a second wait reads the same result
    assert len(finished_calls(calls)) == 1


def test_many_finishers_at_once_run_the_end_of_job_exactly_once(broker, fleet, media, tmp_path, write_job):
    """The compare-and-set decides: eight threads (as eight workers would) see the last clip final at
    the same instant; one runs finish_job, the others do nothing."""
    from proxx_core import hookimpl
    from proxx_core.support.plugins import load_engines
    from proxx_engine_ffmpeg import plugin as ffmpeg_plugin
    from proxx_fleet.end import end_job
    from proxx_fleet.store import Store

    calls: list[str] = []

    class Recorder:
        __name__ = "recorder"

        @hookimpl
        def proxx_job_finished(self, result):
            calls.append(result.job_id)

    engines = load_engines([ffmpeg_plugin, Recorder()], entry_points=False)
    store = Store(broker)
    doc = job_doc([media("a.mov")], tmp_path, job_id="race-1")
    store.create_job(
        "race-1",
        document=doc,
        engines=["ffmpeg"],
        queues=["proxx.v1.ffmpeg"],
        submitted_at="2026-01-01T00:00:00.000Z",
        submitter="test",
    )
    from proxx_fleet.clips import failed_clip, node_record

    assert store.claim("race-1", 1, "w", 5.0, "2026-01-01T00:00:00.000Z")
    assert end_job(store, "race-1", engines, by="early") is None  # a clip still running: nobody ends it
    payload = {
        "clip": failed_clip(doc, 1, "ffmpeg", "engine_failed", "boom", node_record("w", doc, 1)),
        "environment": None,
    }
    assert store.finish("race-1", 1, "w", payload)
    barrier = threading.Barrier(8)
    winners: list[str] = []

    def finisher(name: str) -> None:
        barrier.wait()
        if end_job(Store(broker), "race-1", engines, by=name) is not None:
            winners.append(name)

    threads = [threading.Thread(target=finisher, args=(f"w{i}",)) for i in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and calls == ["race-1"]
    final = store.final("race-1")
    assert final["timing"]["fleet"]["finished_by"] == winners[0] and final["status"] == "FAILED"
    assert fleet("wait", "race-1", "--timeout", "5").json() == final


def test_a_killed_worker_is_noticed_by_the_fleet_itself_within_three_heartbeats(
    workers, broker, media, tmp_path, write_job, fleet
):
    """Nobody runs `status` or `wait`: the surviving worker reaps the dead one's clip, records it
    `worker_lost`, and runs the job's end of job."""
    import redis

    from proxx_fleet.store import Store

    HEARTBEAT = 1.0  # long enough that scheduling noise (2 shared cores) is small against one beat
    wrapper, _ = counting_ffmpeg(tmp_path, sleep=30)
    env = {"PROXX_FFMPEG": str(wrapper)}
    (tmp_path / "out").mkdir()
    calls = tmp_path / "finished.jsonl"
    procs = {
        name: workers.start(name, env=env, record_finished=calls, heartbeat=HEARTBEAT) for name in ("node-1", "node-2")
    }
    job_id = submit(fleet, write_job(job_doc([media("a.mov")], tmp_path / "out", job_id="reap-1")))
    r = redis.Redis.from_url(broker, decode_responses=True)
    store = Store(broker)
    clip_key = store.k("clip", job_id, 1)
    deadline = time.monotonic() + 30
    while r.hget(clip_key, "state") != "running" or not r.exists(store.k("hb", job_id, 1)):
        assert time.monotonic() < deadline, r.hgetall(clip_key)
        time.sleep(0.02)
    time.sleep(HEARTBEAT * 1.5)  # let the victim beat at least once more: it dies mid-clip
    victim = r.hget(clip_key, "node")
    os.killpg(procs[victim].pid, signal.SIGKILL)
    killed = time.monotonic()
    while r.hget(clip_key, "state") != "lost":
        assert time.monotonic() - killed < 10 * HEARTBEAT, r.hgetall(clip_key)
        time.sleep(0.01)
    noticed = time.monotonic() - killed
    assert noticed <= 3 * HEARTBEAT + 0.2, f"noticed {noticed:.2f} s after the kill (heartbeat {HEARTBEAT} s)"
    while store.final(job_id) is None:
        assert time.monotonic() - killed < 20, "the job never ended by itself"
        time.sleep(0.02)
    final = store.final(job_id)
    survivor = next(n for n in procs if n != victim)
    assert final["status"] == "FAILED" and final["clips"][0]["failure"]["category"] == "worker_lost"
    assert final["timing"]["fleet"]["finished_by"] == survivor
    assert [c["job_id"] for c in finished_calls(calls)] == ["reap-1"]
    assert f"lost {job_id}#1 worker={victim}" in workers.log(survivor)


def test_a_worker_logs_one_json_line_per_clip_event_and_no_uid_advice(workers, fleet, media, tmp_path, write_job):
    """`--log-format json`: claimed, finished (status, speed) and failed (category) per clip, the
    job's end, and none of Celery's root advice about a `--uid` option Proxx does not have."""
    import imageio_ffmpeg

    failing = tmp_path / "ffmpeg-fails-bad"
    failing.write_text(
        "#!/bin/sh\n"
        "case \"$*\" in *bad.mov*proxx-partial*) echo 'simulated encoder crash' >&2; exit 1;; esac\n"
        f"exec '{imageio_ffmpeg.get_ffmpeg_exe()}' \"$@\"\n"
    )
    failing.chmod(0o755)
    (tmp_path / "out").mkdir()
    workers.start("logger", env={"PROXX_FFMPEG": str(failing)}, extra=("--log-format", "json"))
    job_id = submit(fleet, write_job(job_doc([media("good.mov"), media("bad.mov")], tmp_path / "out", job_id="log-1")))
    res = fleet("wait", job_id, "--timeout", "60")
    assert res.returncode == 3, res.stderr
    deadline = time.monotonic() + 10
    while '"job_finished"' not in workers.log("logger") and time.monotonic() < deadline:
        time.sleep(0.05)
    text = workers.log("logger")
    assert "--uid" not in text and "superuser" not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    assert all(e["node"] == "logger" and e["time"] for e in lines)
    events = [(e["event"], e.get("index")) for e in lines if e.get("job_id") == job_id]
    assert sorted(events) == [("claimed", 1), ("claimed", 2), ("failed", 2), ("finished", 1), ("job_finished", None)]
    by = {(e["event"], e.get("index")): e for e in lines}
    assert by["finished", 1]["status"] == "COMPLETED" and by["finished", 1]["speed"] > 0
    assert by["failed", 2]["category"] == "engine_failed" and "simulated encoder crash" in by["failed", 2]["message"]
    assert by["claimed", 1]["source"].endswith("good.mov") and by["claimed", 1]["engine"] == "ffmpeg"
    assert by["job_finished", None]["status"] == "PARTIAL"


def test_an_end_of_job_that_raises_still_leaves_wait_a_result(broker, fleet, media, tmp_path, monkeypatch):
    """The claimant is alive but its end of job hit a bug: `wait` must not hang until its timeout."""
    from proxx_core.support.plugins import load_engines
    from proxx_fleet import end
    from proxx_fleet.clips import failed_clip, node_record
    from proxx_fleet.store import Store

    store = Store(broker)
    doc = job_doc([media("a.mov")], tmp_path, job_id="bug-1")
    store.create_job(
        "bug-1",
        document=doc,
        engines=["ffmpeg"],
        queues=["proxx.v1.ffmpeg"],
        submitted_at="2026-01-01T00:00:00.000Z",
        submitter="test",
    )
    assert store.claim("bug-1", 1, "w", 5.0, "2026-01-01T00:00:00.000Z")
    store.finish(
        "bug-1",
        1,
        "w",
        {"clip": failed_clip(doc, 1, "ffmpeg", "engine_failed", "boom", node_record("w", doc, 1)), "environment": None},
    )

    def broken(*_args, **_kwargs):
        raise KeyError("a bug")

    monkeypatch.setattr(end, "finish_job", broken)
    with pytest.raises(KeyError):
        end.end_job(store, "bug-1", load_engines(entry_points=False), by="w")
    res = fleet("wait", "bug-1", "--timeout", "5")
    assert res.returncode == 2, res.stderr
    assert res.json()["timing"]["fleet"] == {"finished_by": "w", "end_error": "KeyError: 'a bug'"}


def test_exactly_one_finishing_clip_sees_that_it_was_the_jobs_last(broker, media, tmp_path):
    """Each transition to a final state returns the job's count of final clips after it, so the
    worker that ends the job knows it without reading every clip (no O(clips²) per job)."""
    from proxx_fleet.clips import failed_clip, node_record
    from proxx_fleet.store import Store

    store = Store(broker)
    doc = job_doc([media("a.mov")] * 8, tmp_path, job_id="count-1")
    store.create_job(
        "count-1",
        document=doc,
        engines=["ffmpeg"] * 8,
        queues=["q"] * 8,
        submitted_at="2026-01-01T00:00:00.000Z",
        submitter="test",
    )
    for i in range(1, 9):
        assert store.claim("count-1", i, f"w{i}", 5.0, "2026-01-01T00:00:00.000Z")
    barrier = threading.Barrier(8)
    seen: list[int] = []

    def finish(i: int) -> None:
        payload = {
            "clip": failed_clip(doc, i, "ffmpeg", "engine_failed", "x", node_record(f"w{i}", doc, i)),
            "environment": None,
        }
        s = Store(broker)
        barrier.wait()
        seen.append(s.finish("count-1", i, f"w{i}", payload))

    threads = [threading.Thread(target=finish, args=(i,)) for i in range(1, 9)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(seen) == list(range(1, 9))
    assert store.finish("count-1", 1, "w1", {}) == 0  # already final: no second transition
    assert store.count("count-1") == 8
