"""Start-up collects garbage rarely (proxx_cli.gcstartup); the work after it collects normally, and
calling the CLI in-process leaves the interpreter's collector as it was."""

from __future__ import annotations

import gc
import json

import pytest

from proxx_cli import gcstartup
from proxx_cli.main import main


@pytest.fixture
def collector_state():
    before = (gc.get_threshold(), gc.get_freeze_count())
    yield before
    assert (gc.get_threshold(), gc.get_freeze_count()) == before, "the collector was left changed"


def test_begin_done_end(collector_state):
    normal, _ = collector_state
    gcstartup.begin()
    assert gc.get_threshold() == gcstartup.STARTUP_THRESHOLDS
    gcstartup.done()
    assert gc.get_threshold() == normal and gc.get_freeze_count() > 0
    gcstartup.done()  # idempotent
    gcstartup.end()


def test_a_path_that_never_says_done_still_collects(collector_state):
    """Rarely is not never: memory stays bounded on any path."""
    gcstartup.begin()
    try:
        assert gc.isenabled() and gc.get_threshold()[0] <= 100_000
    finally:
        gcstartup.end()


def test_validate_in_process_leaves_no_trace(collector_state, media, outdir, write_job, capsys):
    from proxxtest import job_doc

    job = write_job(job_doc([str(media("a.mov"))], outdir))
    assert main(["validate", str(job)]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is True


def test_run_collects_normally_once_validated(collector_state, media, outdir, write_job, monkeypatch, capsys):
    import proxx_core.pipeline.runner

    normal, _ = collector_state
    seen = []
    real = proxx_core.pipeline.runner.run_job

    def spy(*args, **kwargs):
        seen.append((gc.get_threshold(), gc.get_freeze_count() > 0))
        return real(*args, **kwargs)

    monkeypatch.setattr(proxx_core.pipeline.runner, "run_job", spy)
    from proxxtest import job_doc

    job = write_job(job_doc([str(media("a.mov"))], outdir))
    assert main(["run", str(job), "--progress", "none"]) == 0
    assert seen == [(normal, True)]
    capsys.readouterr()


def test_the_executable_exits_as_the_interpreter_would(tmp_path):
    """exit_now skips only the teardown: a thread that is not a daemon finishes, an idle
    ThreadPoolExecutor worker is stopped (it never ends by itself: a watcher hung at exit on one),
    atexit functions (a plugin's) run in order, a large stdout through a pipe arrives whole, the exit
    code is kept."""
    import subprocess
    import sys

    script = tmp_path / "exits.py"
    script.write_text(
        "import atexit, sys, threading, time\n"
        "from proxx_cli import gcstartup\n"
        "atexit.register(lambda: print('atexit ran', file=sys.stderr))\n"
        "threading.Thread(target=lambda: (time.sleep(0.3), print('thread done', file=sys.stderr))).start()\n"
        "from concurrent.futures import ThreadPoolExecutor\n"
        "idle = ThreadPoolExecutor(1)\n"  # its worker idles, not a daemon: stopped by threading's exit hook
        "idle.submit(int).result()\n"
        "sys.stdout.write('x' * 1_000_000)\n"
        "gcstartup.before_exit()\n"
        "gcstartup.exit_now(3)\n"
    )
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=60)
    assert proc.returncode == 3
    assert proc.stdout == "x" * 1_000_000
    assert proc.stderr.splitlines() == ["thread done", "atexit ran"]
