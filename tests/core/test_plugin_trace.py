"""``PROXX_TRACE_PLUGINS``: every hook call a plugin answers, with its plugin, arguments, result or
exception and duration, on stderr (``1``) or appended to a file (a path); nothing when unset; a path
that is no regular file (a FIFO, which would block) is said on stderr and never waited on."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

from proxx_core import ProxxEvent, hookimpl
from proxx_core.support.plugins import load_engines
from proxx_core.support.plugintrace import _writer
from proxxtest import job_doc

LINE = re.compile(r"^proxx-trace: ([<>!]) (\w+) \[([^\]]+)\] (.*)$")


class Noisy:
    __name__ = "noisy"

    @hookimpl
    def proxx_event(self, event):
        raise RuntimeError(f"cannot page anyone about {event.kind}")


class Quiet:
    __name__ = "quiet"

    @hookimpl
    def proxx_event(self, event):
        return None


@pytest.fixture(autouse=True)
def _fresh_writers():
    _writer.cache_clear()
    yield
    _writer.cache_clear()


def _event():
    return ProxxEvent(kind="worker_lost", job_id="night-7", node="n1", message="gone")


def test_unset_traces_nothing(monkeypatch, capsys):
    monkeypatch.delenv("PROXX_TRACE_PLUGINS", raising=False)
    load_engines([Noisy()], entry_points=False).event(_event())
    assert "proxx-trace" not in capsys.readouterr().err


def test_one_traces_each_plugins_call_result_exception_and_duration_to_stderr(monkeypatch, capsys):
    monkeypatch.setenv("PROXX_TRACE_PLUGINS", "1")
    errors = load_engines([Noisy(), Quiet()], entry_points=False).event(_event())
    assert errors and "cannot page anyone" in errors[0]  # tracing never changes what the core sees
    lines = [LINE.match(x) for x in capsys.readouterr().err.splitlines() if x.startswith("proxx-trace:")]
    calls = [(m[1], m[2], m[3]) for m in lines if m and m[2] == "proxx_event"]
    assert calls == [
        (">", "proxx_event", "noisy"),
        ("!", "proxx_event", "noisy"),
        (">", "proxx_event", "quiet"),
        ("<", "proxx_event", "quiet"),
    ]
    by = {(m[1], m[3]): m[4] for m in lines if m and m[2] == "proxx_event"}
    assert "event=ProxxEvent(" in by[(">", "noisy")] and "night-7" in by[(">", "noisy")]
    assert re.fullmatch(r"\d+\.\d ms raised RuntimeError: cannot page anyone about worker_lost", by[("!", "noisy")])
    assert re.fullmatch(r"\d+\.\d ms -> None", by[("<", "quiet")])


def test_a_path_appends_the_lines_of_a_real_run_there(media, outdir, write_job, proxx, tmp_path):
    """A real `proxx run` of one clip: the engines' registration, the clip checks and the end of job."""
    log = tmp_path / "trace.log"
    log.write_text("earlier line\n")
    job = write_job(job_doc([str(media("a.mov", frames=3))], outdir))
    r = proxx("run", job, env_extra={"PROXX_TRACE_PLUGINS": str(log), "PROXX_LOAD_PLUGINS": "ffmpeg,notify"})
    assert r.returncode == 0, r.stderr
    assert "proxx-trace" not in r.stderr
    lines = log.read_text().splitlines()
    assert lines[0] == "earlier line"
    seen = {(m[1], m[2], m[3]) for m in map(LINE.match, lines[1:]) if m}
    assert {
        (">", "proxx_register_engines", "ffmpeg"),
        ("<", "proxx_register_engines", "ffmpeg"),
        (">", "proxx_job_finished", "notify"),
        ("<", "proxx_job_finished", "notify"),
    } <= seen
    assert all(LINE.match(x) for x in lines[1:]), lines


def test_a_fifo_is_never_waited_on(tmp_path):
    fifo = tmp_path / "trace.fifo"
    os.mkfifo(fifo)
    code = (
        "from proxx_core import ProxxEvent, hookimpl\nfrom proxx_core.support.plugins import load_engines\n"
        "class P:\n    __name__ = 'p'\n    @hookimpl\n    def proxx_event(self, event):\n        return 1\n"
        "load_engines([P()], entry_points=False).event(ProxxEvent(kind='worker_lost', job_id='j', node='n', "
        "message='m'))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=30,
        env={**os.environ, "PROXX_TRACE_PLUGINS": str(fifo)},
    )
    assert r.returncode == 0, r.stderr
    assert "PROXX_TRACE_PLUGINS=" in r.stderr and "tracing to stderr instead" in r.stderr
    assert "proxx-trace: < proxx_event [p]" in r.stderr and "-> 1" in r.stderr
