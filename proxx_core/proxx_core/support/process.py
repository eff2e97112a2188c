"""Running an engine's external command safely: no shell, stdin closed, a deadline, cancellable,
stderr kept (its tail goes into the result). Public helper for engine authors."""

from __future__ import annotations

import errno
import functools
import os
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterable
from typing import IO, Any

from ..contract.engine import Command, CommandRecord
from ..contract.errors import ClipFailure
from ..contract.vocabulary import Category
from ..io.clock import now_rfc3339
from .exitwait import ExitWaiter

STDERR_TAIL_BYTES = 4000
_ADDRESS = re.compile(r" @ 0x[0-9a-fA-F]+")
#: what ``run_command(..., progress=...)`` is given: one ``key=value`` block of the tool's stdout
BlockFn = Callable[[dict[str, str]], None]


def _tail(fh: IO[bytes]) -> str:
    fh.seek(0, os.SEEK_END)
    size = fh.tell()
    fh.seek(max(0, size - STDERR_TAIL_BYTES))
    data = fh.read()
    # libav prefixes log lines with object addresses ("[mxf @ 0x55d6...]"); they differ on every
    # run and would make two results of the same job differ, so they are dropped
    text = _ADDRESS.sub("", data.decode("utf-8", errors="replace"))
    return text if size <= STDERR_TAIL_BYTES else "…" + text


#: words of a line that says why something failed
_CAUSE = (
    "error",
    "invalid",
    "not supported",
    "unsupported",
    "no such",
    "cannot",
    "could not",
    "failed",
    "not found",
    "permission denied",
    "must be",
)
#: FFmpeg's generic consequences of an earlier, decisive line ("maybe incorrect parameters ...")
_CONSEQUENCE = (
    "maybe incorrect parameters",
    "error sending frames",
    "task finished with error code",
    "terminating thread",
    "could not open encoder before eof",
    "nothing was written into output",
    "conversion failed",
    "ff_frame_thread_encoder_init failed",
    "error while filtering",
)


def _headline(stderr: str) -> str:
    """The decisive stderr line: the first that names a cause and is not one of FFmpeg's generic
    consequences; else the first error line; else the last line."""
    lines = [ln.strip() for ln in stderr.splitlines() if ln.strip()]
    causes = [ln for ln in lines if any(w in ln.lower() for w in _CAUSE)]
    decisive = [ln for ln in causes if not any(g in ln.lower() for g in _CONSEQUENCE)]
    return (decisive or causes or lines[-1:] or ["no stderr"])[0]


#: public name for reports and displays that show why a command failed
decisive_stderr_line = _headline


# -- live child process groups: a watch process records them so that, if it dies, the recovering
# process can kill its encoders (each child leads its own process group: start_new_session=True)
_children_lock = threading.Lock()
_children: dict[int, None] = {}
_listeners: list[Callable[[tuple[int, ...]], None]] = []


def live_children() -> tuple[int, ...]:
    """Pids (= process group ids) of the commands running now, oldest first."""
    with _children_lock:
        return tuple(_children)


def subscribe_children(listener: Callable[[tuple[int, ...]], None]) -> None:
    """Call ``listener(pids)`` after each change (from the thread that started/reaped the child)."""
    with _children_lock:
        _listeners.append(listener)


def unsubscribe_children(listener: Callable[[tuple[int, ...]], None]) -> None:
    with _children_lock:
        if listener in _listeners:
            _listeners.remove(listener)


def _child_changed(pid: int, alive: bool) -> None:
    with _children_lock:
        if alive:
            _children[pid] = None
        else:
            _children.pop(pid, None)
        pids, listeners = tuple(_children), list(_listeners)
    for listener in listeners:
        try:
            listener(pids)
        except Exception:  # bookkeeping must never break an encode
            pass


#: what a tool prints (C strerror) when the storage, not the tool, failed: these are io_error
_STORAGE_ERRORS = tuple(os.strerror(e) for e in (errno.ENOSPC, errno.EROFS, errno.EDQUOT))


def failure_category(stderr: str) -> str:
    """``io_error`` when a failed tool says the storage is full or read-only, else ``engine_failed``."""
    return "io_error" if any(msg in stderr for msg in _STORAGE_ERRORS) else "engine_failed"


