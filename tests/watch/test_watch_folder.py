"""Watch folder, in process: batches with invalid files, name clashes, settling, mixed fleets,
ownership and same-node recovery (fake owner folders)."""

from __future__ import annotations

import io
import json
import os
import shutil
import time
from pathlib import Path

import pytest

from proxx_core.watch import Watcher, is_candidate_name
from proxx_core.watch.log import quote as _quote
from proxx_core.watch.owner import Owner, judge, process_start_token
from watchhelp import dead_pid, drop, needs_proc, result_of, run_inprocess, spec


def layout(folder: Path) -> dict[str, list[str]]:
    return {d: sorted(os.listdir(folder / d)) for d in ("pending", "running", "completed", "failed")}


def test_batch_with_invalid_files(tmp_path, media, ffmpeg_engines):
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    w.mkdir()
    src = media / "tiny.mov"
    copy = tmp_path / "second.mov"
    shutil.copy(src, copy)
    drop(w, "01_good.json", spec([src], out))
    drop(w, "02_bad_json.json", '{"jobspec_version": "1.0.0", ')
    drop(w, "03_schema.json", spec([src], out, colour="red"))
    drop(w, "04_missing_source.json", spec([tmp_path / "nowhere.mov"], out))
    drop(w, "05_good.json", spec([copy], out, output_name_template="{source_name}_{index}"))
    drop(w, "06_array.json", "[1, 2]")
    # never candidates
    (w / "pending" / ".hidden.json").write_text("{}")
    (w / "pending" / "old.result.json").write_text("{}")
    (w / "pending" / "notes.txt").write_text("hello")

    rc, log = run_inprocess(w, engines=ffmpeg_engines)

    assert rc == 0, log
    state = layout(w)
    assert state["pending"] == [".hidden.json", "notes.txt", "old.result.json"]
    assert state["running"] == []
    assert state["completed"] == ["01_good.json", "01_good.result.json", "05_good.json", "05_good.result.json"]
    assert state["failed"] == [
        "02_bad_json.json",
        "02_bad_json.result.json",
        "03_schema.json",
        "03_schema.result.json",
        "04_missing_source.json",
        "04_missing_source.result.json",
        "06_array.json",
        "06_array.result.json",
    ]
    for name in ("01_good", "05_good"):
        res = result_of(w / "completed" / f"{name}.result.json")
        assert res["status"] == "COMPLETED" and res["exit_code"] == 0
        assert os.path.getsize(res["clips"][0]["output"]["path"]) == res["clips"][0]["output"]["size"]
        assert res["timing"]["watch"]["spec_name"] == f"{name}.json"
    assert sorted(os.listdir(out)) == ["second_001.mov", "tiny_proxy.mov"]

    def why(name):
        res = result_of(w / "failed" / f"{name}.result.json")
        assert res["status"] == "FAILED" and res["exit_code"] == 1 and res["clips"] == []
        return " | ".join(f"{p['path']}: {p['message']}" for p in res["problems"])

    assert "not valid JSON" in why("02_bad_json")
    assert "colour" in why("03_schema")
    assert "/sources/0" in why("04_missing_source") and "nowhere.mov" in why("04_missing_source")
    assert "JSON object" in why("06_array")
    # one greppable line per state change
    for name in ("01_good.json", "05_good.json", "02_bad_json.json"):
        assert log.count(f"event=claimed job={name} ") == 1
        assert log.count(f"event=finished job={name} ") == 1
    assert "event=refused job=03_schema.json" in log


