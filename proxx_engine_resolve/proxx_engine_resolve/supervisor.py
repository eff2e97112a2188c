"""Run the Resolve worker in a child process under deadlines and a per-node lock.

* One Resolve session at a time per node: an exclusive lock on a file in a per-user temp
  directory (``fcntl.flock`` on POSIX, ``msvcrt.locking`` on Windows), held for the child's
  lifetime and released by the OS if this process dies.
* Deadlines: the child announces each Resolve call (and the render wait) with its timeout on
  stdout; if one is exceeded, or the overall command deadline passes, or ``cancel`` is set, the
  child's process group (which this supervisor created) is killed and reaped. A hung call never
  becomes a stuck job.
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO

import attrs

from proxx_core.kit import child_process_options, kill_process_group, now_rfc3339, stderr_tail

STDERR_TAIL_CHARS = 4000
#: extra time the parent grants beyond a render deadline so the worker can stop and report itself
RENDER_GRACE_SECONDS = 5.0


@functools.lru_cache(maxsize=8)
def python_home(python: str) -> str | None:
    """The installation home (``sys.base_prefix``) of the interpreter ``python``, or None."""
    try:
        if os.path.samefile(python, sys.executable):
            return sys.base_prefix
    except OSError:
        pass
    try:
        proc = subprocess.run(
            [python, "-c", "import sys; print(sys.base_prefix)"],
            capture_output=True,
            text=True,
            timeout=20,
            stdin=subprocess.DEVNULL,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return (proc.stdout.strip() or None) if proc.returncode == 0 else None


def worker_environment(python: str, base: dict[str, str] | None = None) -> dict[str, str]:
    """The worker child's environment: ``base`` (default: ours) with ``FUSION_PYTHON3_HOME`` set to the
    home of the interpreter that runs the worker. fusionscript (``fusionscript.dll`` on Windows) picks
    its Python runtime from that variable, else from the registry; with several Pythons installed the
    wrong runtime crashes it or fails to initialise, so an existing value is replaced."""
    env = dict(os.environ if base is None else base)
    home = python_home(python)
    if home:
        env["FUSION_PYTHON3_HOME"] = home
    return env


def default_lock_path() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return Path(tempfile.gettempdir(), f"proxx-resolve-{uid}", "resolve.lock")


@attrs.frozen(kw_only=True)
class WorkerRun:
    argv: tuple[str, ...]
    exit_code: int | None
    stderr_tail: str
    started_at: str
    seconds: float
    #: the worker's final result event, or None if it never produced one
    result: dict | None
    #: "timeout" / "interrupted" when the supervisor killed the child, else None
    killed_for: str | None = None
    kill_message: str | None = None
    pid: int | None = None

    @property
    def ok(self) -> bool:
        return self.killed_for is None and bool(self.result and self.result.get("ok"))


class NodeLock:
    """Exclusive inter-process lock; ``acquire`` polls so waiting stays cancellable."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._fh: IO[bytes] | None = None

    def acquire(self, cancel: threading.Event | None = None, poll: float = 0.05) -> bool:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fh = open(self.path, "a+b")
        while True:
            try:
                if sys.platform.startswith("win"):
                    import msvcrt

                    fh.seek(0)
                    msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
                else:
                    import fcntl

                    fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                self._fh = fh
                return True
            except OSError:
                if cancel is not None and cancel.is_set():
                    fh.close()
                    return False
                time.sleep(poll)

    def release(self):
        fh, self._fh = self._fh, None
        if fh is None:
            return
        try:
            if sys.platform.startswith("win"):
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        finally:
            fh.close()


