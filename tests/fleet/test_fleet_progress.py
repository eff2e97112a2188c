"""Progress of a fleet job from the clips' heartbeats: `proxx status` gives each clip's percent and
ETA and the job's; `proxx wait` on a terminal shows the job moving (and nothing on a pipe)."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
import time
from pathlib import Path

import imageio_ffmpeg
import pytest
from test_fleet import status, submit

from proxxtest import drain_pty, job_doc

pytestmark = pytest.mark.timeout(120)


def realtime_ffmpeg(tmp_path: Path) -> Path:
    """FFmpeg reading its input at native rate (``-re``) for encodes: a 4 s clip takes 4 s."""
    script = tmp_path / "ffmpeg-realtime"
    script.write_text(
        "#!/bin/sh\n"
        f'case "$*" in *proxx-partial*) exec \'{imageio_ffmpeg.get_ffmpeg_exe()}\' -re "$@";; esac\n'
        f"exec '{imageio_ffmpeg.get_ffmpeg_exe()}' \"$@\"\n"
    )
    script.chmod(0o755)
    return script


def test_status_gives_each_running_clip_its_percent_and_eta(workers, fleet, media, tmp_path, write_job):
    (tmp_path / "out").mkdir()
    workers.start("steady", env={"PROXX_FFMPEG": str(realtime_ffmpeg(tmp_path))})
    job_id = submit(
        fleet,
        write_job(
            job_doc([media("long.mov", frames=100), media("next.mov", frames=3)], tmp_path / "out", job_id="progress-1")
        ),
    )
    deadline = time.monotonic() + 30
    while True:
        doc = status(fleet, job_id)
        first, second = doc["clips"]
        if first["state"] == "running" and first["percent"] and 5 < first["percent"] < 95:
            break
        assert time.monotonic() < deadline and first["state"] != "done", doc
        time.sleep(0.1)
    assert first["eta_seconds"] is not None and 0 < first["eta_seconds"] < 5
    assert (second["state"], second["percent"], second["eta_seconds"]) == ("queued", 0.0, None)
    assert doc["progress"] == {"percent": round(first["percent"] / 2, 1), "eta_seconds": None}
    assert fleet("wait", job_id, "--timeout", "60").returncode == 0
    done = status(fleet, job_id)
    assert done["progress"] == {"percent": 100.0, "eta_seconds": 0.0}
    assert [(c["percent"], c["eta_seconds"]) for c in done["clips"]] == [(100.0, 0.0)] * 2


def test_wait_on_a_terminal_shows_the_job_moving_and_nothing_on_a_pipe(
    workers, broker, fleet, media, tmp_path, write_job
):
    (tmp_path / "out").mkdir()
    workers.start("steady", env={"PROXX_FFMPEG": str(realtime_ffmpeg(tmp_path))})
    job_id = submit(fleet, write_job(job_doc([media("long.mov", frames=75)], tmp_path / "out", job_id="progress-2")))
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "proxx_cli", "wait", job_id, "--broker", broker, "--timeout", "60"],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=follower,
    )
    os.close(follower)
    shown = drain_pty(leader).decode(errors="replace")
    os.close(leader)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, shown
    assert "progress-2: 0/1 clip(s) done, 1 running" in shown and "ETA 0m0" in shown
    assert "1/1 clip(s) done, 0 running, 100%, ETA 0m00s" in shown
    assert b'"status": "COMPLETED"' in out
    piped = fleet("wait", job_id, "--timeout", "10")
    assert "clip(s) done" not in piped.stderr