def test_name_clash_never_overwrites_an_earlier_result(tmp_path, media, ffmpeg_engines):
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    for d in ("completed", "failed"):
        (w / d).mkdir(parents=True)
    (w / "completed" / "job.json").write_text("earlier spec")
    (w / "completed" / "job.result.json").write_text("earlier result")
    (w / "failed" / "bad.result.json").write_text("earlier failure")  # a result without its spec
    drop(w, "job.json", spec([media / "tiny.mov"], out))
    drop(w, "bad.json", "nope")

    rc, log = run_inprocess(w, engines=ffmpeg_engines)

    assert rc == 0, log
    assert (w / "completed" / "job.json").read_text() == "earlier spec"
    assert (w / "completed" / "job.result.json").read_text() == "earlier result"
    assert (w / "failed" / "bad.result.json").read_text() == "earlier failure"
    assert result_of(w / "completed" / "job.2.result.json")["status"] == "COMPLETED"
    assert json.loads((w / "completed" / "job.2.json").read_text())["sources"] == [str(media / "tiny.mov")]
    assert result_of(w / "failed" / "bad.2.result.json")["status"] == "FAILED"
    assert (w / "failed" / "bad.2.json").read_text() == "nope"


def test_file_still_being_written_is_not_claimed(tmp_path, media, ffmpeg_engines):
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    w.mkdir()
    watcher = Watcher(
        w, ffmpeg_engines, poll_seconds=0.05, stable_seconds=0.1, invalid_grace_seconds=60, stream=io.StringIO()
    )
    watcher.prepare()
    from concurrent.futures import ThreadPoolExecutor

    watcher._pool = ThreadPoolExecutor(1)
    try:
        path = w / "pending" / "slowly.json"
        text = json.dumps(spec([media / "tiny.mov"], out))
        half = len(text) // 2
        path.write_text(text[:half])
        for _ in range(5):  # unchanged but not JSON, grace not over: waits
            assert watcher.scan() is True
            time.sleep(0.05)
        assert path.exists()
        with open(path, "a") as fh:  # still growing: the clock restarts
            fh.write(text[half:])
        assert watcher.scan() is True and path.exists()
        time.sleep(0.15)
        assert watcher.scan() is False
        assert not path.exists()  # claimed now
    finally:
        watcher._pool.shutdown(wait=True)
        watcher.release()
    assert "event=waiting job=slowly.json" in watcher.log.stream.getvalue()
    assert (w / "completed" / "slowly.result.json").exists()


def test_mixed_fleet_leaves_jobs_it_cannot_route(tmp_path, media, ffmpeg_engines):
    out = tmp_path / "out"
    out.mkdir()
    raw = tmp_path / "A001_C001.braw"
    raw.write_bytes(os.urandom(4096))
    w = tmp_path / "w"
    w.mkdir()
    drop(w, "a_raw.json", spec([raw], out))
    drop(w, "b_mov.json", spec([media / "tiny.mov"], out))
    drop(w, "c_mixed.json", spec([media / "tiny.mov", raw], out, output_name_template="{source_name}_{index}"))

    rc, log = run_inprocess(w, engines=ffmpeg_engines)

    assert rc == 0
    assert layout(w)["pending"] == ["a_raw.json", "c_mixed.json"]
    assert layout(w)["completed"] == ["b_mov.json", "b_mov.result.json"]
    assert layout(w)["failed"] == []
    # said why, once per job, naming what to install
    assert log.count("event=left job=a_raw.json") == 1
    assert log.count("event=left job=c_mixed.json") == 1
    assert "proxx-engine-resolve" in log
    assert not os.path.exists(out / "tiny_1.mov")


def _fake_owner(w: Path, dirname: str, owner: dict, jobs: dict[str, dict | str]) -> Path:
    """A (dead) watcher's folder under running/, made whole beside the watch folder and renamed into
    place: a watcher already running may recover it the moment it appears, never half-written."""
    staging = w.parent / f".staging-{dirname}"
    staging.mkdir()
    if owner is not None:
        (staging / "owner.json").write_text(json.dumps(owner))
    for name, content in jobs.items():
        (staging / name).write_text(content if isinstance(content, str) else json.dumps(content))
    (w / "running").mkdir(parents=True, exist_ok=True)
    folder = w / "running" / dirname
    os.rename(staging, folder)
    return folder


