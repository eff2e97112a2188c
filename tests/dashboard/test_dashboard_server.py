"""`proxx dashboard` as a server: the CLI finds it through the `proxx.commands` entry point; off
loopback it refuses to start without a token; with a token every request without it gets 401;
/metrics speaks Prometheus; the watch reader counts what a watch folder records."""

from __future__ import annotations

import json
import os
import subprocess
import time

from dashhelp import PROXX, get, serve_in_thread, start_dashboard
from proxx_core.contract.progress import ProgressEvent
from proxx_core.watch.live import LiveRecord
from proxx_core.watch.owner import Owner, register
from proxx_dashboard.watchreader import WatchFolderReader
from proxxtest import job_doc, run_cli


def _folder(tmp_path):
    folder = tmp_path / "watch"
    for sub in ("pending", "running", "completed", "failed"):
        (folder / sub).mkdir(parents=True)
    return folder


def test_non_loopback_bind_without_token_refuses_to_start(tmp_path):
    folder = _folder(tmp_path)
    env = {k: v for k, v in os.environ.items() if k != "PROXX_DASHBOARD_TOKEN"}
    for host in ("0.0.0.0", "192.0.2.10", "::"):
        res = subprocess.run(
            [PROXX, "dashboard", str(folder), "--host", host],
            capture_output=True,
            text=True,
            env=env,
            timeout=30,
            stdin=subprocess.DEVNULL,
        )
        assert res.returncode == 1, (host, res.stderr)
        assert "--token" in res.stderr and "PROXX_DASHBOARD_TOKEN" in res.stderr, res.stderr
    missing = run_cli("dashboard", tmp_path / "nope")
    assert missing.returncode == 1 and "no such directory" in missing.stderr


def test_with_a_token_requests_without_it_get_401(tmp_path):
    folder = _folder(tmp_path)
    proc, base = start_dashboard(folder, env={"PROXX_DASHBOARD_TOKEN": "s3cret-token"})
    try:
        for path in ("", "live", "api/snapshot", "metrics", "static/dashboard.js", "report/completed/x.result.json"):
            assert get(base + path)[0] == 401, path
            assert get(base + path, {"Authorization": "Bearer wrong-token"})[0] == 401, path
            assert get(base + path + "?token=s3cret-tokeX")[0] == 401, path
        status, body = get(base + "metrics", {"Authorization": "Bearer s3cret-token"})
        assert status == 200 and b"proxx_jobs{" in body and b"proxx_dashboard_snapshot_refreshes_total" in body
        status, body = get(base + "?token=s3cret-token")
        assert status == 200 and b"Proxx" in body
        status, body = get(base + "api/snapshot", {"Cookie": "proxx_dashboard_token=s3cret-token"})
        assert status == 200 and json.loads(body)["pending"] == 0
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_reader_counts_live_clips_and_judges_a_live_owner_alive(tmp_path):
    """The live file a watcher writes, read back: running slot, counts, source seconds, failures."""
    folder = _folder(tmp_path)
    me = Owner.current(node="nodeA")
    owner_dir = register(folder / "running", me)
    (owner_dir / "job.json").write_text("{}")
    live = LiveRecord(owner_dir, node="nodeA", pid=me.pid, max_workers=2, engines={"ffmpeg": {"version": "1"}})
    live.job_started("job.json", "job-1", {1: 10.0, 2: 30.0, 3: None}, 2)
    for event in (
        ProgressEvent(event="start", index=1, source="/m/a.mov", output="o"),
        ProgressEvent(event="done", index=1, source="/m/a.mov", output="o", status="FAILED", category="engine_failed"),
        ProgressEvent(event="start", index=2, source="/m/b.mov", output="o"),
        ProgressEvent(
            event="progress",
            index=2,
            source="/m/b.mov",
            output="o",
            percent=50.0,
            fps=24.0,
            speed=1.0,
            eta_seconds=15.0,
        ),
    ):
        live.event("job.json", event)
    live.write()
    snap = WatchFolderReader(folder, node="nodeA").read()
    assert [n.state for n in snap.nodes] == ["alive"]
    assert snap.nodes[0].engines == {"ffmpeg": {"version": "1"}} and snap.nodes[0].jobs == 1
    (slot,) = snap.slots
    assert (slot.file, slot.percent, slot.fps, slot.speed, slot.eta_seconds, slot.stalled) == (
        "b.mov",
        50.0,
        24.0,
        1.0,
        15.0,
        False,
    )
    (job,) = snap.running
    assert (job.clips_total, job.clips_done, job.source_seconds, job.source_seconds_done) == (3, 1, 40.0, 25.0)
    assert job.by_status == {"FAILED": 1, "RUNNING": 1}
    assert [(f.index, f.file, f.category) for f in job.failures] == [(1, "a.mov", "engine_failed")]
    assert snap.clips_by_status == {"FAILED": 1, "RUNNING": 1}
    # a clip quiet for longer than the stall time is flagged
    later = WatchFolderReader(folder, node="nodeA", stall_seconds=5, clock=lambda: time.time() + 60).read()
    assert [s.stalled for s in later.slots] == [True]
    # another node's owner is judged by its heartbeat only
    assert [n.state for n in WatchFolderReader(folder, node="nodeB").read().nodes] == ["alive"]
    stale = WatchFolderReader(folder, node="nodeB", clock=lambda: time.time() + 600).read()
    assert [n.state for n in stale.nodes] == ["lost"] and stale.slots[0].lost


