"""Failures are explicit and lose nothing: categories, exit codes, no file under a final name."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from proxxtest import PROFILE_CODECS, drain_pty, job_doc

WRAPPER = """#!/bin/sh
# a stand-in ffmpeg: the real binary, except for sources whose names ask for trouble
case "$*" in
  *fail-me*) echo "[fake] Error: simulated encoder crash" >&2; exit 1 ;;
  *hang-me*) sleep 600 ;;
  *slow-me*) exec "{real}" -re "$@" ;;  # reads the source at its frame rate: a long, real encode
  *ro-me*) "{real}" "$@"; rc=$?; mount -o remount,ro "$PROXX_TEST_MOUNT" || exit 99; exit $rc ;;
  *short-me*) last=""; for a in "$@"; do last="$a"; done
              # a second output to the same file with only 2 frames: a plausible, wrong proxy
              exec "{real}" "$@" -frames:v 2 -f {fmt} -y "$last" ;;
esac
exec "{real}" "$@"
"""


@pytest.fixture
def fake_ffmpeg(tmp_path):
    from proxx_engine_ffmpeg.binary import inspect_binary

    def make(fmt="mov"):
        path = tmp_path / "bin" / "ffmpeg"
        path.parent.mkdir(exist_ok=True)
        path.write_text(WRAPPER.replace("{real}", inspect_binary().path).replace("{fmt}", fmt))
        path.chmod(0o755)
        return {"PROXX_FFMPEG": str(path)}

    return make


def test_failed_clip_does_not_stop_others_partial_exit_3(proxx, write_job, media, outdir, fake_ffmpeg):
    good, bad = media("good.mov"), media("fail-me.mov")
    r = proxx("run", write_job(job_doc([bad, good], outdir)), env_extra=fake_ffmpeg())
    assert r.returncode == 3, r.stderr
    res = r.json()
    assert res["status"] == "PARTIAL" and res["exit_code"] == 3
    failed, ok = res["clips"]
    assert failed["failure"]["category"] == "engine_failed"
    assert "simulated encoder crash" in failed["failure"]["message"]
    assert "simulated encoder crash" in failed["commands"][0]["stderr_tail"]
    assert failed["commands"][0]["exit_code"] == 1
    assert ok["status"] == "COMPLETED"
    assert sorted(p.name for p in outdir.iterdir()) == ["good_proxy.mov"]
    assert res["environment"]["engines"][0]["binary"] == fake_ffmpeg()["PROXX_FFMPEG"]


def test_all_failed_exit_2(proxx, write_job, media, outdir, fake_ffmpeg):
    r = proxx("run", write_job(job_doc([media("fail-me.mov")], outdir)), env_extra=fake_ffmpeg())
    assert r.returncode == 2 and r.json()["status"] == "FAILED"
    assert list(outdir.iterdir()) == []


def test_timeout_kills_and_fails_the_clip(proxx, write_job, media, outdir, fake_ffmpeg):
    env = fake_ffmpeg() | {"PROXX_FFMPEG_TIMEOUT_SECONDS": "1.5"}
    t0 = time.monotonic()
    r = proxx("run", write_job(job_doc([media("hang-me.mov"), media("fine.mov")], outdir)), env_extra=env)
    assert time.monotonic() - t0 < 30
    assert r.returncode == 3
    clip = r.json()["clips"][0]
    assert clip["failure"]["category"] == "timeout" and "1.5 s" in clip["failure"]["message"]
    assert sorted(p.name for p in outdir.iterdir()) == ["fine_proxy.mov"]


def test_verification_mismatch_keeps_temp_never_final(proxx, write_job, media, outdir, fake_ffmpeg):
    r = proxx("run", write_job(job_doc([media("short-me.mov", frames=6)], outdir)), env_extra=fake_ffmpeg())
    assert r.returncode == 2, r.stderr
    clip = r.json()["clips"][0]
    assert clip["failure"]["category"] == "verification_failed"
    checks = {c["name"]: c for c in clip["output"]["verification"]["checks"]}
    assert checks["frame_count"] == {"name": "frame_count", "expected": 6, "actual": 2, "ok": False}
    assert not (outdir / "short-me_proxy.mov").exists()
    assert os.path.exists(clip["output"]["kept_temp_path"])


def test_existing_output_is_left_untouched(proxx, write_job, media, outdir):
    src = media("keep.mov")
    final = outdir / "keep_proxy.mov"
    final.write_bytes(b"an editor's precious file")
    r = proxx("run", write_job(job_doc([src], outdir)))
    assert r.returncode == 2
    assert r.json()["clips"][0]["failure"]["category"] == "output_exists"
    assert final.read_bytes() == b"an editor's precious file"
    r = proxx("run", write_job(job_doc([src], outdir, overwrite=True)))
    assert r.returncode == 0
    assert final.read_bytes()[4:8] == b"ftyp"


HOSTILE = [
    "-y.mov",
    "concat+x&y.mov",
    "file+evil.mov",
    "spaces and 'quotes' ü.mov",
    "semi;colon $(rm -rf).mov",
    "%s%n.mov",
    "x" * 180 + ".mov",
    "日本語のクリップ.mov",
]
#: source names ffmpeg could read as a protocol; their characters are refused in output names
PROTOCOL_LIKE = ["concat:x|y.mov", "file:evil.mov", "pipe:1.mov"]


@pytest.mark.parametrize("profile", sorted(PROFILE_CODECS))
def test_hostile_file_names_are_just_files(profile, proxx, write_job, media, outdir):
    srcs = [media(name, size="256x144", frames=3) for name in HOSTILE]
    r = proxx("run", write_job(job_doc(srcs, outdir, profile=profile, output_name_template="{source_name}_{index}")))
    assert r.returncode == 0, r.stderr
    outs = [c["output"]["path"] for c in r.json()["clips"]]
    ext = PROFILE_CODECS[profile][1]
    assert outs == [str(outdir / f"{name[:-4]}_{i:03d}.{ext}") for i, name in enumerate(HOSTILE, 1)]  # "-y_001..."
    assert sorted(os.listdir(outdir)) == sorted(os.path.basename(o) for o in outs)  # nothing else written


def test_protocol_like_source_names_are_read_as_files(proxx, write_job, media, outdir):
    srcs = [media(name, size="256x144", frames=3) for name in PROTOCOL_LIKE]
    r = proxx("run", write_job(job_doc(srcs, outdir, output_name_template="clip_{index}")))
    assert r.returncode == 0, r.stderr
    assert [c["source"]["path"] for c in r.json()["clips"]] == [str(s) for s in srcs]
    assert sorted(os.listdir(outdir)) == ["clip_001.mov", "clip_002.mov", "clip_003.mov"]


def test_sigint_interrupts_and_leaves_no_final_file(write_job, media, outdir, fake_ffmpeg):
    env = dict(os.environ) | fake_ffmpeg()
    job = write_job(job_doc([media("hang-me.mov")], outdir))
    proc = subprocess.Popen(
        [sys.executable, "-m", "proxx_cli", "run", str(job)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    deadline = time.monotonic() + 30
    while not any(p.name.endswith(".proxx-partial") for p in outdir.iterdir()):
        assert time.monotonic() < deadline
        time.sleep(0.1)
    time.sleep(0.5)
    proc.send_signal(signal.SIGINT)
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 2, err
    import json

    clip = json.loads(out)["clips"][0]
    assert clip["failure"]["category"] == "interrupted"
    assert list(outdir.iterdir()) == []


def test_stdout_is_one_json_document_and_no_progress_when_not_a_tty(proxx, write_job, media, outdir):
    r = proxx("run", write_job(job_doc([media("a.mov")], outdir)))
    import json

    assert json.loads(r.stdout)["status"] == "COMPLETED"
    assert "━" not in r.stderr and "\x1b[" not in r.stderr


def test_progress_goes_to_stderr_when_it_is_a_terminal(write_job, media, outdir):
    """With stderr on a terminal (a pty here), rich progress appears there; stdout stays pure JSON."""
    import json
    import pty

    leader, follower = pty.openpty()
    job = write_job(job_doc([media("a.mov"), media("b.mov")], outdir))
    proc = subprocess.Popen(
        [sys.executable, "-m", "proxx_cli", "run", str(job)],
        stdout=subprocess.PIPE,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, COLUMNS="100"),
    )
    os.close(follower)
    shown = drain_pty(leader)
    out, _ = proc.communicate(timeout=120)
    os.close(leader)
    import re

    terminal = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", shown.decode("utf-8", "replace"))
    assert proc.returncode == 0
    assert "clip 1: COMPLETED" in terminal and "2/2" in terminal
    assert json.loads(out)["status"] == "COMPLETED"


def _sha256(path) -> str:
    import hashlib

    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _start_run(job, env) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "proxx_cli", "run", str(job)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
        stdin=subprocess.DEVNULL,
    )


def _wait_for_temp(outdir, proc, min_bytes=1):
    deadline = time.monotonic() + 30
    while not any(p.name.endswith(".proxx-partial") and p.stat().st_size >= min_bytes for p in outdir.iterdir()):
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.05)


def test_concurrent_overwrite_runs_report_the_truth(write_job, media, outdir, fake_ffmpeg):
    """Two runs of the same overwrite job at once: the second never touches the first's temp file;
    each result is true, and the published file's SHA-256 is the one reported."""
    import json

    env = dict(os.environ) | fake_ffmpeg()
    job = write_job(job_doc([media("slow-me.mov", frames=60)], outdir, overwrite=True))
    first = _start_run(job, env)
    _wait_for_temp(outdir, first, min_bytes=1)  # the first run's encoder is writing
    second = _start_run(job, env)
    out2, err2 = second.communicate(timeout=120)
    out1, err1 = first.communicate(timeout=120)
    r1, r2 = json.loads(out1), json.loads(out2)
    final = outdir / "slow-me_proxy.mov"
    assert r1["status"] == "COMPLETED", err1
    assert r1["clips"][0]["output"]["sha256"] == _sha256(final)
    assert r1["clips"][0]["output"]["size"] == final.stat().st_size
    clip2 = r2["clips"][0]
    assert second.returncode == 2 and clip2["failure"]["category"] == "output_exists", err2
    assert "still running" in clip2["failure"]["message"]
    assert sorted(p.name for p in outdir.iterdir()) == [final.name]