@needs_proc
def test_recovery_touches_only_dead_processes_of_this_node(tmp_path, media, ffmpeg_engines):
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    me = Owner.current()
    job = spec([media / "tiny.mov"], out)
    dead = str(dead_pid())
    base = {"node": me.node, "boot_id": me.boot_id, "instance": "feedbeef", "started_at": "2026-01-01T00:00:00Z"}
    foreign = _fake_owner(
        w,
        "render02.4242.aaaa",
        {**base, "node": "render02", "pid": os.getpid(), "start_token": "linux:1", "boot_id": "other"},
        {"foreign.json": job},
    )
    live = _fake_owner(
        w,
        f"{me.node}.{os.getpid()}.bbbb",
        {**base, "pid": os.getpid(), "start_token": process_start_token(os.getpid())},
        {"live.json": job},
    )
    unowned = _fake_owner(w, "mystery", None, {"mystery.json": job})
    _fake_owner(
        w,
        f"{me.node}.{dead}.cccc",
        {**base, "pid": int(dead), "start_token": "linux:5"},
        {"crashed.json": job, "crashed_bad.json": "{not json"},
    )
    _fake_owner(
        w, f"{me.node}.{os.getpid()}.dddd", {**base, "pid": os.getpid(), "start_token": "linux:1"}, {"reused.json": job}
    )

    rc, log = run_inprocess(w, engines=ffmpeg_engines)

    assert rc == 0
    assert sorted(os.listdir(w / "running")) == sorted([foreign.name, live.name, unowned.name])
    assert sorted(os.listdir(foreign)) == ["foreign.json", "owner.json"]
    assert sorted(os.listdir(live)) == ["live.json", "owner.json"]
    assert sorted(os.listdir(unowned)) == ["mystery.json"]
    assert layout(w)["failed"] == [
        "crashed.json",
        "crashed.result.json",
        "crashed_bad.json",
        "crashed_bad.result.json",
        "reused.json",
        "reused.result.json",
    ]
    assert layout(w)["completed"] == []
    res = result_of(w / "failed" / "crashed.result.json")
    assert res["status"] == "FAILED" and res["exit_code"] == 2
    assert [c["failure"]["category"] for c in res["clips"]] == ["interrupted"]
    assert f"process {dead} on node {me.node} is no longer running" in res["clips"][0]["failure"]["message"]
    assert res["clips"][0]["source"]["path"] == str(media / "tiny.mov")
    assert res["clips"][0]["output"]["path"] == str(out / "tiny_proxy.mov")
    assert res["jobspec"] == job and res["job_id"].startswith("job-")
    assert res["timing"]["watch"]["owner"]["pid"] == int(dead)
    reused = result_of(w / "failed" / "reused.result.json")
    assert "now belongs to another process" in reused["clips"][0]["failure"]["message"]
    bad = result_of(w / "failed" / "crashed_bad.result.json")
    assert bad["clips"] == [] and bad["problems"][0]["category"] == "interrupted"
    assert "event=left_running" in log and "render02" in log
    assert log.count("event=recovered ") == 3
    assert not os.listdir(out)  # nothing re-run


def test_recovery_finishes_a_move_interrupted_after_the_result_was_written(tmp_path, media, ffmpeg_engines):
    w = tmp_path / "w"
    me = Owner.current()
    dirname = f"{me.node}.999999999.eeee"
    claim = f"{dirname}/done.json"
    _fake_owner(
        w,
        dirname,
        {"node": me.node, "pid": 999999999, "start_token": "linux:5", "boot_id": me.boot_id, "instance": "eeee"},
        {
            "done.json": spec([media / "tiny.mov"], tmp_path),
            "done.json.finishing": {
                "claim": claim,
                "destination": "completed",
                "result": "completed/done.result.json",
                "spec_name": "done.json",
            },
        },
    )
    (w / "completed").mkdir()
    (w / "completed" / "done.result.json").write_text(
        json.dumps({"status": "COMPLETED", "timing": {"watch": {"claim": claim}}})
    )
    rc, log = run_inprocess(w, engines=ffmpeg_engines)
    assert rc == 0
    assert layout(w)["completed"] == ["done.json", "done.result.json"]
    assert layout(w)["failed"] == [] and layout(w)["running"] == []


