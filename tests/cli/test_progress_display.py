"""Progress a person can read (a live line per running clip on a terminal) and progress a program can
read (--progress=jsonl); stdout stays the result JSON only."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from proxxtest import drain_pty, job_doc

H264 = "offline_h264_1280x720"


def _run_on_pty(argv, *, stdout_too: bool = False, timeout: float = 180):
    """Run ``proxx ARGV`` with stderr (and optionally stdout) on a pseudo-terminal; return
    (exit code, stdout bytes or None, what the terminal showed with escape sequences removed)."""
    import pty

    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "proxx_cli", *map(str, argv)],
        stdout=follower if stdout_too else subprocess.PIPE,
        stderr=follower,
        stdin=subprocess.DEVNULL,
        env=dict(os.environ, COLUMNS="160", LINES="40"),
    )
    os.close(follower)
    shown = drain_pty(leader)
    out = None if stdout_too else proc.stdout.read()
    proc.wait(timeout=timeout)
    os.close(leader)
    text = shown.decode("utf-8", "replace")
    return proc.returncode, out, re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text).replace("\r", "\n")


def _slow_sources(media):
    """Two clips that each take a few seconds to encode, so progress is drawn mid-encode."""
    return [media(f"{n}.mov", size="1280x720", frames=240, video="h264", audio=(1,)) for n in ("left", "right")]


def test_terminal_shows_percent_fps_speed_and_eta_for_two_parallel_clips(write_job, media, outdir):
    job = write_job(job_doc(_slow_sources(media), outdir, profile=H264))
    code, out, screen = _run_on_pty(["run", "--max-workers", "2", job])
    assert code == 0, screen[-3000:]
    assert json.loads(out)["status"] == "COMPLETED"
    for name in ("left.mov", "right.mov"):
        live = [
            ln
            for ln in screen.splitlines()
            if name in ln and re.search(r"\d+\.\d%", ln) and "ETA " in ln and " fps " in ln
        ]
        mid = [ln for ln in live if not re.search(r"100\.0%", ln) and re.search(r"ETA \d+:\d\d", ln)]
        assert mid, f"no live progress line with percent and ETA for {name}:\n{screen[-3000:]}"
        assert re.search(r"\d+\.\d\dx", mid[-1]), mid[-1]  # speed, x real time
    both = [ln for ln in screen.splitlines() if "left.mov" in ln and "%" in ln]
    assert both and any("right.mov" in ln and "%" in ln for ln in screen.splitlines())
    assert "clip 1: COMPLETED  left.mov -> left_proxy.mp4" in screen
    assert "clip 2: COMPLETED  right.mov -> right_proxy.mp4" in screen


def test_both_running_clips_are_on_screen_at_once(write_job, media, outdir):
    """With --max-workers 2 the display holds a line per running clip: some frame shows both."""
    job = write_job(job_doc(_slow_sources(media), outdir, profile=H264))
    code, _out, screen = _run_on_pty(["run", "--max-workers", "2", job])
    assert code == 0
    frames = screen.split("clips ")  # every refresh redraws the job line first
    assert any("clip 1 left.mov" in f and "clip 2 right.mov" in f and f.count("ETA") >= 2 for f in frames), screen[
        -3000:
    ]


def test_jsonl_events_parse_and_stdout_is_the_result(proxx, write_job, media, outdir):
    sources = [media("a.mov", size="640x360", frames=48), media("b.mov")]
    r = proxx("run", "--progress", "jsonl", "--max-workers", "2", write_job(job_doc(sources, outdir)))
    assert r.returncode == 0, r.stderr
    assert r.json()["status"] == "COMPLETED"
    events = [json.loads(line) for line in r.stderr.splitlines() if line.startswith("{")]
    for index, name in ((1, "a.mov"), (2, "b.mov")):
        mine = [e for e in events if e["index"] == index]
        assert mine[0]["event"] == "start" and mine[-1]["event"] == "done"
        assert all(e["file"] == name for e in mine)
        assert mine[-1]["status"] == "COMPLETED"
        progress = [e for e in mine if e["event"] == "progress"]
        assert progress and progress[-1]["percent"] == 100.0 and "eta_seconds" in progress[-1]
        assert all(0 <= e["percent"] <= 100 for e in progress)
    assert "\x1b[" not in r.stderr


def test_progress_never_changes_the_plan_or_the_bytes(proxx, write_job, media, tmp_path):
    """`plan` prints exactly the commands `run` records, whether progress is shown or not; and a 1.1
    spec using no 1.1 key makes the bytes of its 1.0.0 twin."""
    src = media("a.mov")
    digests, argvs = set(), set()
    for mode, version in (("none", "1.0.0"), ("jsonl", "1.0.0"), ("jsonl", "1.1.0")):
        out = tmp_path / f"{mode}-{version}"
        out.mkdir()
        job = write_job(job_doc([src], out, jobspec_version=version))
        plan = json.loads(proxx("plan", job).stdout)
        r = proxx("run", "--progress", mode, job)
        clip = r.json()["clips"][0]
        assert [c["argv"] for c in clip["commands"]] == [c["argv"] for c in plan["clips"][0]["commands"]]
        digests.add(clip["output"]["sha256"])
        argvs.add(json.dumps([c["argv"][1:-1] for c in clip["commands"]]))
    assert len(digests) == 1 and len(argvs) == 1


def test_demo_on_a_terminal_prints_a_summary_and_the_result_path(tmp_path):
    code, _out, screen = _run_on_pty(["demo", tmp_path / "demo"], stdout_too=True, timeout=240)
    assert code == 0, screen[-2000:]
    result_path = tmp_path / "demo" / "result.json"
    assert str(result_path) in screen and "COMPLETED" in screen
    assert '"clips"' not in screen and len(screen.strip().splitlines()) < 20
    assert json.loads(result_path.read_text("utf-8"))["status"] == "COMPLETED"


def test_watch_folder_logs_the_same_events(tmp_path):
    import io

    from proxx_core.contract.progress import ProgressEvent
    from proxx_core.watch.log import ProgressLog, WatchLog

    stream = io.StringIO()
    now = [0.0]
    log = ProgressLog(WatchLog("node1", 7, stream), "job.json", clock=lambda: now[0])
    log(ProgressEvent(event="start", index=1, source="/m/a b.mov", output="/o/a.mov"))
    for t, pct in ((1.0, 10.0), (2.0, 20.0), (7.0, 70.0)):
        now[0] = t
        log(
            ProgressEvent(
                event="progress",
                index=1,
                source="/m/a b.mov",
                output="/o/a.mov",
                percent=pct,
                fps=50.0,
                speed=2.0,
                eta_seconds=3.0,
            )
        )
    log(ProgressEvent(event="done", index=1, source="/m/a b.mov", output="/o/a.mov", status="COMPLETED"))
    lines = stream.getvalue().splitlines()
    assert [ln.split(" event=")[1].split()[0] for ln in lines] == [
        "clip_start",
        "clip_progress",
        "clip_progress",
        "clip_done",
    ]
    assert 'file="a b.mov"' in lines[1] and "percent=10.0" in lines[1] and "eta_seconds=3.0" in lines[1]
    assert "percent=70.0" in lines[2] and "status=COMPLETED" in lines[3] and "job=job.json" in lines[3]


def test_watch_run_logs_clip_events(tmp_path):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "watch"))
    from proxx_core.support.plugins import load_engines
    from proxx_engine_ffmpeg import plugin
    from proxx_engine_ffmpeg.testmedia import make_source
    from watchhelp import drop, run_inprocess, spec

    src = make_source(tmp_path / "tiny.mov", size="64x36", rate="25/1", frames=4, audio=(1,))
    out, w = tmp_path / "out", tmp_path / "w"
    out.mkdir()
    w.mkdir()
    drop(w, "01.json", spec([src], out))
    rc, log = run_inprocess(w, engines=load_engines(plugins=[plugin], entry_points=False))
    assert rc == 0, log
    assert "event=clip_start job=01.json" in log and "event=clip_done job=01.json" in log
    assert "file=tiny.mov" in log and "status=COMPLETED" in log
