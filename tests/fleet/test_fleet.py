"""Fleets end to end: real redis-server, real `proxx worker` processes, real FFmpeg encodes."""

from __future__ import annotations

import os
import signal
import stat
import time
from pathlib import Path

import imageio_ffmpeg
import pytest

from proxx_core.io.fingerprint import binary_sha256
from proxx_core.pipeline.serialization import load_schema
from proxxtest import job_doc

pytestmark = pytest.mark.timeout(120)


def counting_ffmpeg(tmp_path: Path, *, sleep: float = 0.0, name: str = "ffmpeg-counting") -> tuple[Path, Path]:
    """An ffmpeg 'build' (wrapper script, its own SHA-256) that appends one line to a counter file
    for every encode it starts, then optionally sleeps: execution counts independent of Proxx."""
    counter = tmp_path / f"{name}.runs"
    script = tmp_path / name
    script.write_text(
        "#!/bin/sh\n"
        f"case \"$*\" in *proxx-partial*) echo $$ >> '{counter}'; sleep {sleep};; esac\n"
        f"exec '{imageio_ffmpeg.get_ffmpeg_exe()}' \"$@\"\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return script, counter


def runs(counter: Path) -> int:
    return len(counter.read_text().split()) if counter.exists() else 0


def status(fleet, job_id: str) -> dict:
    res = fleet("status", job_id)
    assert res.returncode == 0, res.stderr
    return res.json()


def wait_for_state(fleet, job_id: str, index: int, state: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = status(fleet, job_id)
        if doc["clips"][index - 1]["state"] == state:
            return doc
        time.sleep(0.2)
    raise AssertionError(f"clip {index} never reached {state}: {doc}")


def submit(fleet, job: Path) -> str:
    res = fleet("submit", job)
    assert res.returncode == 0, res.stderr
    return res.stdout.strip()


def test_two_workers_take_only_their_clips_and_one_result_merges_both(workers, fleet, media, tmp_path, write_job):
    from proxx_engine_imageseq.samples import make_sequence

    shared = tmp_path / "shared"  # the submitter's view of the storage
    (shared / "out").mkdir(parents=True)
    movs = [media("a.mov"), media("b.mov")]
    for m in movs:
        os.replace(m, shared / m.name)
    seq = make_sequence(shared / "plates", frames=4, frame_rate="24")
    node_a = tmp_path / "mnt-raid"  # how node A mounts the same storage
    node_a.symlink_to(shared)
    config_a = tmp_path / "node-a.toml"
    config_a.write_text(f'[paths]\n"{shared}" = "{node_a}"\n')
    workers.start("node-a", plugins="ffmpeg", config=config_a)
    workers.start("node-b", plugins="imageseq")
    job = write_job(job_doc([shared / "a.mov", seq, shared / "b.mov"], shared / "out", job_id="merge-1"))

    job_id = submit(fleet, job)
    assert job_id == "merge-1"
    res = fleet("wait", job_id, "--timeout", "90")
    assert res.returncode == 0, res.stderr
    result = res.json()
    import jsonschema

    jsonschema.validate(result, load_schema("result-1.0.json"))
    assert result["status"] == "COMPLETED" and result["exit_code"] == 0
    assert [(c["index"], c["engine"], c["node"]["name"]) for c in result["clips"]] == [
        (1, "ffmpeg", "node-a"),
        (2, "imageseq", "node-b"),
        (3, "ffmpeg", "node-a"),
    ]
    first = result["clips"][0]
    assert first["node"]["submitted"] == {"source": str(shared / "a.mov"), "output_dir": str(shared / "out")}
    assert first["node"]["mapped"] == {"source": str(node_a / "a.mov"), "output_dir": str(node_a / "out")}
    assert any(str(node_a / "a.mov") in arg for arg in first["commands"][0]["argv"])  # node A read its own path
    assert sorted({e["name"] for e in result["environment"]["engines"]}) == ["ffmpeg", "imageseq"]
    assert sorted(p.name for p in (shared / "out").iterdir()) == ["a_proxy.mov", "b_proxy.mov", "shot_1001_proxy.mov"]
    assert status(fleet, job_id)["counts"] == {"done": 3}


def test_submit_is_refused_when_no_live_worker_can_take_a_clip(workers, fleet, media, tmp_path, write_job, broker):
    from proxx_engine_imageseq.samples import make_sequence

    workers.start("ffmpeg-only", plugins="ffmpeg")
    (tmp_path / "out").mkdir()
    job = write_job(
        job_doc(
            [media("a.mov"), make_sequence(tmp_path / "seq", frames=3, frame_rate="24")],
            tmp_path / "out",
            job_id="nobody",
        )
    )
    res = fleet("submit", job)
    assert res.returncode == 1
    assert "/sources/1" in res.stderr and "imageseq" in res.stderr and "ffmpeg-only" in res.stderr
    assert fleet("status", "nobody").returncode == 1  # nothing was queued
    # an invalid JobSpec is refused before the broker is asked anything
    bad = write_job({**job_doc([media("b.mov")], tmp_path / "out"), "overwrit": True})
    res = fleet("submit", bad)
    assert res.returncode == 1 and "did you mean 'overwrite'" in res.stderr


@pytest.mark.slow
def test_worker_killed_mid_clip_is_reported_lost_and_never_rerun(workers, fleet, media, tmp_path, write_job):
    wrapper, counter = counting_ffmpeg(tmp_path, sleep=8)
    env = {"PROXX_FFMPEG": str(wrapper)}
    (tmp_path / "out").mkdir()
    # two nodes with the same engine and build: either could take a redelivered message
    procs = {name: workers.start(name, env=env) for name in ("node-1", "node-2")}
    job = write_job(job_doc([media("a.mov")], tmp_path / "out", job_id="kill-1"))
    job_id = submit(fleet, job)
    victim = wait_for_state(fleet, job_id, 1, "running")["clips"][0]["node"]
    os.kill(procs[victim].pid, signal.SIGKILL)
    res = fleet("wait", job_id, "--timeout", "30")
    assert res.returncode == 2, res.stderr
    clip = res.json()["clips"][0]
    assert clip["failure"]["category"] == "worker_lost" and victim in clip["failure"]["message"]
    assert clip["node"]["name"] == victim
    time.sleep(3)  # long enough for any redelivery to the idle survivor to have started
    assert runs(counter) == 1
    assert status(fleet, job_id)["clips"][0]["state"] == "lost"
    assert not (tmp_path / "out" / "a_proxy.mov").exists()


def test_a_duplicate_delivery_never_starts_the_clip_again(workers, fleet, broker, media, tmp_path, write_job):
    """Whatever the broker does (redelivery, a second copy of a message), the claim key decides."""
    from proxx_fleet.app import TASK_NAME, make_app

    wrapper, counter = counting_ffmpeg(tmp_path)
    (tmp_path / "out").mkdir()
    workers.start("once", env={"PROXX_FFMPEG": str(wrapper)})
    doc = job_doc([media("a.mov")], tmp_path / "out", job_id="dup-1", overwrite=True)
    job_id = submit(fleet, write_job(doc))
    first = fleet("wait", job_id, "--timeout", "30")
    assert first.returncode == 0, first.stderr
    payload = {"job_id": job_id, "index": 1, "engine": "ffmpeg", "document": doc}
    make_app(broker).send_task(TASK_NAME, args=[payload], queue="proxx.v1.ffmpeg")
    time.sleep(1.5)
    assert runs(counter) == 1
    again = fleet("wait", job_id, "--timeout", "5")
    assert again.json()["clips"] == first.json()["clips"]


def test_cancel_stops_queued_clips_and_interrupts_the_running_one(workers, fleet, media, tmp_path, write_job):
    wrapper, counter = counting_ffmpeg(tmp_path, sleep=20)
    (tmp_path / "out").mkdir()
    workers.start("slow", env={"PROXX_FFMPEG": str(wrapper)})
    job = write_job(job_doc([media("a.mov"), media("b.mov"), media("c.mov")], tmp_path / "out", job_id="cancel-1"))
    job_id = submit(fleet, job)
    wait_for_state(fleet, job_id, 1, "running")
    started = time.monotonic()
    res = fleet("cancel", job_id)
    assert res.returncode == 0, res.stderr
    assert res.json() == {"job_id": job_id, "cancelled_queued": 2, "interrupting_running": 1}
    res = fleet("wait", job_id, "--timeout", "30")
    assert time.monotonic() - started < 15  # the 20 s clip was interrupted, not waited for
    assert res.returncode == 2, res.stderr
    clips = res.json()["clips"]
    assert [c["failure"]["category"] for c in clips] == ["interrupted"] * 3
    assert "cancelled" in clips[1]["failure"]["message"]
    assert runs(counter) == 1
    assert list((tmp_path / "out").iterdir()) == []


def test_require_builds_only_goes_to_nodes_with_that_build(workers, fleet, media, tmp_path, write_job):
    other, _ = counting_ffmpeg(tmp_path, name="ffmpeg-other-build")
    (tmp_path / "out").mkdir()
    workers.start("other-build", env={"PROXX_FFMPEG": str(other)})
    sha = binary_sha256(imageio_ffmpeg.get_ffmpeg_exe())
    job = write_job(
        job_doc(
            [media("a.mov")],
            tmp_path / "out",
            jobspec_version="1.1.0",
            require_builds={"ffmpeg": sha},
            job_id="builds-1",
        )
    )
    res = fleet("submit", job)
    assert res.returncode == 1
    assert "other-build" in res.stderr and "/require_builds/ffmpeg" in res.stderr
    workers.start("pinned-build")
    job_id = submit(fleet, job)
    res = fleet("wait", job_id, "--timeout", "60")
    assert res.returncode == 0, res.stderr
    result = res.json()
    assert result["clips"][0]["node"]["name"] == "pinned-build"
    assert result["environment"]["engines"][0]["binary_sha256"] == sha


def test_a_missing_mapped_source_fails_that_clip_naming_both_paths(workers, fleet, media, tmp_path, write_job):
    (tmp_path / "out").mkdir()
    (tmp_path / "elsewhere").mkdir()
    src = media("a.mov")
    config = tmp_path / "node.toml"
    config.write_text(f'[paths]\n"{src.parent}" = "{tmp_path / "elsewhere"}"\n')
    workers.start("mismapped", config=config)
    job_id = submit(fleet, write_job(job_doc([src], tmp_path / "out", job_id="mapped-1")))
    res = fleet("wait", job_id, "--timeout", "30")
    assert res.returncode == 2, res.stderr
    failure = res.json()["clips"][0]["failure"]
    assert str(src) in failure["message"] and str(tmp_path / "elsewhere" / "a.mov") in failure["message"]
    assert "no such file" in failure["message"] and "mismapped" in failure["message"]


def test_workers_lists_live_workers_and_forgets_dead_ones(workers, fleet, tmp_path):
    config = tmp_path / "n.toml"
    config.write_text('[paths]\n"/Volumes/RAID" = "/mnt/raid"\n')
    proc = workers.start("lister", config=config, max_workers=2)
    listed = fleet("workers").json()["workers"]
    assert [w["node"] for w in listed] == ["lister"]
    w = listed[0]
    assert list(w["engines"]) == ["ffmpeg"] and w["engines"]["ffmpeg"]["binary_sha256"]
    assert w["path_map"] == [["/Volumes/RAID", "/mnt/raid"]] and w["max_workers"] == 2 and w["load"] == 0
    os.kill(proc.pid, signal.SIGKILL)
    time.sleep(1.5)
    assert fleet("workers").json()["workers"] == []


def test_fleet_commands_without_proxx_fleet_say_what_to_install(proxx):
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['proxx_fleet'] = None; sys.modules['proxx_fleet.cli'] = None\n"
        "from proxx_cli.main import main; raise SystemExit(main(['submit', 'job.json', '--broker', 'x']))"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 1 and "pip install ./proxx_fleet" in proc.stderr


def test_celery_is_configured_for_at_most_once():
    from proxx_fleet.app import make_app

    conf = make_app("redis://127.0.0.1:1/0").conf
    assert conf.task_acks_late is False and conf.task_reject_on_worker_lost is False
    assert conf.worker_disable_prefetch is True and conf.worker_prefetch_multiplier == 1
    assert conf.accept_content == ["json"]


def test_submit_without_broker_is_a_usage_error(proxx, tmp_path):
    res = proxx("submit", tmp_path / "job.json", env_extra={"PROXX_BROKER": ""})
    assert res.returncode == 1 and "PROXX_BROKER" in res.stderr


def test_fail_clip_queues_the_makeable_clips_and_reports_the_refused_one(workers, fleet, media, tmp_path, write_job):
    """`"unsupported_sources": "fail_clip"` on a fleet, as `proxx run`: the clip no engine can make is
    FAILED at submission (no task is sent for it), the others run; the result is PARTIAL (exit 3)."""
    import jsonschema

    workers.start("node-a", plugins="ffmpeg")
    (tmp_path / "out").mkdir()
    good = media("good.mov", size="256x144", rate="25/1", frames=5)
    interlaced = media("interlaced.mov", size="256x144", rate="25/1", frames=4, field_order="tt")
    job = write_job(
        job_doc(
            [interlaced, good],
            tmp_path / "out",
            profile="offline_dnxhr_lb_1920x1080",
            jobspec_version="1.1.0",
            unsupported_sources="fail_clip",
            job_id="partial-1",
        )
    )
    res = fleet("submit", job)
    assert res.returncode == 0, res.stderr
    assert "1 clip(s) queued" in res.stderr and "1 refused" in res.stderr and "refused clip 1" in res.stderr
    res = fleet("wait", "partial-1", "--timeout", "90")
    assert res.returncode == 3, res.stderr
    result = res.json()
    jsonschema.validate(result, load_schema("result-1.0.json"))
    refused, made = result["clips"]
    assert result["status"] == "PARTIAL"
    assert (refused["status"], refused["failure"]["category"], refused["engine"]) == (
        "FAILED",
        "unsupported_source",
        None,
    )
    assert refused["failure"]["message"].startswith("refused at validation: ") and refused["commands"] == []
    assert (made["status"], made["node"]["name"]) == ("COMPLETED", "node-a")
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["good_proxy.mxf"]
    # without fail_clip the same job is refused whole, nothing queued
    strict = write_job(
        job_doc([interlaced, good], tmp_path / "out", profile="offline_dnxhr_lb_1920x1080", job_id="strict-1")
    )
    res = fleet("submit", strict)
    assert res.returncode == 1 and "/sources/0" in res.stderr
    assert fleet("status", "strict-1").returncode == 1


def test_a_late_high_priority_job_starts_before_queued_low_ones(workers, fleet, media, tmp_path, write_job, broker):
    """One worker, one slot: a low job of four clips is running its first; a high job submitted
    then is taken at the next free slot, before the three queued low clips."""
    import imageio_ffmpeg

    from proxx_fleet.store import Store

    slow_first = tmp_path / "ffmpeg-slow-first"  # the first low clip runs long enough to submit the high job
    slow_first.write_text(
        "#!/bin/sh\n"
        'case "$*" in *low0*proxx-partial*) sleep 4;; esac\n'
        f"exec '{imageio_ffmpeg.get_ffmpeg_exe()}' \"$@\"\n"
    )
    slow_first.chmod(0o755)
    (tmp_path / "out").mkdir()
    workers.start("one-slot", env={"PROXX_FFMPEG": str(slow_first)})
    store = Store(broker)
    lows = [media(f"low{i}.mov") for i in range(4)]
    low = submit(
        fleet, write_job(job_doc(lows, tmp_path / "out", jobspec_version="1.2.0", priority="low", job_id="low-1"))
    )
    deadline = time.monotonic() + 30
    while store.r.hget(store.k("clip", low, 1), "state") != "running":
        assert time.monotonic() < deadline
        time.sleep(0.02)
    high = submit(
        fleet,
        write_job(
            job_doc([media("urgent.mov")], tmp_path / "out", jobspec_version="1.2.0", priority="high", job_id="high-1")
        ),
    )
    assert store.r.hget(store.k("clip", low, 1), "state") == "running", "the first low clip ended too early"
    assert fleet("wait", low, "--timeout", "60").returncode == 0
    assert fleet("wait", high, "--timeout", "60").returncode == 0
    started = sorted(
        (store.r.hget(store.k("clip", job, i), "started_at"), f"{job}#{i}")
        for job, n in ((low, 4), (high, 1))
        for i in range(1, n + 1)
    )
    assert [name for _, name in started] == ["low-1#1", "high-1#1", "low-1#2", "low-1#3", "low-1#4"]


def test_submit_takes_a_camera_card_like_proxx_run(workers, fleet, media, tmp_path):
    """`proxx submit --profile … CARD` builds the job as `proxx run` does and queues the card's clips,
    expanded once at submission (every worker gets the same files), in name order."""
    card = tmp_path / "A001" / "PRIVATE" / "M4ROOT" / "CLIP"
    card.mkdir(parents=True)
    for name in ("C0002.MP4", "C0001.MP4"):
        os.replace(media(name, video="h264"), card / name)
    (card / "C0001M01.XML").write_text("<x/>")
    out = tmp_path / "out"
    out.mkdir()
    workers.start("card-node")
    res = fleet("submit", "--profile", "offline_h264_1280x720", "--output-dir", out, tmp_path / "A001")
    assert res.returncode == 0, res.stderr
    assert "Sony XAVC / NXCAM card" in res.stderr and "clip metadata (XML)" in res.stderr
    done = fleet("wait", res.stdout.strip(), "--timeout", "120")
    assert done.returncode == 0, done.stderr
    result = done.json()
    assert [os.path.basename(c["source"]["path"]) for c in result["clips"]] == ["C0001.MP4", "C0002.MP4"]
    assert sorted(os.listdir(out)) == ["C0001.mp4", "C0002.mp4"]
    assert fleet("submit", tmp_path / "A001").returncode == 1  # a folder without a profile: what to add