def test_fatal_folder_problems_exit_1(tmp_path, ffmpeg_engines, capsys):
    from proxx_cli.watch_cli import watch_main

    assert watch_main(tmp_path / "missing", once=True, engines=ffmpeg_engines, install_signal_handlers=False) == 1
    assert "does not exist" in capsys.readouterr().err
    f = tmp_path / "file"
    f.write_text("x")
    assert watch_main(f, once=True, engines=ffmpeg_engines, install_signal_handlers=False) == 1
    assert "not a directory" in capsys.readouterr().err
    w = tmp_path / "w"
    w.mkdir()
    (w / "running").write_text("oops")
    assert watch_main(w, once=True, engines=ffmpeg_engines, install_signal_handlers=False) == 1
    assert "running exists but is not a directory" in capsys.readouterr().err
    if os.geteuid() != 0:  # root ignores permissions
        ro = tmp_path / "ro"
        ro.mkdir()
        ro.chmod(0o555)
        try:
            assert watch_main(ro, once=True, engines=ffmpeg_engines, install_signal_handlers=False) == 1
        finally:
            ro.chmod(0o755)


def test_empty_once_exits_0_and_creates_layout(tmp_path, ffmpeg_engines):
    rc, log = run_inprocess(tmp_path, engines=ffmpeg_engines)
    assert rc == 0
    assert layout(tmp_path) == {"pending": [], "running": [], "completed": [], "failed": []}
    assert "event=watching" in log and "event=stopped" in log


@pytest.mark.parametrize(
    "name, ok",
    [
        ("a.json", True),
        ("A b.json", True),
        ("x.result.json", False),
        (".x.json", False),
        ("~x.json", False),
        ("x.json.tmp", False),
        ("x.JSON", False),
        (".json", False),
    ],
)
def test_candidate_names(name, ok):
    assert is_candidate_name(name) is ok


def test_log_values_are_quoted_when_needed():
    assert _quote("plain-value_1.json") == "plain-value_1.json"
    assert _quote("has space") == '"has space"'
    assert _quote('a="b"') == '"a=\\"b\\""'
    assert _quote("") == '""'


def test_other_node_is_never_judged_dead():
    me = Owner.current()
    other = Owner(node=me.node + "-other", pid=1, start_token=None, boot_id=None, instance="x")
    assert judge(other, me).state == "foreign"


def test_once_keeps_going_while_jobs_wait_for_a_free_slot(tmp_path, media, ffmpeg_engines):
    """Regression: with every slot busy, a claimable file must still count as work left for --once."""
    from concurrent.futures import Future

    w = tmp_path / "w"
    w.mkdir()
    watcher = Watcher(w, ffmpeg_engines, once=True, poll_seconds=0.05, stable_seconds=0.0, stream=io.StringIO())
    watcher.prepare()
    try:
        drop(w, "next.json", spec([media / "tiny.mov"], tmp_path))
        watcher._active["busy.json"] = Future()  # a job still finishing
        assert watcher.scan() is True  # first sight
        assert watcher.scan() is True  # stable, but no free slot: still work left
        assert (w / "pending" / "next.json").exists()
    finally:
        watcher._active.clear()
        watcher.release()


def test_owner_folder_removed_under_a_running_watcher_is_registered_again(tmp_path, media, ffmpeg_engines):
    w = tmp_path / "w"
    w.mkdir()
    watcher = Watcher(w, ffmpeg_engines, poll_seconds=0.05, stable_seconds=0.0, stream=io.StringIO())
    watcher.prepare()
    shutil.rmtree(watcher.owner_dir)
    drop(w, "x.json", "{}")
    assert watcher._claim("x.json") is None
    assert (watcher.owner_dir / "owner.json").is_file()
    assert (w / "pending" / "x.json").exists()
    assert watcher._claim("x.json") is not None
    assert "disappeared" in watcher.log.stream.getvalue()


