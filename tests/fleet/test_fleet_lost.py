"""`proxx status` and `proxx wait` announce a worker the fleet lost: real redis-server, real workers,
one killed with SIGKILL mid-clip, its loss recorded by the surviving worker's reaper."""

from __future__ import annotations

import os
import re
import signal
import time

import pytest
from test_fleet import counting_ffmpeg, submit, wait_for_state

from proxx_fleet.store import Store
from proxxtest import job_doc

pytestmark = pytest.mark.timeout(120)

STAMP = r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z"


def _recorded_lost(broker: str, job_id: str, timeout: float = 30) -> None:
    """Until the fleet itself (a worker's reaper, nobody running status or wait) records clip 1 lost."""
    store = Store(broker)
    deadline = time.monotonic() + timeout
    while store.clips(job_id, 1)[0].get("state") != "lost":
        assert time.monotonic() < deadline, "no reaper recorded the killed worker's clip lost"
        time.sleep(0.1)


def test_status_and_wait_announce_a_worker_lost_mid_clip(workers, fleet, media, tmp_path, write_job, broker):
    wrapper, _ = counting_ffmpeg(tmp_path, sleep=6)
    env = {"PROXX_FFMPEG": str(wrapper)}
    (tmp_path / "out").mkdir()
    procs = {name: workers.start(name, env=env) for name in ("node-a", "node-b")}
    src = media("a.mov")
    job_id = submit(fleet, write_job(job_doc([src], tmp_path / "out", job_id="lost-1")))
    victim = wait_for_state(fleet, job_id, 1, "running")["clips"][0]["node"]
    survivor = next(n for n in procs if n != victim)
    os.kill(procs[victim].pid, signal.SIGKILL)
    _recorded_lost(broker, job_id)

    res = fleet("status", job_id)
    assert res.returncode == 0, res.stderr
    doc = res.json()
    lost = doc["clips"][0]["lost"]
    assert lost["worker"] == victim and lost["recorded_by"] == survivor and re.fullmatch(STAMP, lost["at"])
    assert doc["lost_workers"] == [
        {"worker": victim, "at": lost["at"], "recorded_by": survivor, "clips": [{"index": 1, "source": str(src)}]}
    ]
    said = f"worker {victim} was lost (recorded at {lost['at']} by {survivor}) while running clip 1 ({src})"
    assert said in res.stderr, res.stderr

    res = fleet("wait", job_id, "--timeout", "30")
    assert res.returncode == 2, res.stderr
    clip = res.json()["clips"][0]
    assert clip["node"]["name"] == victim
    assert clip["node"]["lost"] == {"at": lost["at"], "recorded_by": survivor}
    # announced while waiting (from the fleet's record) and once more in the summary
    assert res.stderr.count(f"proxx wait: job {job_id}: {said}") == 2, res.stderr


def test_a_running_clip_without_heartbeat_is_recorded_lost_by_the_command_that_noticed_it(
    workers, fleet, media, tmp_path, write_job, broker
):
    """With no other worker alive, `proxx status` itself notices the expired heartbeat and says so."""
    wrapper, _ = counting_ffmpeg(tmp_path, sleep=6)
    (tmp_path / "out").mkdir()
    proc = workers.start("only", env={"PROXX_FFMPEG": str(wrapper)})
    job_id = submit(fleet, write_job(job_doc([media("b.mov")], tmp_path / "out", job_id="lost-2")))
    wait_for_state(fleet, job_id, 1, "running")
    os.kill(proc.pid, signal.SIGKILL)
    doc = wait_for_state(fleet, job_id, 1, "lost")
    lost = doc["clips"][0]["lost"]
    assert lost["worker"] == "only" and lost["recorded_by"].startswith("proxx status@")
    assert doc["lost_workers"][0]["worker"] == "only"