def _die_with_parent() -> Callable[[], None] | None:
    """A ``preexec_fn`` that makes the child get SIGKILL when Proxx dies, even by ``kill -9``
    (Linux ``PR_SET_PDEATHSIG``); None where that does not exist. The signal fires when the
    *thread* that started the child exits; :func:`run_command` is synchronous, so that thread waits
    for the child and outlives it. macOS has no equivalent; on Windows a job object would do it and
    is not implemented yet (docs/operator-guide.md)."""
    global _prctl
    if not sys.platform.startswith("linux"):
        return None
    if _prctl is None:
        try:
            import ctypes

            _prctl = ctypes.CDLL(None, use_errno=True).prctl
        except (OSError, AttributeError):
            return None
    prctl, parent, option, sig = _prctl, os.getpid(), _PR_SET_PDEATHSIG, int(signal.SIGKILL)

    def preexec() -> None:  # runs in the child between fork and exec: no imports, no locks
        prctl(option, sig, 0, 0, 0)
        if os.getppid() != parent:  # Proxx died before the line above: do not outlive it
            os._exit(137)

    return preexec


_PR_SET_PDEATHSIG = 1
_prctl: Callable[..., Any] | None = None


def child_process_options() -> dict[str, Any]:
    """``subprocess.Popen`` keyword arguments for every supervised child: a process group of its
    own (so a kill reaches everything it started) and, on Linux, death with Proxx."""
    if sys.platform.startswith("win"):
        return {"creationflags": subprocess.CREATE_NEW_PROCESS_GROUP}  # type: ignore[attr-defined,unused-ignore]
    return {"start_new_session": True, "preexec_fn": _die_with_parent()}


@functools.cache
def _setpriv() -> str | None:
    """util-linux ``setpriv`` (Essential on Debian), which sets the death signal and then execs the command."""
    return shutil.which("setpriv") if sys.platform.startswith("linux") else None


def _started_as(argv: tuple[str, ...]) -> tuple[list[str], dict[str, Any]]:
    """How :func:`run_command` starts ``argv``: through ``setpriv --pdeathsig KILL`` where it exists, so
    no Python code runs between fork and exec (a ``preexec_fn`` can deadlock the child of a process
    whose other threads hold locks at the fork: chunks and renditions start commands from several
    threads). The command still runs as the child of the thread that started it, so the death signal
    means what it did. A program that cannot be found is started directly, for the same "cannot start"
    refusal; without ``setpriv``, :func:`child_process_options`."""
    setpriv = _setpriv()
    if setpriv is None or shutil.which(argv[0]) is None:
        return list(argv), child_process_options()
    return [setpriv, "--pdeathsig", "KILL", "--", *argv], {"start_new_session": True}


def kill_process_group(proc: subprocess.Popen[bytes]) -> None:
    """Kill a child started with :func:`child_process_options` and everything it started, then reap it."""
    try:
        if sys.platform.startswith("win"):
            proc.kill()
        else:
            os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    proc.wait()


def stderr_tail(fh: IO[bytes]) -> str:
    """The last :data:`STDERR_TAIL_BYTES` of a child's stderr file, as text, libav object addresses
    removed (they differ on every run and would make two results of one job differ)."""
    return _tail(fh)


def _read_progress(stream: IO[bytes], progress: BlockFn) -> None:
    """Feed ``progress`` each ``key=value`` block of a ``-progress`` stream (a block ends with its
    ``progress=`` line). Reads to EOF whatever happens, so the tool never blocks on a full pipe."""
    block: dict[str, str] = {}
    for raw in stream:
        key, sep, value = raw.decode("utf-8", "replace").strip().partition("=")
        if not sep:
            continue
        block[key] = value
        if key == "progress":
            try:
                progress(block)
            except Exception:  # a display must never fail the encode
                pass
            block = {}


def _stderr_file() -> IO[bytes]:
    """Where a command's stderr goes until its tail is read: an anonymous in-memory file on Linux
    (``memfd_create``: nothing on disk, no temp folder looked for, no ``tempfile`` loaded before the
    first command), elsewhere an anonymous temporary file. Either is gone once closed."""
    if hasattr(os, "memfd_create"):
        try:
            return open(os.memfd_create("proxx-stderr", os.MFD_CLOEXEC), "w+b")
        except OSError:  # refused (a sandbox's seccomp filter): the temporary file
            pass
    import tempfile  # only where there is no memfd

    return tempfile.TemporaryFile()