BROKEN_FFMPEG = """#!/bin/sh
# the real ffmpeg, made to fail for real on sources named broken-*: an encoder that does not exist
case "$*" in
  *broken-*) exec "{real}" -hide_banner -nostdin -f lavfi -i nullsrc=d=0.1 -c:v no_such_encoder -f null - ;;
  *) exec "{real}" "$@" ;;
esac
"""


def test_history_shows_a_failed_clip_with_its_category_and_decisive_stderr_line(tmp_path, media):
    from proxx_dashboard.app import templates
    from proxx_engine_ffmpeg.binary import inspect_binary

    folder = _folder(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    wrapper = tmp_path / "bin" / "ffmpeg"
    wrapper.parent.mkdir()
    wrapper.write_text(BROKEN_FFMPEG.replace("{real}", inspect_binary().path))
    wrapper.chmod(0o755)
    job = tmp_path / "job.json"
    job.write_text(json.dumps(job_doc([media("broken-A001.mov"), media("fine.mov")], out)))
    res = run_cli(
        "run", job, "--result", folder / "failed" / "job.result.json", env_extra={"PROXX_FFMPEG": str(wrapper)}
    )
    assert res.returncode == 3, res.stderr
    snap = WatchFolderReader(folder).read()
    (row,) = snap.history
    assert (row.name, row.state, row.by_status) == ("job.json", "PARTIAL", {"FAILED": 1, "COMPLETED": 1})
    (failure,) = row.failures
    assert (failure.index, failure.file, failure.category) == (1, "broken-A001.mov", "engine_failed")
    # the line that says why, not FFmpeg's closing consequence ("Error opening output files: ...")
    assert failure.stderr_line is not None and failure.stderr_line.endswith("Error selecting an encoder"), failure
    assert snap.clips_by_status == {"FAILED": 1, "COMPLETED": 1} and snap.jobs_by_state["PARTIAL"] == 1
    html = templates().get_template("fragment.html").render(s=snap)
    assert "engine_failed" in html and "Error selecting an encoder" in html


def test_twenty_pollers_never_cause_more_than_one_read_per_second(tmp_path):
    import threading
    import urllib.request

    from proxx_dashboard.app import create_app

    app = create_app(WatchFolderReader(_folder(tmp_path)))
    with serve_in_thread(app) as base:
        keeper = app.state.keeper
        answers = []

        def poll(until: float) -> None:
            while time.monotonic() < until:
                for path in ("live", "metrics"):
                    with urllib.request.urlopen(base + path, timeout=5) as r:
                        answers.append(r.status)

        before, started = keeper.refreshes, time.monotonic()
        pollers = [threading.Thread(target=poll, args=(started + 2.5,)) for _ in range(20)]
        for t in pollers:
            t.start()
        for t in pollers:
            t.join()
        reads, elapsed = keeper.refreshes - before, time.monotonic() - started
    assert len(answers) > 40 and set(answers) == {200}
    assert reads <= int(elapsed) + 1, f"{reads} reads in {elapsed:.1f} s"


def test_report_link_serves_only_the_report_a_result_lists(tmp_path):
    from proxx_dashboard.app import create_app

    folder = _folder(tmp_path)
    report = tmp_path / "out" / "job-1.report.html"
    report.parent.mkdir()
    report.write_text("<html><body>the job report</body></html>")
    (tmp_path / "secret.txt").write_text("not for the page")
    result = {
        "job_id": "job-1",
        "status": "COMPLETED",
        "clips": [],
        "problems": [],
        "timing": {},
        "deliverables": [
            {"name": "report", "path": str(report.with_suffix(".pdf")), "sha256": "ab"},
            {"name": "report", "path": str(report), "sha256": "cd"},
        ],
    }
    (folder / "completed" / "job.result.json").write_text(json.dumps(result))
    (folder / "completed" / "other.result.json").write_text(json.dumps({**result, "deliverables": []}))
    with serve_in_thread(create_app(WatchFolderReader(folder))) as base:
        snapshot = json.loads(get(base + "api/snapshot")[1])
        links = {j["name"]: j["report_url"] for j in snapshot["history"]}
        assert links == {"job.json": "report/completed/job.result.json", "other.json": None}
        status, body = get(base + links["job.json"])
        assert status == 200 and b"the job report" in body
        assert str(report) not in json.dumps(snapshot)  # paths are served, never shown
        for path in (
            "report/completed/other.result.json",
            "report/../secret.txt",
            "report/" + str(tmp_path / "secret.txt"),
        ):
            assert get(base + path)[0] == 404, path
