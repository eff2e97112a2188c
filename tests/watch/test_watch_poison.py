"""Poison files, in process: one bad file never stops a watcher (on start or restart), never cycles
between running/ and recovery, and is always filed with its reason."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from proxx_core.watch.owner import CHILDREN_FILE, PROGRESS_FILE, Owner, process_start_token
from watchhelp import dead_pid, drop, needs_proc, result_of, run_inprocess, spec

LONG_NAME = "L" * 225 + ".json"  # <stem>.result.json and the .finishing marker's temp name exceed NAME_MAX
BAD_UTF8_NAME = b"caf\xe9-\xff.json"  # Latin-1, not UTF-8


def deep_array(depth: int) -> str:
    return "[" * depth + "]" * depth


def deep_metadata(depth: int) -> dict:
    doc: dict = {}
    for _ in range(depth):
        doc = {"m": doc}
    return doc


def poison_texts(good: dict) -> dict[str, tuple[str, str]]:
    """name -> (file text, a word the filed result must contain)."""
    base = json.dumps(good)[:-1]
    return {
        "p_deep.json": (deep_array(1000), "levels deep"),
        "p_bigint.json": (base + ', "user_metadata": {"n": ' + "7" * 5000 + "}}", "64-bit"),
        "p_surrogate.json": (base + ', "user_metadata": {"s": "\\ud800"}}', "surrogate"),
        "p_deepmeta.json": (json.dumps({**good, "user_metadata": deep_metadata(400)}), "levels deep"),
        "p_nan.json": (base + ', "user_metadata": {"x": NaN}}', "finite"),
        "p_dupe.json": (base + ', "overwrite": false, "overwrite": true}', "duplicate"),
    }


def layout(folder: Path) -> dict[str, list]:
    return {d: sorted(os.listdir(os.fsencode(folder / d))) for d in ("pending", "running", "completed", "failed")}


def assert_badname_filed(w: Path, original: bytes, why: str) -> None:
    failed = sorted(os.listdir(w / "failed"))
    reasons = [n for n in failed if n.startswith("badname-") and n.endswith(".reason.txt")]
    hits = []
    for r in reasons:
        text = (w / "failed" / r).read_text(encoding="utf-8")
        if repr(os.fsdecode(original)) in text or original.decode("utf-8", "backslashreplace") in text:
            hits.append((r, text))
    assert len(hits) == 1, (failed, [(r, (w / "failed" / r).read_text()) for r in reasons])
    reason_name, text = hits[0]
    assert why in text
    spec_name = reason_name[: -len(".reason.txt")] + ".json"
    assert spec_name in failed


def test_poison_specs_are_filed_with_their_reason_and_the_watcher_carries_on(tmp_path, media, ffmpeg_engines):
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    good = spec([media / "tiny.mov"], out, output_name_template="{job_id}", job_id="good1")
    for name, (text, _) in poison_texts(spec([media / "tiny.mov"], out)).items():
        drop(w, name, text)
    drop(w, "z_good.json", good)

    rc, log = run_inprocess(w, engines=ffmpeg_engines)

    assert rc == 0, log
    assert layout(w)["completed"] == [b"z_good.json", b"z_good.result.json"]
    assert layout(w)["pending"] == [] and layout(w)["running"] == []
    for name, (_, word) in poison_texts(good).items():
        res = result_of(w / "failed" / name.replace(".json", ".result.json"))
        assert res["status"] == "FAILED" and res["exit_code"] == 1
        assert any(word in p["message"] for p in res["problems"]), (name, res["problems"])
        assert (w / "failed" / name).exists()


def test_bad_file_names_are_set_aside_with_a_plain_text_reason(tmp_path, media, ffmpeg_engines):
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    drop(w, LONG_NAME, spec([media / "tiny.mov"], out, output_name_template="long"))
    pending = os.fsencode(w / "pending")
    with open(os.path.join(pending, BAD_UTF8_NAME), "w") as fh:
        json.dump(spec([media / "tiny.mov"], out, output_name_template="latin"), fh)
    drop(w, "ok.json", spec([media / "tiny.mov"], out))

    rc, log = run_inprocess(w, engines=ffmpeg_engines)

    assert rc == 0, log
    assert layout(w)["pending"] == [] and layout(w)["running"] == []
    assert layout(w)["completed"] == [b"ok.json", b"ok.result.json"]
    assert_badname_filed(w, LONG_NAME.encode(), "bytes long")
    assert_badname_filed(w, BAD_UTF8_NAME, "not UTF-8")
    assert not (out / "long.mov").exists() and not (out / "latin.mov").exists()  # never run
    assert "event=set_aside" in log


@needs_proc
def test_poison_left_in_running_by_a_dead_watcher_is_filed_on_restart(tmp_path, media, ffmpeg_engines):
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    me = Owner.current()
    dead = dead_pid()
    folder = w / "running" / f"{me.node}.{dead}.abcd"
    folder.mkdir(parents=True)
    (folder / "owner.json").write_text(
        json.dumps({"node": me.node, "pid": dead, "start_token": "linux:5", "boot_id": me.boot_id, "instance": "abcd"})
    )
    good = spec([media / "tiny.mov"], out)
    for name, (text, _) in poison_texts(good).items():
        (folder / name).write_text(text, encoding="utf-8")
    (folder / LONG_NAME).write_text(json.dumps(good))
    with open(os.path.join(os.fsencode(folder), BAD_UTF8_NAME), "w") as fh:
        json.dump(good, fh)

    for _ in range(2):  # and a second start finds nothing left to do
        rc, log = run_inprocess(w, engines=ffmpeg_engines)
        assert rc == 0, log
        assert layout(w)["running"] == [], log
    for name in poison_texts(good):
        res = result_of(w / "failed" / name.replace(".json", ".result.json"))
        assert res["status"] == "FAILED"
    assert_badname_filed(w, LONG_NAME.encode(), "bytes long")
    assert_badname_filed(w, BAD_UTF8_NAME, "not UTF-8")
    assert not os.listdir(out)


def test_a_result_that_cannot_be_written_in_full_is_written_bare(tmp_path, media, ffmpeg_engines, monkeypatch):
    import proxx_core.watch.protocol as watch

    real = watch.dumps

    def fragile(result):
        if result.jobspec is not None or result.clips:
            raise RecursionError("maximum recursion depth exceeded while encoding a JSON object")
        return real(result)

    monkeypatch.setattr(watch, "dumps", fragile)
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    drop(w, "j.json", spec([media / "tiny.mov"], out))
    rc, log = run_inprocess(w, engines=ffmpeg_engines)
    assert rc == 0, log
    res = result_of(w / "failed" / "j.result.json")
    assert res["status"] == "FAILED" and res["clips"] == [] and res["jobspec"] is None
    assert "RecursionError" in res["problems"][-1]["message"]
    assert layout(w)["running"] == []


def test_when_no_result_can_be_written_the_job_is_set_aside(tmp_path, media, ffmpeg_engines, monkeypatch):
    import proxx_core.watch.protocol as watch

    def broken(result):
        raise ValueError("cannot serialise")

    monkeypatch.setattr(watch, "dumps", broken)
    w = tmp_path / "w"
    drop(w, "j.json", spec([media / "tiny.mov"], tmp_path / "nowhere"))
    rc, log = run_inprocess(w, engines=ffmpeg_engines)
    assert rc == 0, log
    failed = sorted(os.listdir(w / "failed"))
    assert failed == ["j.json", "j.reason.txt"], failed
    assert "cannot serialise" in (w / "failed" / "j.reason.txt").read_text()
    assert layout(w)["running"] == []


def test_an_exception_in_the_pre_check_files_the_job_and_the_watcher_goes_on(
    tmp_path, media, ffmpeg_engines, monkeypatch
):
    import proxx_core.watch.watcher as watch

    real = watch.check_spec

    def flaky(raw, path, engines, path_map=None):
        if Path(path).name == "a_boom.json":
            raise RecursionError("maximum recursion depth exceeded")
        return real(raw, path, engines, path_map)

    monkeypatch.setattr(watch, "check_spec", flaky)
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    drop(w, "a_boom.json", spec([media / "tiny.mov"], out, output_name_template="boom"))
    drop(w, "b_ok.json", spec([media / "tiny.mov"], out))
    rc, log = run_inprocess(w, engines=ffmpeg_engines)
    assert rc == 0, log
    res = result_of(w / "failed" / "a_boom.result.json")
    assert res["problems"][0]["category"] == "io_error" and "RecursionError" in res["problems"][0]["message"]
    assert layout(w)["completed"] == [b"b_ok.json", b"b_ok.result.json"]
    assert "Traceback" in log  # the operator (or a developer) can see where it broke


# ------------------------------------------------------------------ owner folders without owner.json


@needs_proc
def test_owner_folder_without_owner_json_is_cleaned_up_or_adopted(tmp_path, media, ffmpeg_engines):
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    me = Owner.current()
    dead = dead_pid()
    empty = w / "running" / f"{me.node}.{dead}.aaaa"
    empty.mkdir(parents=True)
    empty_foreign = w / "running" / "render09.77.bbbb"
    empty_foreign.mkdir()
    with_job = w / "running" / f"{me.node}.{dead}.cccc"
    with_job.mkdir()
    (with_job / "orphan.json").write_text(json.dumps(spec([media / "tiny.mov"], out)))
    live = w / "running" / f"{me.node}.{os.getpid()}.dddd"  # a live pid on this node: never taken
    live.mkdir()
    (live / "live.json").write_text("{}")

    rc, log = run_inprocess(w, engines=ffmpeg_engines)

    assert rc == 0, log
    assert sorted(os.listdir(w / "running")) == [live.name]
    assert sorted(os.listdir(w / "failed")) == ["orphan.json", "orphan.result.json"]
    res = result_of(w / "failed" / "orphan.result.json")
    assert [c["failure"]["category"] for c in res["clips"]] == ["interrupted"]
    assert "no owner.json" in res["clips"][0]["failure"]["message"]
    rc, log2 = run_inprocess(w, engines=ffmpeg_engines)
    assert rc == 0
    assert log2.count(live.name) <= 1


# ------------------------------------------------------------------ encoder process groups


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)


def _gone(proc: subprocess.Popen, timeout: float = 2.0) -> bool:
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        return False
    return True


@needs_proc
def test_recovery_kills_a_dead_owners_encoder_groups_before_filing(tmp_path, media, ffmpeg_engines):
    w = tmp_path / "w"
    me = Owner.current()
    dead = dead_pid()
    encoder, impostor = _sleeper(), _sleeper()
    try:
        folder = w / "running" / f"{me.node}.{dead}.ffff"
        folder.mkdir(parents=True)
        (folder / "owner.json").write_text(
            json.dumps(
                {"node": me.node, "pid": dead, "start_token": "linux:5", "boot_id": me.boot_id, "instance": "ffff"}
            )
        )
        (folder / "j.json").write_text(json.dumps(spec([media / "tiny.mov"], tmp_path)))
        (folder / CHILDREN_FILE).write_text(
            json.dumps(
                {
                    "children": [
                        {"pid": encoder.pid, "pgid": encoder.pid, "start_token": process_start_token(encoder.pid)},
                        # pid reused by an unrelated process since it was recorded: must be left alone
                        {"pid": impostor.pid, "pgid": impostor.pid, "start_token": "linux:1"},
                    ]
                }
            )
        )
        t0 = time.monotonic()
        rc, log = run_inprocess(w, engines=ffmpeg_engines)
        assert rc == 0, log
        assert _gone(encoder), "the dead owner's encoder is still running"
        assert time.monotonic() - t0 < 10
        assert impostor.poll() is None, "a process that merely reuses a recorded pid was killed"
        assert sorted(os.listdir(w / "failed")) == ["j.json", "j.result.json"]
        assert "event=killed" in log
    finally:
        for p in (encoder, impostor):
            p.kill()
            p.wait()


def test_run_command_registers_live_children_while_they_run(tmp_path):
    import threading

    from proxx_core.contract.engine import Command
    from proxx_core.support.process import live_children, run_command

    seen: list[set[int]] = []
    changes = threading.Event()

    def listener(pids):
        seen.append(set(pids))
        changes.set()

    from proxx_core.support import process

    process.subscribe_children(listener)
    try:
        cmd = Command(argv=(sys.executable, "-c", "import time; time.sleep(0.3)"), purpose="sleep", timeout_seconds=10)
        run_command(cmd)
    finally:
        process.unsubscribe_children(listener)
    assert len(seen) == 2 and len(seen[0]) == 1 and seen[1] == set()
    assert live_children() == ()


# ------------------------------------------------------------------ three real watcher processes


def test_three_watchers_file_every_poison_and_complete_every_good_job(tmp_path, media):
    from watchhelp import start_watch

    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    goods = [f"good{i}.json" for i in range(4)]
    poisons = poison_texts(spec([media / "tiny.mov"], out))
    for name, (text, _) in poisons.items():
        drop(w, name, text)
    for i, name in enumerate(goods):
        drop(w, name, spec([media / "tiny.mov"], out, output_name_template="{job_id}", job_id=f"g{i}"))
    drop(w, LONG_NAME, spec([media / "tiny.mov"], out, output_name_template="long"))
    with open(os.path.join(os.fsencode(w / "pending"), BAD_UTF8_NAME), "w") as fh:
        json.dump(spec([media / "tiny.mov"], out, output_name_template="latin"), fh)

    procs = [start_watch(w, "--poll-seconds", "0.1") for _ in range(3)]
    try:

        def settled():
            return not os.listdir(w / "pending") and not [
                n
                for d in os.listdir(w / "running")
                for n in os.listdir(w / "running" / d)
                if n not in ("owner.json", CHILDREN_FILE, PROGRESS_FILE)
            ]

        deadline = time.monotonic() + 90
        while time.monotonic() < deadline and not settled():
            assert all(p.poll() is None for p in procs), "a watcher exited"
            time.sleep(0.1)
        assert settled(), layout(w)
        assert all(p.poll() is None for p in procs), "a watcher exited"
    finally:
        logs = []
        for p in procs:
            p.terminate()
            logs.append(p.communicate(timeout=30)[1])
    assert [p.returncode for p in procs] == [0, 0, 0], logs
    assert "Traceback" not in "".join(logs)
    assert sorted(os.listdir(w / "completed")) == sorted(goods + [g.replace(".json", ".result.json") for g in goods])
    assert sorted(os.listdir(out)) == [f"g{i}.mov" for i in range(4)]
    for name, (_, word) in poisons.items():
        res = result_of(w / "failed" / name.replace(".json", ".result.json"))
        assert any(word in p["message"] for p in res["problems"]), (name, res["problems"])
    assert_badname_filed(w, LONG_NAME.encode(), "bytes long")
    assert_badname_filed(w, BAD_UTF8_NAME, "not UTF-8")
    both = "".join(logs)
    for name in [*goods, *poisons]:
        assert both.count(f"event=claimed job={name} ") == 1, name