@pytest.fixture
def small_volume(tmp_path):
    """mount(size) -> a fresh tmpfs of that size (skips where this machine cannot mount)."""
    mounted = []

    def mount(size: str):
        point = tmp_path / f"vol{len(mounted)}"
        point.mkdir()
        r = subprocess.run(
            ["mount", "-t", "tmpfs", "-o", f"size={size},mode=0777", "tmpfs", str(point)],
            capture_output=True,
            text=True,
        )
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here: {r.stderr.strip()}")
        mounted.append(point)
        return point

    yield mount
    for point in mounted:
        subprocess.run(["umount", "-l", str(point)], capture_output=True)


def test_disk_full_during_the_encode_is_io_error_exit_4(proxx, write_job, media, small_volume):
    """ffmpeg itself hits ENOSPC: the clip is io_error (not engine_failed), a result is printed and
    no temporary file is left on the full volume."""
    vol = small_volume("48k")
    r = proxx("run", write_job(job_doc([media("big.mov", size="320x180", frames=24)], vol)))
    assert r.returncode == 4, r.stderr
    clip = r.json()["clips"][0]
    assert clip["failure"]["category"] == "io_error", clip["failure"]
    assert "No space left on device" in clip["failure"]["message"]
    assert list(vol.iterdir()) == []