def run_worker(
    argv: tuple[str, ...] | list[str],
    *,
    timeout: float,
    cancel: threading.Event | None = None,
    lock_path: Path | None = None,
    env: dict[str, str] | None = None,
    on_progress=None,
) -> WorkerRun:
    """Run the worker ``argv`` to completion or until a deadline; never raises for worker failures.
    ``env`` defaults to :func:`worker_environment` for the interpreter ``argv[0]``. ``on_progress``:
    called with each render ``percent`` (0-100) the worker reports."""
    argv = tuple(argv)
    cancel = cancel or threading.Event()
    lock = NodeLock(lock_path or default_lock_path())
    started_at = now_rfc3339()
    if env is None:
        env = worker_environment(argv[0])
    t0 = time.monotonic()
    if not lock.acquire(cancel):
        return WorkerRun(
            argv=argv,
            exit_code=None,
            stderr_tail="",
            started_at=started_at,
            seconds=time.monotonic() - t0,
            result=None,
            killed_for="interrupted",
            kill_message="cancelled while waiting for the node's Resolve lock",
        )
    try:
        return _run_locked(argv, timeout, cancel, env, started_at, t0, on_progress)
    finally:
        lock.release()


def _run_locked(argv, timeout, cancel, env, started_at, t0, on_progress=None) -> WorkerRun:
    with tempfile.TemporaryFile() as err:
        return _supervise(argv, timeout, cancel, env, started_at, t0, err, on_progress)


# one poll loop owning the child: deadline, cancel, progress lines and every way the child can end
def _supervise(argv, timeout, cancel, env, started_at, t0, err, on_progress=None) -> WorkerRun:  # noqa: C901
    # the core's way to start a child: own process group, dies with Proxx (Linux), killable as a group
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=err, env=env, **child_process_options()
    )
    state = {"call": None, "call_deadline": None, "wait": None, "wait_deadline": None, "result": None}
    lock = threading.Lock()

    def read_stdout():
        for raw in proc.stdout:
            try:
                ev = json.loads(raw.decode("utf-8", "replace"))
            except ValueError:
                continue
            now = time.monotonic()
            with lock:
                kind = ev.get("ev")
                if kind == "call":
                    state["call"], state["call_deadline"] = ev.get("name"), now + float(ev.get("timeout", 60))
                elif kind == "done":
                    state["call"], state["call_deadline"] = None, None
                elif kind == "wait":
                    state["wait"] = ev.get("name")
                    state["wait_deadline"] = now + float(ev.get("timeout", 3600)) + RENDER_GRACE_SECONDS
                elif kind == "wait_done":
                    state["wait"], state["wait_deadline"] = None, None
                elif kind == "result":
                    state["result"] = ev
            if kind == "progress" and on_progress is not None and isinstance(ev.get("percent"), (int, float)):
                try:
                    on_progress(float(ev["percent"]))
                except Exception:  # a display must never fail the render
                    pass

    readers = [threading.Thread(target=read_stdout, daemon=True)]
    for r in readers:
        r.start()
    overall = t0 + timeout
    killed_for = kill_message = None
    while proc.poll() is None:
        now = time.monotonic()
        with lock:
            call, call_deadline = state["call"], state["call_deadline"]
            wait, wait_deadline = state["wait"], state["wait_deadline"]
        if cancel.is_set():
            killed_for, kill_message = "interrupted", "cancelled"
        elif call_deadline is not None and now > call_deadline:
            killed_for = "timeout"
            kill_message = f"Resolve call {call}() did not return within its deadline (hung)"
        elif wait_deadline is not None and now > wait_deadline:
            killed_for = "timeout"
            kill_message = f"the {wait} wait overran its deadline and the worker did not stop by itself"
        elif now > overall:
            killed_for = "timeout"
            kill_message = f"the worker exceeded the command deadline of {timeout:g} s"
        if killed_for:
            kill_process_group(proc)
            kill_message += f"; worker process {proc.pid} was killed"  # type: ignore[operator]  # set with killed_for
            break
        time.sleep(0.02)
    proc.wait()
    for r in readers:
        r.join(timeout=2)
    with lock:
        result = state["result"]
    tail = stderr_tail(err)
    if kill_message:
        tail = (tail + f"[supervisor] {kill_message}\n")[-STDERR_TAIL_CHARS:]
    return WorkerRun(
        argv=argv,
        exit_code=proc.returncode,
        stderr_tail=tail,
        started_at=started_at,
        seconds=round(time.monotonic() - t0, 3),
        result=result,
        killed_for=killed_for,
        kill_message=kill_message,
        pid=proc.pid,
    )
