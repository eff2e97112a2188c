"""The status page's fleet reader against a real redis-server and a real `proxx worker`: the worker
as a node with its engines, its running clip as a worker slot, the job's counts; a finished job the
operator follows stays on the page with its failure's category."""

from __future__ import annotations

import time

from test_fleet import counting_ffmpeg, submit

from proxx_dashboard.fleetreader import FleetReader, shown_url
from proxxtest import job_doc


def _wait(reader, predicate, what, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        snap = reader.read()
        if predicate(snap):
            return snap
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}: {snap}")


def test_fleet_reader_shows_workers_running_clips_and_followed_jobs(workers, fleet, broker, media, tmp_path, write_job):
    wrapper, _ = counting_ffmpeg(tmp_path, sleep=3)
    workers.start("node-a", env={"PROXX_FFMPEG": str(wrapper)})
    out = tmp_path / "out"
    out.mkdir()
    (out / "b_proxy.mov").write_bytes(b"an earlier proxy")  # clip 2 fails: output_exists
    job_id = submit(fleet, write_job(job_doc([media("a.mov"), media("b.mov")], out, job_id="dash-1")))
    reader = FleetReader(broker)
    snap = _wait(reader, lambda s: s.slots, "a running clip")
    (node,) = snap.nodes
    assert node.node == "node-a" and node.state == "alive" and "ffmpeg" in node.engines
    assert node.heartbeat_age is not None and node.heartbeat_age < 5
    (slot,) = snap.slots
    assert (slot.node, slot.job, slot.file, slot.lost) == ("node-a", job_id, "a.mov", False)
    (job,) = snap.running
    assert job.job_id == job_id and job.clips_total == 2 and job.state == "running"
    assert fleet("wait", job_id, "--timeout", "60").returncode == 3
    # finished: gone from an unfollowing page once the worker's next heartbeat no longer lists the clip,
    # kept (as history) on a following one
    _wait(reader, lambda s: not s.running and not s.history, "the finished job to leave the page")
    followed = FleetReader(broker, follow=[job_id]).read()
    (done,) = followed.history
    assert (done.state, done.by_status, done.clips_done) == ("PARTIAL", {"COMPLETED": 1, "FAILED": 1}, 2)
    assert [(f.index, f.file, f.category) for f in done.failures] == [(2, "b.mov", "output_exists")]
    assert followed.clips_by_status == {"COMPLETED": 1, "FAILED": 1}


def test_broker_password_never_reaches_the_page():
    assert shown_url("redis://proxx:s3cret@render01:6379/0") == "redis://proxx:***@render01:6379/0"
    assert shown_url("rediss://:s3cret@render01:6380/0") == "rediss://:***@render01:6380/0"
    assert shown_url("redis://render01:6379/0") == "redis://render01:6379/0"
