"""The probe helper (proxx_core.io.helperprocess, avfacts.serve): PyAV imported in a helper process while
a command starts. Its answers are the in-process probe's, to the byte; a helper that cannot answer
changes nothing but speed; it never outlives the command, even one killed with SIGKILL; Ctrl-C in a
terminal never makes it print a traceback."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from proxx_core.contract import avprobe
from proxx_core.contract.errors import ProxxError
from proxx_core.io import helperprocess
from proxxtest import job_doc


@pytest.fixture
def helper():
    """A probe helper started by this test process, as `proxx run` starts one."""
    helperprocess._helpers.pop(avprobe.PROBE_HELPER, None)
    helperprocess.start(avprobe.PROBE_HELPER, "proxx_core.io.avfacts")
    started = helperprocess.helper(avprobe.PROBE_HELPER)
    assert started is not None
    yield started
    helperprocess._helpers.pop(avprobe.PROBE_HELPER, None)
    started._proc.kill()
    started._proc.wait()


def _outcome(path):
    try:
        return "ok", avprobe.probe_file(path, probed_by="ffmpeg")
    except ProxxError as exc:  # libav names the descriptor it read ("input: '3'"): a number of the process
        return "refused", re.sub(r"input: '\d+'", "input: fd", exc.message), exc.category


def test_the_helper_answers_what_this_process_would(helper, media, tmp_path):
    sources = [
        media("tc.mov", timecode="01:02:03:04", audio=(1, 1)),
        media("clip.mxf", timecode="10:00:00:00"),
        media("phone.mp4", video="h264"),
    ]
    junk = tmp_path / "junk.mov"
    junk.write_bytes(b"\x00\x00\x00\x14ftypqt  " + os.urandom(3000))
    fifo = tmp_path / "pipe.mov"
    os.mkfifo(fifo)
    for path in [*sources, junk, fifo, tmp_path / "missing.mov"]:
        answered = helper.call(str(path))  # the helper itself answered
        assert answered[0] in ("ok", "refused"), answered
        via_helper = _outcome(path)
        helperprocess._helpers.pop(avprobe.PROBE_HELPER)
        here = _outcome(path)
        helperprocess._helpers[avprobe.PROBE_HELPER] = helper
        assert via_helper == here, path.name
    assert _outcome(sources[0])[1].start_timecode == "01:02:03:04"


def test_a_helper_that_dies_changes_nothing_but_speed(helper, media):
    source = media("a.mov", timecode="01:00:00:00")
    expected = avprobe.probe_file(source, probed_by="ffmpeg")
    helper._proc.kill()
    helper._proc.wait()
    assert avprobe.probe_file(source, probed_by="ffmpeg") == expected
    with pytest.raises(helperprocess.HelperGone):
        helper.call(str(source))  # broken for good: never asked again


def test_a_busy_helper_sends_the_caller_to_probe_itself(helper, media):
    """Two threads never queue behind one slow file: the one that finds the helper busy probes here."""
    source = media("a.mov")
    with helper._lock:
        with pytest.raises(helperprocess.HelperGone, match="another thread"):
            helper.call(str(source))
        assert avprobe.probe_file(source, probed_by="ffmpeg").video is not None


def _children(pid: int) -> list[int]:
    """The children of every thread of ``pid`` (encoders are started by the clip threads)."""
    found = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except FileNotFoundError:
        return []
    for task in tasks:
        try:
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                found.extend(int(p) for p in fh.read().split())
        except FileNotFoundError:
            continue
    return found


def _cmdline(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as fh:
            return fh.read().replace(b"\0", b" ").decode(errors="replace")
    except FileNotFoundError:
        return ""


def _gone(pid: int, within: float) -> bool:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        try:
            with open(f"/proc/{pid}/stat") as fh:
                if fh.read().split(") ", 1)[1].startswith("Z"):
                    return True
        except FileNotFoundError:
            return True
        time.sleep(0.05)
    return False


def _start_run(media, outdir, write_job, **popen):
    """`proxx run` of a job long enough to be caught running, and the pid of its probe helper."""
    src = media("long.mov", size="640x360", frames=240)
    job = write_job(job_doc([src], outdir, profile="offline_h264_1280x720"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "proxx_cli", "run", str(job)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        **popen,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        kids = _children(proc.pid)
        helpers = [k for k in kids if "proxx_core.io.avfacts" in _cmdline(k)]
        encoders = [k for k in kids if k not in helpers and ("ffmpeg" in _cmdline(k) or "setpriv" in _cmdline(k))]
        if helpers and encoders:
            return proc, helpers[0]
        time.sleep(0.02)
    proc.kill()
    _out, err = proc.communicate()
    pytest.fail(f"never saw proxx run with its helper and an encoder: {err[-2000:]!r}")


def test_the_helper_runs_beside_proxx_run_and_ends_with_it(media, outdir, write_job):
    proc, helper_pid = _start_run(media, outdir, write_job)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    assert json.loads(out)["status"] == "COMPLETED"
    assert _gone(helper_pid, within=10), "the probe helper outlived proxx run"


def test_the_helper_never_outlives_a_command_killed_with_sigkill(media, outdir, write_job):
    proc, helper_pid = _start_run(media, outdir, write_job)
    proc.kill()
    proc.wait()
    assert _gone(helper_pid, within=10), "the probe helper outlived a killed proxx run"


def test_ctrl_c_in_a_terminal_never_makes_the_helper_print_a_traceback(media, outdir, write_job):
    """Ctrl-C signals the terminal's whole process group: the command stops its clips and says so; the
    helper ignores it and ends when the command does."""
    proc, helper_pid = _start_run(media, outdir, write_job, start_new_session=True)
    os.killpg(proc.pid, signal.SIGINT)
    _out, err = proc.communicate(timeout=120)
    assert "Traceback" not in err.decode(), err.decode()
    assert "received SIGINT" in err.decode()
    assert _gone(helper_pid, within=10)


def test_no_helper_when_turned_off(media, outdir, write_job):
    script = textwrap.dedent(
        """
        import os, sys
        os.environ["PROXX_HELPERS"] = "0"
        from proxx_core.io import helperprocess
        helperprocess.start("probe", "proxx_core.io.avfacts")
        print(helperprocess.helper("probe"))
        """
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "None", r.stderr


def test_no_helper_on_one_cpu():
    """With one usable CPU there is no other core to import PyAV on: the command probes in-process."""
    script = textwrap.dedent(
        """
        import os
        os.sched_setaffinity(0, {sorted(os.sched_getaffinity(0))[0]})
        from proxx_core.io import helperprocess
        helperprocess.start("probe", "proxx_core.io.avfacts")
        print(helperprocess.helper("probe"))
        """
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == "None", r.stderr


def test_a_helper_that_cannot_start_says_nothing(tmp_path, media, outdir, write_job):
    """PyAV missing (or a broken install): the helper exits without a word and the command words the
    problem once, as it did before there was a helper, never a traceback from a process it started."""
    shadow = tmp_path / "shadow" / "av"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text('raise ImportError("no PyAV in this test")\n')
    job = write_job(job_doc([media("a.mov")], outdir))
    env = {**os.environ, "PYTHONPATH": str(shadow.parent)}
    r = subprocess.run(
        [sys.executable, "-m", "proxx_cli", "validate", str(job)],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert r.returncode == 1
    assert "Traceback" not in r.stderr, r.stderr
    assert r.stderr.count("no PyAV in this test") == 1, r.stderr


def test_a_released_helper_exits_and_later_probes_are_made_here(helper, media):
    src = media("a.mov")
    assert helper.call(str(src))[0] == "ok"
    helperprocess.release_all()
    assert helper._proc.wait(timeout=10) == 0  # it exits on its own, before the command's exit reaps it
    with pytest.raises(helperprocess.HelperGone):
        helper.call(str(src))
    assert avprobe.probe_file(src, probed_by="ffmpeg").video is not None  # in-process, as without a helper
    helperprocess.stop_all()  # the exit's reaping copes with a released helper


@pytest.fixture
def requests_sent(monkeypatch):
    """How many requests this process wrote to a helper."""
    sent = []
    real = helperprocess.write_message
    monkeypatch.setattr(helperprocess, "write_message", lambda stream, obj: (sent.append(obj), real(stream, obj)))
    return sent


def test_a_file_asked_ahead_is_answered_without_asking_again(helper, media, requests_sent):
    src = media("a.mov", size="96x54")
    avprobe.probe_ahead([str(src)])
    assert requests_sent == [str(src)]
    info = avprobe.probe_file(src, probed_by="ffmpeg")
    assert requests_sent == [str(src)]  # the answer read was the one asked ahead
    assert info.probed_by == "ffmpeg" and info.video.width == 96


def test_a_file_changed_after_it_was_asked_ahead_is_asked_again(helper, media, requests_sent):
    src = media("a.mov", size="96x54")
    other = media("b.mov", size="160x90")
    avprobe.probe_ahead([str(src)])
    os.replace(other, src)  # another file under the same name before validation probes it
    info = avprobe.probe_file(src, probed_by="ffmpeg")
    assert info.video.width == 160
    assert requests_sent == [str(src), str(src)]


def test_files_asked_ahead_but_probed_in_another_order_each_get_their_own_answer(helper, media):
    a, b, c = media("a.mov", size="96x54"), media("b.mov", size="160x90"), media("c.mov", size="128x72")
    avprobe.probe_ahead([str(a), str(b), "/no/such/file.mov"])
    assert avprobe.probe_file(c, probed_by="x").video.width == 128  # not asked ahead: after a's and b's answers
    assert avprobe.probe_file(b, probed_by="x").video.width == 160
    assert avprobe.probe_file(a, probed_by="x").video.width == 96


def test_the_executable_probes_the_jobs_sources_ahead_and_records_what_it_would_without(media, outdir, write_job):
    src = media("tc.mov", timecode="01:02:03:04", audio=(1, 2))
    job = write_job(job_doc([src], outdir, overwrite=True))
    results = []
    for helpers in ("1", "0"):
        proc = subprocess.run(
            [sys.executable, "-m", "proxx_cli", "run", str(job)],
            capture_output=True,
            text=True,
            env={**os.environ, "PROXX_HELPERS": helpers},
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        clip = json.loads(proc.stdout)["clips"][0]
        results.append((clip["source"], clip["output"]["sha256"]))
    assert results[0] == results[1]


def test_a_released_helper_writing_answers_nobody_reads_exits_at_once(tmp_path, monkeypatch):
    """Answers asked ahead and never read (validation refused the job first) can fill the pipe: the
    helper then blocks writing, not reading its stdin. Releasing it closes both pipes, so it exits."""
    (tmp_path / "bighelper.py").write_text(
        "from proxx_core.io import helperprocess\n"
        "def serve():\n"
        "    helperprocess.serve_forever(lambda request: 'x' * 100_000)  # two fill a 64 KB pipe\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.setattr(helperprocess, "_helpers", {})
    helperprocess.start("big", "bighelper")
    big = helperprocess.helper("big")
    assert big is not None
    assert big.call("warm-up") == "x" * 100_000  # it is up and answering
    for n in range(3):
        assert big.ask_ahead(f"request {n}")
    time.sleep(0.5)  # it answers; nobody reads
    t0 = time.monotonic()
    helperprocess.release_all()
    try:
        big._proc.wait(timeout=5)
    finally:
        big._proc.kill()
    assert time.monotonic() - t0 < 1.0
