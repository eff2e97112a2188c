"""A fleet worker killed mid-clip is announced through ``proxx_event`` by the worker that records it
``worker_lost``: proxx-notify tells the node config's ``always`` targets (a real JSON webhook)."""

from __future__ import annotations

import os
import signal
import time

import pytest
from test_fleet import counting_ffmpeg, submit, wait_for_state

from proxxtest import job_doc

pytest.importorskip("proxx_notify", reason="install ./proxx_notify")
pytestmark = pytest.mark.timeout(120)


def test_a_killed_worker_is_announced_as_worker_lost(workers, fleet, media, tmp_path, write_job, webhook):
    url, received = webhook
    config = tmp_path / "node.toml"
    config.write_text(f'[notify]\nalways = ["ops"]\nevents = ["worker_lost"]\n[notify.targets]\nops = "{url}"\n')
    wrapper, _ = counting_ffmpeg(tmp_path, sleep=30)
    env = {"PROXX_FFMPEG": str(wrapper)}
    (tmp_path / "out").mkdir()
    procs = {
        name: workers.start(name, plugins="ffmpeg,notify", config=config, env=env) for name in ("node-1", "node-2")
    }
    job_id = submit(fleet, write_job(job_doc([media("a.mov")], tmp_path / "out", job_id="lost-1")))
    victim = wait_for_state(fleet, job_id, 1, "running")["clips"][0]["node"]
    os.killpg(procs[victim].pid, signal.SIGKILL)  # the worker and its encoder
    deadline = time.monotonic() + 30

    def lost() -> list[dict]:
        return [p for p in received if p["title"].endswith("worker lost")]

    while not lost() and time.monotonic() < deadline:  # the survivor's reaper, not `status`, records it
        time.sleep(0.1)
    (payload,) = lost()  # beside it, the job's end is announced as usual (the always target is told)
    assert payload["title"] == "Proxx job lost-1: worker lost"
    assert payload["message"].startswith(f"worker_lost: job lost-1, clip 1, node {victim}")
    survivor = ({"node-1", "node-2"} - {victim}).pop()
    assert f"recorded worker_lost by {survivor}" in payload["message"]
    res = fleet("wait", job_id, "--timeout", "30")
    assert res.returncode == 2 and res.json()["clips"][0]["failure"]["category"] == "worker_lost"
    assert len(lost()) == 1  # once, though every live worker reaps
