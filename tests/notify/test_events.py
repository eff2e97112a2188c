"""proxx-notify on running-job events (``proxx_event``): a watcher killed with SIGKILL mid-clip is
announced as ``worker_lost`` by the watcher that recovers its job, and a clip that makes no progress
for the stall time as ``clip_stalled``, both to a real JSON webhook on loopback; a dead target is a
warning and changes nothing; kinds the node config does not list are not sent."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "watch"))

from test_notify import _config, _free_port  # noqa: E402

from proxx_core.contract.errors import ProxxError  # noqa: E402
from proxx_core.pipeline.pathmap import load_node_config  # noqa: E402
from watchhelp import FAST_ENV, drop, kill_pids, result_of, spec, start_watch, wait_for, watch_cmd  # noqa: E402

#: a stand-in ffmpeg that never reports progress for sources named hang-me (tests/ffmpeg WRAPPER)
HANG = """#!/bin/sh
case "$*" in
  *hang-me*) sleep 600 ;;
esac
exec "{real}" "$@"
"""


@pytest.fixture
def hanging_ffmpeg(tmp_path):
    from proxx_engine_ffmpeg.binary import inspect_binary

    path = tmp_path / "bin" / "ffmpeg"
    path.parent.mkdir()
    path.write_text(HANG.replace("{real}", inspect_binary().path))
    path.chmod(0o755)
    return {"PROXX_FFMPEG": str(path)}


def _events_config(tmp_path, targets, always, events) -> dict[str, str]:
    env = _config(tmp_path, targets, always=always)
    path = Path(env["PROXX_CONFIG"])
    text = path.read_text("utf-8").replace("[notify]\n", f"[notify]\nevents = {list(events)!r}\n".replace("'", '"'))
    path.write_text(text, "utf-8")
    return env


def _hanging_pids() -> list[int]:
    out = subprocess.run(["pgrep", "-f", "sleep 600"], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


def test_a_stalled_clip_and_a_killed_watcher_reach_the_webhook_and_a_dead_target_changes_nothing(
    tmp_path, media, hanging_ffmpeg, webhook
):
    url, received = webhook
    dead = f"json://127.0.0.1:{_free_port()}/nobody"
    env = {
        **_events_config(tmp_path, {"dead": dead, "ops": url}, ["dead", "ops"], ["worker_lost", "clip_stalled"]),
        **hanging_ffmpeg,
        "PROXX_LOAD_PLUGINS": "ffmpeg,notify",
        "PROXX_WATCH_STALL_SECONDS": "1",
    }
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    drop(w, "night.json", spec([media("hang-me.mov", size="64x36")], out, job_id="night-7"))
    before = set(_hanging_pids())
    watcher = start_watch(w, "--poll-seconds", "0.1", env=env)
    try:
        stalled = wait_for(lambda: [p for p in received if "clip_stalled" in p["message"]], 30, "clip_stalled")
        assert stalled[0]["title"] == "Proxx job night-7: clip stalled"
        assert "clip 1 (hang-me.mov) of job night-7 made no progress" in stalled[0]["message"]
        watcher.send_signal(signal.SIGKILL)  # mid-clip, no cleanup at all
        _, first_log = watcher.communicate(timeout=10)
        assert "proxx-notify: warning: target 'dead' (json://…) was not told that clip_stalled" in first_log
        assert "/nobody" not in first_log
        assert not any("worker_lost" in p["message"] for p in received)
        restart = subprocess.run(
            watch_cmd(w, "--once", "--poll-seconds", "0.1"),
            capture_output=True,
            text=True,
            timeout=60,
            env={**os.environ, **env, **FAST_ENV},
        )
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.communicate(timeout=10)
        kill_pids(set(_hanging_pids()) - before)
    assert restart.returncode == 0, restart.stderr
    lost = [p for p in received if p["message"].startswith("worker_lost")]
    assert len(lost) == 1, received
    assert lost[0]["title"] == "Proxx job night-7: worker lost"
    assert "worker_lost: job night-7" in lost[0]["message"] and "night.json" in lost[0]["message"]
    # the event is an observation: the recovered job is filed as interrupted, as without notify
    res = result_of(w / "failed" / "night.result.json")
    assert res["status"] == "FAILED" and res["clips"][0]["failure"]["category"] == "interrupted"
    assert "was not told that worker_lost" in restart.stderr


def test_kinds_the_node_config_does_not_list_are_not_sent(tmp_path, webhook, monkeypatch):
    from proxx_core.contract.events import CLIP_STALLED, WORKER_LOST, ProxxEvent
    from proxx_notify.plugin import proxx_event

    url, received = webhook
    monkeypatch.setenv("PROXX_CONFIG", _events_config(tmp_path, {"ops": url}, ["ops"], [WORKER_LOST])["PROXX_CONFIG"])
    proxx_event(ProxxEvent(kind=CLIP_STALLED, job_id="j", node="n", message="m", clip_index=1))
    assert received == []
    proxx_event(ProxxEvent(kind=WORKER_LOST, job_id="j", node="n", message="m"))
    assert len(received) == 1 and received[0]["title"] == "Proxx job j: worker lost"


def test_node_config_refuses_an_unknown_event_kind_naming_the_known_ones(tmp_path, monkeypatch):
    env = _events_config(tmp_path, {"ops": "json://127.0.0.1:9/x"}, ["ops"], ["worker_lost", "job_exploded"])
    monkeypatch.setenv("PROXX_CONFIG", env["PROXX_CONFIG"])
    with pytest.raises(ProxxError) as caught:
        load_node_config()
    assert "notify.events" in caught.value.message and "worker_lost, clip_stalled" in caught.value.message


def test_the_watcher_judges_a_stall_by_the_status_page_default():
    """Two readers of the same samples (the dashboard's flag, the watcher's event) say the same."""
    from proxx_core.watch.live import STALL_SECONDS
    from proxx_dashboard.settings import DEFAULT_STALL_SECONDS

    assert STALL_SECONDS == DEFAULT_STALL_SECONDS