def test_an_unexpected_error_files_the_job_as_failed(tmp_path, media, ffmpeg_engines, monkeypatch):
    import proxx_core.watch.watcher as watch

    def boom(*args, **kwargs):
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(watch, "run_job", boom)
    w = tmp_path / "w"
    w.mkdir()
    drop(w, "j.json", spec([media / "tiny.mov"], tmp_path))
    rc, log = run_inprocess(w, engines=ffmpeg_engines)
    assert rc == 0
    res = result_of(w / "failed" / "j.result.json")
    assert res["status"] == "FAILED" and res["exit_code"] == 4
    assert "disk on fire" in res["problems"][0]["message"]
    assert os.listdir(w / "running") == []


@needs_proc
def test_concurrent_recovery_files_each_dead_job_exactly_once(tmp_path, media, ffmpeg_engines):
    """Several watchers of one node starting together race for a dead sibling's jobs: each job is
    adopted by exactly one of them (rename decides) and gets exactly one result."""
    import threading

    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    me = Owner.current()
    dead = str(dead_pid())
    base = {"node": me.node, "boot_id": me.boot_id, "instance": "feedbeef", "started_at": "2026-01-01T00:00:00Z"}
    jobs = {f"job{i:02d}.json": spec([media / "tiny.mov"], out) for i in range(12)}
    _fake_owner(w, f"{me.node}.{dead}.cccc", {**base, "pid": int(dead), "start_token": "linux:5"}, jobs)
    for sub in ("pending", "completed", "failed"):
        (w / sub).mkdir(exist_ok=True)
    watchers = [
        Watcher(
            w,
            ffmpeg_engines,
            once=True,
            poll_seconds=0.05,
            stable_seconds=0.0,
            invalid_grace_seconds=0.0,
            stream=io.StringIO(),
        )
        for _ in range(4)
    ]
    for watcher in watchers:
        watcher.prepare()
    errors = []

    def recover(watcher):
        try:
            watcher.recover()
        except BaseException as exc:  # noqa: BLE001 - any escape is a test failure
            errors.append(exc)

    threads = [threading.Thread(target=recover, args=(watcher,)) for watcher in watchers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    for watcher in watchers:
        watcher.release()
    assert errors == []
    failed = layout(w)["failed"]
    assert failed == sorted([*jobs, *(n.replace(".json", ".result.json") for n in jobs)])
    assert os.listdir(w / "running") == []


@needs_proc
def test_running_watcher_recovers_a_sibling_that_dies_later(tmp_path, media, ffmpeg_engines, monkeypatch):
    import signal
    import threading

    from proxx_core.watch import recovery as watchmod

    monkeypatch.setattr(watchmod, "RECOVERY_INTERVAL_SECONDS", 0.1)
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    w.mkdir()
    watcher = Watcher(
        w,
        ffmpeg_engines,
        once=False,
        poll_seconds=0.05,
        stable_seconds=0.0,
        invalid_grace_seconds=0.0,
        stream=io.StringIO(),
    )
    thread = threading.Thread(target=watcher.run)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not (w / "failed").is_dir():
            assert time.monotonic() < deadline
            time.sleep(0.02)
        me = Owner.current()
        dead = str(dead_pid())
        _fake_owner(
            w,
            f"{me.node}.{dead}.eeee",
            {
                "node": me.node,
                "boot_id": me.boot_id,
                "instance": "abc",
                "started_at": "2026-01-01T00:00:00Z",
                "pid": int(dead),
                "start_token": "linux:5",
            },
            {"late.json": spec([media / "tiny.mov"], out)},
        )
        while "late.result.json" not in os.listdir(w / "failed"):
            assert time.monotonic() < deadline, "the dead sibling's job was not recovered"
            time.sleep(0.05)
    finally:
        watcher.request_stop(signal.SIGTERM.name)
        thread.join(timeout=20)
    assert result_of(w / "failed" / "late.result.json")["clips"][0]["failure"]["category"] == "interrupted"