def run_command(
    command: Command,
    cancel: threading.Event | None = None,
    *,
    env: dict[str, str] | None = None,
    poll_seconds: float = 0.05,
    progress: BlockFn | None = None,
) -> CommandRecord:
    """Run ``command``; return its record when it exits 0. Raise ClipFailure with category
    ``engine_failed`` (non-zero exit), ``timeout`` (deadline passed, process group killed) or
    ``interrupted`` (``cancel`` set, process group killed).

    ``progress``: called with each ``key=value`` block the command writes to its stdout (FFmpeg's
    ``-progress pipe:1``), from a reader thread; without it stdout is discarded."""
    started_at, t0 = now_rfc3339(), time.monotonic()
    if cancel is not None and cancel.is_set():
        record = CommandRecord(
            argv=command.argv,
            exit_code=None,
            stderr_tail="not started: the run was interrupted",
            timing={"started_at": started_at, "seconds": 0.0},
        )
        raise ClipFailure(
            f"{command.purpose} was not started: the run was interrupted",
            category=Category.INTERRUPTED,
            records=(record,),
        )
    with _stderr_file() as err:
        argv, options = _started_as(command.argv)
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL if progress is None else subprocess.PIPE,
                stderr=err,
                shell=False,
                env=env,
                **options,
            )
        except OSError as exc:
            record = CommandRecord(
                argv=command.argv,
                exit_code=None,
                stderr_tail=str(exc),
                timing={"started_at": started_at, "seconds": 0.0},
            )
            raise ClipFailure(
                f"cannot start {command.argv[0]}: {exc.strerror or exc}",
                category=Category.ENGINE_FAILED,
                records=(record,),
            ) from None
        deadline = t0 + command.timeout_seconds
        outcome = None
        reader = None
        if progress is not None:
            reader = threading.Thread(
                target=_read_progress, args=(proc.stdout, progress), daemon=True, name="proxx-progress"
            )
            reader.start()
        _child_changed(proc.pid, True)
        waiter = ExitWaiter(proc)
        try:
            while True:
                if waiter.wait(poll_seconds):
                    break
                if cancel is not None and cancel.is_set():
                    outcome = Category.INTERRUPTED
                elif time.monotonic() > deadline:
                    outcome = Category.TIMEOUT
                if outcome:
                    kill_process_group(proc)
                    break
        finally:
            waiter.close()
        _child_changed(proc.pid, False)
        if reader is not None:
            reader.join(timeout=5)  # the group is dead or done: EOF comes at once
            assert proc.stdout is not None  # a reader means stdout is a pipe
            proc.stdout.close()
        record = CommandRecord(
            argv=command.argv,
            exit_code=proc.returncode,
            stderr_tail=_tail(err),
            timing={"started_at": started_at, "seconds": round(time.monotonic() - t0, 3)},
        )
    if outcome == Category.TIMEOUT:
        raise ClipFailure(
            f"{command.purpose} did not finish within {command.timeout_seconds:g} s and was killed",
            category=Category.TIMEOUT,
            records=(record,),
        )
    if outcome == Category.INTERRUPTED:
        raise ClipFailure(
            f"{command.purpose} was interrupted and killed", category=Category.INTERRUPTED, records=(record,)
        )
    if proc.returncode != 0:
        raise ClipFailure(
            f"{command.purpose} exited with status {proc.returncode}: {_headline(record.stderr_tail)}",
            category=failure_category(record.stderr_tail),
            records=(record,),
        )
    return record


def run_commands(
    commands: Iterable[Command], cancel: threading.Event | None = None, *, progress: BlockFn | None = None
) -> tuple[CommandRecord, ...]:
    """Run a plan's commands in order; on failure, the ClipFailure carries every record so far.
    ``progress``: as for :func:`run_command`, given to every command."""
    records: list[CommandRecord] = []
    for command in commands:
        try:
            records.append(run_command(command, cancel, progress=progress))
        except ClipFailure as exc:
            raise ClipFailure(exc.message, category=exc.category, records=(*records, *exc.records)) from None
    return tuple(records)