def test_volume_turning_read_only_before_publish_reports_every_clip(proxx, write_job, media, small_volume, fake_ffmpeg):
    """The output volume becomes read-only between the encode and the publish: every clip still gets
    its category in a printed result, and the run exits 4."""
    vol = small_volume("16m")
    env = fake_ffmpeg() | {"PROXX_TEST_MOUNT": str(vol)}
    r = proxx("run", write_job(job_doc([media("ro-me.mov"), media("next.mov")], vol)), env_extra=env)
    assert r.returncode == 4, r.stderr
    res = r.json()
    assert res["status"] == "FAILED" and res["exit_code"] == 4
    assert [c["failure"]["category"] for c in res["clips"]] == ["io_error", "io_error"]
    assert "Read-only file system" in res["clips"][0]["failure"]["message"]


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                fields = open(f"/proc/{entry}/stat").read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                kids.append(int(entry))
    return kids


def _alive(pid: int) -> bool:
    try:
        state = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state not in ("Z", "X")  # a zombie has exited; only its parent's wait is missing


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="parent-death signal is Linux only")
def test_kill_9_of_proxx_run_takes_the_encoder_with_it(write_job, media, outdir, fake_ffmpeg):
    env = dict(os.environ) | fake_ffmpeg()
    job = write_job(job_doc([media("slow-me.mov", frames=240)], outdir))
    proc = _start_run(job, env)
    _wait_for_temp(outdir, proc, min_bytes=1)
    encoders = _children(proc.pid)
    assert encoders, "the encoder was not found"
    try:
        proc.kill()  # SIGKILL: no handler, no cleanup in Proxx
        proc.wait(timeout=10)
        deadline = time.monotonic() + 2
        while any(_alive(p) for p in encoders) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not any(_alive(p) for p in encoders), "the encoder outlived kill -9 of proxx run"
    finally:
        for p in encoders:
            try:
                os.kill(p, signal.SIGKILL)
            except ProcessLookupError:
                pass
