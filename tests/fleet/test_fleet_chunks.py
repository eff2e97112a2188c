"""A long intra clip split across a fleet's nodes (proxx_fleet.chunks): real redis-server, real
`proxx worker` processes, real FFmpeg encodes. Chunks are encoded on separate nodes and joined by the
node that runs the clip; the file is the single pass's, byte for byte; a chunk whose node dies fails
the clip by name, never a gap."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import imageio_ffmpeg
import pytest

from proxxtest import job_doc

pytestmark = pytest.mark.timeout(180)

#: 10 frames per chunk at 25 fps: 32 frames make chunks of 10, 10 and 12
CHUNKED = {"PROXX_CHUNK_SECONDS": "0.4"}


def slow_ffmpeg(tmp_path: Path, name: str, seconds: float) -> tuple[Path, Path]:
    """The real ffmpeg; a chunk encode first notes itself in ``<name>.chunks`` and sleeps ``seconds``
    (so the other node has time to take a chunk, or to be killed in the middle of one)."""
    marks = tmp_path / f"{name}.chunks"
    script = tmp_path / name
    script.write_text(
        "#!/bin/sh\n"
        f"case \"$*\" in *.chunk000*) echo \"$*\" | grep -o 'chunk000[0-9]' >> '{marks}'; "
        f"sleep {seconds};; esac\n"
        f"exec '{imageio_ffmpeg.get_ffmpeg_exe()}' \"$@\"\n"
    )
    script.chmod(0o755)
    return script, marks


def submit(fleet, job: Path) -> str:
    res = fleet("submit", job)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def wait_running(fleet, job_id: str, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        res = fleet("status", job_id)
        clip = res.json()["clips"][0] if res.returncode == 0 else {}
        if clip.get("state") == "running":
            return clip["node"]
        time.sleep(0.1)
    raise AssertionError("the clip never started")


@pytest.fixture
def long_clip(media):
    return media("A001_C001.mov", size="320x180", rate="25/1", frames=32, audio=(2,))


def single_pass_sha256(proxx, write_job, source, tmp_path) -> str:
    out = tmp_path / "single"
    out.mkdir()
    r = proxx("run", write_job(job_doc([source], out)), env_extra={"PROXX_CHUNK_SECONDS": "0"})
    assert r.returncode == 0, r.stderr
    return r.json()["clips"][0]["output"]["sha256"]


def test_chunks_run_on_two_nodes_and_join_to_the_single_pass_file(
    workers, fleet, proxx, long_clip, tmp_path, write_job
):
    ffmpeg_a, marks_a = slow_ffmpeg(tmp_path, "ffmpeg-a", 1.5)
    ffmpeg_b, marks_b = slow_ffmpeg(tmp_path, "ffmpeg-b", 1.5)
    workers.start("node-a", env={**CHUNKED, "PROXX_FFMPEG": str(ffmpeg_a)})
    workers.start("node-b", env={**CHUNKED, "PROXX_FFMPEG": str(ffmpeg_b)})
    (tmp_path / "out").mkdir()
    job_id = submit(fleet, write_job(job_doc([long_clip], tmp_path / "out", job_id="chunks-1")))
    res = fleet("wait", job_id, "--timeout", "120")
    assert res.returncode == 0, res.stderr + workers.log("node-a") + workers.log("node-b")
    clip = res.json()["clips"][0]
    assert clip["status"] == "COMPLETED"
    assert clip["chunks"]["count"] == 3 and len(clip["commands"]) == 4
    # both nodes encoded chunks, each chunk exactly once
    a = marks_a.read_text().split() if marks_a.exists() else []
    b = marks_b.read_text().split() if marks_b.exists() else []
    assert a and b, (a, b)
    assert sorted(a + b) == ["chunk0001", "chunk0002", "chunk0003"]
    assert clip["output"]["sha256"] == single_pass_sha256(proxx, write_job, long_clip, tmp_path)
    assert sorted(os.listdir(tmp_path / "out")) == ["A001_C001_proxy.mov"]  # no chunk file left


def test_a_chunk_whose_node_dies_fails_the_clip_by_name(workers, fleet, long_clip, tmp_path, write_job):
    ffmpeg_a, _ = slow_ffmpeg(tmp_path, "ffmpeg-a", 5)  # node-b has 5 s to start and take chunk 2
    ffmpeg_b, marks_b = slow_ffmpeg(tmp_path, "ffmpeg-b", 60)
    workers.start("node-a", env={**CHUNKED, "PROXX_FFMPEG": str(ffmpeg_a)})
    (tmp_path / "out").mkdir()
    job_id = submit(fleet, write_job(job_doc([long_clip], tmp_path / "out", job_id="chunks-lost")))
    assert wait_running(fleet, job_id) == "node-a"  # node-a joins, and encodes chunk 1 itself
    victim = workers.start("node-b", env={**CHUNKED, "PROXX_FFMPEG": str(ffmpeg_b)})
    deadline = time.monotonic() + 30
    while not (marks_b.exists() and marks_b.read_text().strip()):
        assert time.monotonic() < deadline, "node-b never took a chunk"
        time.sleep(0.1)
    taken = marks_b.read_text().split()[0]
    os.killpg(victim.pid, signal.SIGKILL)  # node-b dies in the middle of its chunk
    res = fleet("wait", job_id, "--timeout", "120")
    clip = res.json()["clips"][0]
    assert clip["status"] == "FAILED" and clip["failure"]["category"] == "worker_lost", clip["failure"]
    k = int(taken[-1])
    assert f"chunk {k} of 3" in clip["failure"]["message"] and "node-b" in clip["failure"]["message"]
    assert os.listdir(tmp_path / "out") == []  # nothing joined, no chunk file left
