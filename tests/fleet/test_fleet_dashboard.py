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


class _OneJobStore:
    """The fleet's records of one JobSpec 1.2 job as the Store returns them (no Redis needed)."""

    def __init__(self, job: dict, rows: list[dict]):
        self._job, self._rows = job, rows

    def live_workers(self):
        return [{"node": "node-a", "running": ["dash-r:3"], "heartbeat_at": None}]

    def job(self, job_id):
        return self._job

    def clips(self, job_id, count):
        return self._rows


def test_a_running_rendition_shows_its_own_source():
    """Clip 3 of two sources with two renditions each is the second source's first rendition."""
    doc = {
        "sources": ["/m/a.mov", "/m/b.mov"],
        "renditions": [{"name": "avid", "proxy_profile": "x"}, {"name": "review", "proxy_profile": "y"}],
    }
    rows = [{"state": "queued"}] * 4
    rows[2] = {"state": "running", "node": "node-a", "heartbeat": True, "started_at": None}
    job = {"document": doc, "count": 4, "submitted_at": "2026-01-01T00:00:00.000Z", "submitter": "s"}
    snap = FleetReader("redis://x:6379/0", store=_OneJobStore(job, rows)).read()
    assert not snap.errors, snap.errors
    (slot,) = snap.slots
    assert (slot.job, slot.file) == ("dash-r", "b.mov")
