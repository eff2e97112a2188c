"""The status page in a real headless browser, over a real `proxx watch`: a failed clip shows its
reason, a running clip's progress advances on the page without a reload, and a watcher killed with
SIGKILL mid-clip shows as lost; no errors in the browser console. Screenshots are kept."""

from __future__ import annotations

import io
import json
import signal

import pytest

from dashhelp import chrome, drop, keep_screenshot, start_dashboard, start_watch, wait_for
from proxx_core.watch.log import WatchLog
from proxx_core.watch.owner import OWNER_FILE, Owner
from proxx_core.watch.recovery import kill_recorded_children
from proxx_engine_ffmpeg.testmedia import make_source
from proxxtest import job_doc

#: what the page shows, read in one go (the page replaces its body as it updates, so element
#: references do not outlive a refresh)
PAGE_STATE = """
const rows = (sel, f) => Array.from(document.querySelectorAll(sel), f);
return {
  failures: rows('#history tr[data-status] .failure', e => ({status: e.closest('tr').dataset.status,
                 category: e.dataset.category, text: e.textContent})),
  slots: rows('tr.slot', e => ({job: e.dataset.job, percent: e.dataset.percent === '' ? null :
              parseFloat(e.dataset.percent), lost: e.classList.contains('lost')})),
  nodes: rows('tr.node', e => ({owner: e.dataset.owner, state: e.dataset.state, text: e.textContent})),
  running: rows('#running tr.job', e => ({job: e.dataset.job, state: e.dataset.state, text: e.textContent})),
};
"""


def page(driver) -> dict:
    return driver.execute_script(PAGE_STATE)


def _percents(driver) -> list[float]:
    return [s["percent"] for s in page(driver)["slots"] if s["percent"] is not None]


@pytest.mark.slow
def test_page_shows_failure_progress_and_a_killed_watcher_as_lost(tmp_path):
    folder = tmp_path / "watch"
    folder.mkdir()
    out = tmp_path / "out"
    out.mkdir()
    tiny = make_source(tmp_path / "tiny.mov", size="64x36", rate="25/1", frames=4, audio=(1,))
    # 20 s or more of encoding on a shared 2-core machine: long enough to see two progress values and
    # still be encoding when the watcher is killed (at 10 s a loaded CI machine finished it first)
    slow = make_source(tmp_path / "slow.mov", size="1920x1080", rate="25/1", frames=500, audio=(1,), video="mjpeg")
    (out / "tiny_proxy.mov").write_bytes(b"an earlier proxy")  # the tiny clip fails: output_exists

    dashboard, base = start_dashboard(folder)
    watcher = start_watch(folder, "--poll-seconds", "0.2")
    driver = None
    try:
        drop(folder, "a-fails.json", job_doc([tiny], out))
        wait_for(lambda: (folder / "failed" / "a-fails.result.json").exists(), 60, "the failing job to be filed")
        drop(folder, "b-slow.json", job_doc([slow], out))

        driver = chrome(tmp_path)
        driver.get(base)
        # the failure, with its category and reason, in the history
        failure = wait_for(
            lambda: [f for f in page(driver)["failures"] if f["status"] == "FAILED"], 15, "the failed clip on the page"
        )[0]
        assert failure["category"] == "output_exists"
        assert "tiny.mov" in failure["text"] and "output_exists" in failure["text"]
        keep_screenshot(driver, tmp_path, "status-failed.png")

        # progress advances without reloading the page (the page polls the server's snapshot)
        first = wait_for(
            lambda: [p for p in _percents(driver) if 0 < p < 100], 60, "the slow clip's first progress value"
        )[0]
        second = wait_for(lambda: [p for p in _percents(driver) if p > first], 30, f"progress beyond {first}%")[0]
        assert first < second < 100, (first, second)
        running = [j for j in page(driver)["running"] if j["job"] == "b-slow.json"]
        assert running and running[0]["state"] == "running" and "0/1" in running[0]["text"], running
        keep_screenshot(driver, tmp_path, "status-running.png")

        # SIGKILL mid-clip: the owner stays in running/, judged dead exactly as recovery judges it
        owner_dir = next(p for p in (folder / "running").iterdir() if not p.name.startswith("."))
        owner = Owner.from_json(json.loads((owner_dir / OWNER_FILE).read_text()))
        assert _percents(driver) and max(_percents(driver)) < 100, "the clip ended before the kill"
        watcher.send_signal(signal.SIGKILL)
        watcher.wait(timeout=10)
        node = wait_for(
            lambda: [n for n in page(driver)["nodes"] if n["state"] == "lost"], 15, "the killed watcher shown as lost"
        )[0]
        assert node["owner"] == owner_dir.name and "no longer running" in node["text"], node
        state = page(driver)
        assert [j["state"] for j in state["running"] if j["job"] == "b-slow.json"] == ["lost"], state["running"]
        assert [s["lost"] for s in state["slots"]] == [True], state["slots"]
        keep_screenshot(driver, tmp_path, "status-lost.png")

        errors = [entry for entry in driver.get_log("browser") if entry["level"] in ("SEVERE", "ERROR")]
        assert not errors, f"browser console errors: {errors}"
        # the page itself never wrote anything: the dead owner's folder is as the kill left it
        assert (owner_dir / "b-slow.json").exists()
    finally:
        if driver is not None:
            driver.quit()
        if watcher.poll() is None:
            watcher.kill()
        watcher.wait(timeout=10)
        for owner_dir in (folder / "running").iterdir():  # the killed watcher's encoder lives on: end it
            owner = (
                Owner.from_json(json.loads((owner_dir / OWNER_FILE).read_text()))
                if (owner_dir / OWNER_FILE).exists()
                else None
            )
            if owner is not None:
                me = Owner.current(node=owner.node)
                kill_recorded_children(owner_dir, owner, me, WatchLog("t", 0, io.StringIO()))
        dashboard.terminate()
        dashboard.wait(timeout=10)
