"""Watch folder as real `proxx watch` processes: two watchers on one folder, kill -9 and restart,
SIGTERM, a node without engines."""

from __future__ import annotations

import os
import shutil
import subprocess
import time

import pytest

from watchhelp import (
    FAST_ENV,
    children_running,
    drop,
    kill_pids,
    needs_proc,
    recorded_children,
    result_of,
    spec,
    start_watch,
    still_running,
    stop_with_sigterm,
    wait_for,
    watch_cmd,
)


def test_two_watchers_run_each_of_20_jobs_exactly_once(tmp_path, media):
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    names = [f"job{i:02d}.json" for i in range(20)]
    for i, name in enumerate(names):
        drop(w, name, spec([media / "tiny.mov"], out, job_id=f"j{i:02d}", output_name_template="{job_id}"))

    procs = [start_watch(w, "--once", "--poll-seconds", "0.1") for _ in range(2)]
    logs = []
    for p in procs:
        _, err = p.communicate(timeout=60)
        logs.append(err)
        assert p.returncode == 0, err

    assert sorted(os.listdir(w / "pending")) == []
    assert sorted(os.listdir(w / "running")) == []
    assert sorted(os.listdir(w / "failed")) == []
    done = sorted(os.listdir(w / "completed"))
    assert done == sorted(names + [n.replace(".json", ".result.json") for n in names])
    for i, name in enumerate(names):
        res = result_of(w / "completed" / name.replace(".json", ".result.json"))
        assert res["status"] == "COMPLETED" and res["job_id"] == f"j{i:02d}"
    assert sorted(os.listdir(out)) == [f"j{i:02d}.mov" for i in range(20)]
    # each job claimed and started exactly once across both processes
    both = "".join(logs)
    for name in names:
        assert both.count(f"event=claimed job={name} ") == 1, name
        assert both.count(f"event=started job={name} ") == 1, name
    print("claims per watcher:", [log.count("event=claimed ") for log in logs])


@pytest.mark.slow
@needs_proc
def test_kill_9_mid_job_then_restart_fails_it_as_interrupted(tmp_path, slow_source):
    out = tmp_path / "out"
    out.mkdir()
    second = tmp_path / "second.mov"
    shutil.copy(slow_source, second)
    w = tmp_path / "w"
    drop(w, "slow.json", spec([slow_source, second], out))

    watcher = start_watch(w, "--poll-seconds", "0.1")
    orphans = []
    try:
        claimed = wait_for(lambda: list((w / "running").glob("*/slow.json")), 20, "the job to be claimed")
        orphans = wait_for(lambda: children_running(watcher.pid, "proxx-partial"), 20, "ffmpeg to start")
        # the watcher records its encoder's process group in its owner folder, for recovery to kill
        wait_for(lambda: set(orphans) <= recorded_children(claimed[0].parent), 5, "the encoder to be recorded")
        time.sleep(0.3)
        watcher.kill()  # SIGKILL: no cleanup at all
        watcher.communicate(timeout=10)
        assert claimed[0].exists()
        final = [out / "slow_proxy.mov", out / "second_proxy.mov"]
        assert not any(p.exists() for p in final)

        restart = subprocess.run(
            watch_cmd(w, "--once", "--poll-seconds", "0.1"),
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, "PROXX_LOAD_PLUGINS": "ffmpeg", **FAST_ENV},
        )
        # the dead watcher's encoder does not outlive the recovery that files its job as interrupted
        assert not [pid for pid in orphans if still_running(pid)], restart.stderr
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.communicate(timeout=10)
        kill_pids(orphans)  # in case the test failed before recovery killed them
    assert restart.returncode == 0, restart.stderr
    assert os.listdir(w / "running") == []
    assert sorted(os.listdir(w / "failed")) == ["slow.json", "slow.result.json"]
    res = result_of(w / "failed" / "slow.result.json")
    assert res["status"] == "FAILED"
    assert [c["failure"]["category"] for c in res["clips"]] == ["interrupted", "interrupted"]
    assert f"process {watcher.pid} " in res["clips"][0]["failure"]["message"]
    assert "no longer running" in res["clips"][0]["failure"]["message"]
    assert res["clips"][0]["output"]["kept_temp_path"].endswith(".slow_proxy.mov.proxx-partial")
    assert not any(p.exists() for p in final)  # nothing re-run, nothing under a final name
    assert "event=recovered job=slow.json" in restart.stderr


@pytest.mark.slow
def test_sigterm_interrupts_running_job_and_exits_0_promptly(tmp_path, media, slow_source):
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    w.mkdir()
    # filesystem events (no --poll-seconds)
    watcher = start_watch(w, "--max-workers", "2")
    try:
        wait_for(lambda: (w / "pending").is_dir() and (w / "running").is_dir(), 20, "the layout")
        time.sleep(0.3)
        drop(w, "quick.json", spec([media / "tiny.mov"], out))
        wait_for(lambda: (w / "completed" / "quick.result.json").exists(), 20, "the quick job via events")
        drop(w, "slow.json", spec([slow_source], out))
        wait_for(lambda: children_running(watcher.pid, "proxx-partial"), 20, "ffmpeg to start")
        err, elapsed = stop_with_sigterm(watcher, 15)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.communicate(timeout=10)
    assert watcher.returncode == 0, err
    assert elapsed < 5, elapsed
    assert "event=stopping" in err and "signal=SIGTERM" in err and "event=stopped" in err
    assert "mode=events" in err
    res = result_of(w / "failed" / "slow.result.json")
    assert res["status"] == "FAILED"
    assert res["clips"][0]["failure"]["category"] == "interrupted"
    assert (w / "failed" / "slow.json").exists()
    assert os.listdir(w / "running") == []
    assert sorted(os.listdir(out)) == ["tiny_proxy.mov"]  # the interrupted clip left no file at all
    assert result_of(w / "completed" / "quick.result.json")["status"] == "COMPLETED"


def test_node_without_engines_leaves_jobs_pending_and_once_exits_0(tmp_path, media):
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    drop(w, "a.json", spec([media / "tiny.mov"], out))
    drop(w, "b.json", spec([media / "tiny.mov"], out, job_id="b"))
    run = subprocess.run(
        watch_cmd(w, "--once", "--poll-seconds", "0.05"),
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PROXX_LOAD_PLUGINS": "", **FAST_ENV},
    )
    assert run.returncode == 0, run.stderr
    assert sorted(os.listdir(w / "pending")) == ["a.json", "b.json"]
    assert os.listdir(w / "failed") == [] and os.listdir(w / "completed") == [] and os.listdir(w / "running") == []
    assert run.stderr.count("event=left job=a.json") == 1
    assert run.stderr.count("event=left job=b.json") == 1
    assert "proxx-engine-ffmpeg" in run.stderr and "engines=none" in run.stderr


def test_missing_folder_is_fatal(tmp_path):
    run = subprocess.run(watch_cmd(tmp_path / "nope", "--once"), capture_output=True, text=True, timeout=60)
    assert run.returncode == 1
    assert "does not exist" in run.stderr
