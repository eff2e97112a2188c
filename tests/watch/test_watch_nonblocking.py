"""A watch folder stays responsive whatever its jobs hold: jobs naming a FIFO, a directory, /dev/zero or
a NUL byte among good jobs are each filed with their reason while every good job completes, and the
watcher stops on SIGTERM within 2 s; a job blocked for ever (in its run, or in the loop's own
pre-check) cannot keep a stopped watcher's process alive."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

import pytest

from proxx_cli.watch_cli import HARD_EXIT_MARGIN_SECONDS
from proxx_core.watch.jobthreads import STOP_GRACE_SECONDS
from watchhelp import FAST_ENV, drop, result_of, spec, start_watch, stop_with_sigterm, wait_for


@pytest.fixture
def specials():
    root = Path(tempfile.mkdtemp(prefix="pxwb", dir="/tmp"))
    os.mkfifo(root / "fifo.mov")
    os.mkfifo(root / "grade.cube")
    (root / "dir.mov").mkdir()
    yield root
    shutil.rmtree(root, ignore_errors=True)


def test_bad_jobs_among_good_ones_are_filed_and_sigterm_ends_the_watcher_within_2s(tmp_path, media, specials):
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    w.mkdir()
    tiny = media / "tiny.mov"
    bad = {
        "b_fifo.json": (spec([tiny, specials / "fifo.mov"], out), "FIFO"),
        "b_fifo_and_schema.json": (spec(["", specials / "fifo.mov"], out), "FIFO"),
        "b_zero.json": (spec(["/dev/zero"], out), "character device"),
        "b_dir.json": (spec([specials / "dir.mov"], out), "directory"),
        "b_lut.json": (spec([tiny], out, jobspec_version="1.1.0", look={"lut": str(specials / "grade.cube")}), "FIFO"),
        "b_nul.json": (spec([str(tiny) + "\u0000x.mov"], out), "NUL"),
    }
    good = {f"g{i}.json": spec([tiny], out, output_name_template=f"{{source_name}}_{i}") for i in range(3)}
    watcher = start_watch(w, "--poll-seconds", "0.05")
    try:
        wait_for(lambda: (w / "pending").is_dir() and (w / "running").is_dir(), 20, "the layout")
        os.mkfifo(w / "pending" / "a_pipe.json")  # a job file that is a FIFO: ignored, never opened
        for name, (doc, _) in sorted(bad.items()):
            drop(w, name, doc)
        for name, doc in good.items():
            drop(w, name, doc)
        every = [w / "completed" / n.replace(".json", ".result.json") for n in good] + [
            w / "failed" / n.replace(".json", ".result.json") for n in bad
        ]
        wait_for(lambda: all(p.exists() for p in every), 60, "every job to be filed")
        err, elapsed = stop_with_sigterm(watcher, 10)
    finally:
        if watcher.poll() is None:
            watcher.kill()
            watcher.communicate(timeout=10)
    assert watcher.returncode == 0, err
    assert elapsed < 2.0, elapsed
    assert "event=ignored job=a_pipe.json" in err and "not a regular file" in err
    for name in good:
        assert result_of(w / "completed" / name.replace(".json", ".result.json"))["status"] == "COMPLETED"
    for name, (_, word) in bad.items():
        res = result_of(w / "failed" / name.replace(".json", ".result.json"))
        messages = " ".join(p["message"] for p in res["problems"])
        assert word in messages, (name, res["problems"])
        assert {p["category"] for p in res["problems"]} <= {"validation"}, (name, res["problems"])
    assert sorted(os.listdir(out)) == sorted(f"tiny_{i}.mov" for i in range(3))


#: a watcher whose job (or whose pre-check) blocks for ever opening a FIFO nothing writes to
_BLOCKED = textwrap.dedent("""
    import signal
    import sys
    from pathlib import Path

    import proxx_core.watch.watcher as watcher

    def blocked(*args, **kwargs):
        if len(sys.argv) > 4:  # as in an uninterruptible call: the signal never reaches this thread
            signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT, signal.SIGTERM})
        print("BLOCKING", file=sys.stderr, flush=True)
        open(sys.argv[2], "rb")  # no writer: never returns

    setattr(watcher, sys.argv[3], blocked)
    from proxx_cli.watch_cli import watch_main

    sys.exit(watch_main(Path(sys.argv[1]), poll_seconds=0.05, stable_seconds=0.05))
""")


@pytest.mark.parametrize(
    "where,limit,masked",
    [
        ("run_job", STOP_GRACE_SECONDS + 1.5, False),  # a job thread: left behind after the grace
        ("check_spec", STOP_GRACE_SECONDS + HARD_EXIT_MARGIN_SECONDS + 1.5, False),  # the loop itself: the last resort
        # the loop stuck where no Python signal handler can run: the deadline is armed from the wakeup fd
        ("check_spec", STOP_GRACE_SECONDS + HARD_EXIT_MARGIN_SECONDS + 1.5, True),
    ],
)
def test_a_blocked_job_cannot_hold_a_stopped_watcher(where, limit, masked, tmp_path, media, specials):
    out = tmp_path / "out"
    out.mkdir()
    w = tmp_path / "w"
    w.mkdir()
    script = tmp_path / "blocked_watch.py"
    script.write_text(_BLOCKED)
    proc = subprocess.Popen(
        [sys.executable, str(script), str(w), str(specials / "fifo.mov"), where, *(["mask"] if masked else [])],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PROXX_LOAD_PLUGINS": "ffmpeg", **FAST_ENV},
    )
    try:
        wait_for(lambda: (w / "pending").is_dir(), 20, "the layout")
        drop(w, "stuck.json", spec([media / "tiny.mov"], out))
        wait_for(lambda: not (w / "pending" / "stuck.json").exists() or where == "check_spec", 20, "the claim")
        time.sleep(0.5)  # inside the blocking call
        t0 = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=limit + 5)
        elapsed = time.monotonic() - t0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=10)
    assert "BLOCKING" in err
    assert elapsed < limit, (elapsed, err)
    assert proc.returncode == 0, err
    if where == "run_job":
        assert "event=abandoned" in err, err
        assert os.listdir(w / "running"), "the abandoned claim stays for the next start to recover"
