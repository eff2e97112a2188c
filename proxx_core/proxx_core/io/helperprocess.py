"""A helper Python process started at a command's first step, which answers requests on a pipe.

Why: ``import av`` costs ~40-50 ms of CPU, and a one-clip ``proxx run`` needs PyAV before its first
FFmpeg command (the source probe), after the command-line, plugin and validation imports (~100 ms)
that cannot overlap it in one interpreter (imports hold the GIL). Started first, a helper imports
PyAV on the other core while the command imports the rest; the probe then costs only the request.

The protocol is private to one installation (the same interpreter and code on both ends): each
message is a 4-byte big-endian length and a ``marshal`` of plain data (strings, numbers, tuples,
lists, dicts: marshal is built in, where ``pickle`` cost ~3 ms of every command's start-up). The
helper ends when its stdin closes, so it never outlives the command, even one killed with SIGKILL
(the kernel closes the pipe). Anything unexpected (the helper could not start, died, answered
garbage) makes :meth:`Helper.call` raise :class:`HelperGone`; callers then do the work themselves,
as they did before there was a helper. The helper costs its own start-up (~60 ms of CPU: PyAV and
the file-reading modules, nothing of the contract): a process limited to one CPU starts none, and
neither does any with ``PROXX_HELPERS=0``.
"""

from __future__ import annotations

import atexit
import collections
import gc
import marshal
import os
import signal
import struct
import sys
import threading
from collections.abc import Hashable
from typing import IO, TYPE_CHECKING, Any

if TYPE_CHECKING:
    import subprocess

_LENGTH = struct.Struct(">I")
#: a probe's answer is a few KB; anything far larger is not one
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
#: requests sent ahead of their call: their answers (~1 KB each) must fit the pipe (64 KB on Linux)
MAX_AHEAD = 16
_PROTOCOL_ERRORS = (OSError, EOFError, ValueError, TypeError)

_helpers: dict[str, Helper] = {}


class HelperGone(Exception):
    """The helper cannot answer (never started, died, or broke the protocol): do the work here."""


class Helper:
    """One helper process. One request at a time: a caller that finds it busy (another thread's probe)
    is told :class:`HelperGone` at once and does its work itself, so threads never queue behind a slow
    file the way they never did before there was a helper."""

    def __init__(self, proc: subprocess.Popen[bytes]):
        self._proc = proc
        self._lock = threading.Lock()
        self._owner = os.getpid()
        self._broken = False
        self._ahead: collections.deque[Hashable] = collections.deque()  # asked ahead, answer unread
        self._early: dict[Hashable, Any] = {}  # answers read ahead of the call that wants them

    def call(self, request: Hashable) -> Any:
        if os.getpid() != self._owner:  # a forked child of the command must not share the pipe
            raise HelperGone("the helper belongs to another process")
        if not self._lock.acquire(blocking=False):
            raise HelperGone("the helper is answering another thread")
        try:
            if self._broken:
                raise HelperGone("the helper stopped answering")
            if request in self._early:
                return self._early.pop(request)
            try:
                assert self._proc.stdin is not None and self._proc.stdout is not None
                while self._ahead:  # answers come in the order asked
                    asked = self._ahead.popleft()
                    answer = read_message(self._proc.stdout)
                    if asked == request:
                        return answer
                    self._early[asked] = answer
                write_message(self._proc.stdin, request)
                return read_message(self._proc.stdout)
            except _PROTOCOL_ERRORS as exc:
                self._broken = True
                raise HelperGone(f"the helper stopped answering: {type(exc).__name__}: {exc}") from exc
        finally:
            self._lock.release()

    def ask_ahead(self, request: Hashable) -> bool:
        """Send ``request`` now; its answer is read by the :meth:`call` that asks the same, so the
        helper works on it while this process does something else (imports). At most
        :data:`MAX_AHEAD` at once, so neither pipe can fill while nothing reads it. False when not
        sent (busy, gone, too many)."""
        if os.getpid() != self._owner or not self._lock.acquire(blocking=False):
            return False
        try:
            if self._broken or len(self._ahead) >= MAX_AHEAD or request in self._ahead:
                return False
            assert self._proc.stdin is not None
            write_message(self._proc.stdin, request)
            self._ahead.append(request)
            return True
        except _PROTOCOL_ERRORS:
            self._broken = True
            return False
        finally:
            self._lock.release()

    def release(self) -> None:
        """No more requests: close both pipes, so the helper exits (at its next read, or at once if it
        is writing answers asked ahead that nobody will read); a later :meth:`call` says HelperGone."""
        locked = self._lock.acquire(timeout=1)  # a call still reading gets EOF when the pipe closes
        try:
            self._broken = True
            if os.getpid() == self._owner:
                for pipe in (self._proc.stdin, self._proc.stdout):
                    try:
                        if pipe is not None:
                            pipe.close()
                    except (OSError, ValueError):
                        pass
        finally:
            if locked:
                self._lock.release()


def start(name: str, module: str) -> None:
    """Start the helper ``name`` running ``module.serve()`` in this interpreter with this ``sys.path``
    (once per process; nothing when ``PROXX_HELPERS=0`` or it cannot start)."""
    if name in _helpers or os.environ.get("PROXX_HELPERS", "1") in ("0", "") or not sys.executable:
        return
    if _usable_cpus() < 2:  # no other core to import on: the helper would only add its own start-up
        return
    import subprocess  # the command's side only: the helper itself, importing this module, never needs it

    # the helper's imports make ~10^5 objects that live as long as it does: collected rarely meanwhile
    # (as proxx_cli.gcstartup does for the command), frozen out of later collections by serve_forever
    # a helper that cannot start (PyAV missing, a broken install) says nothing and exits: the command
    # then does the work itself and words the error once, as it did before there was a helper
    code = (
        f"import gc, os, sys\ngc.set_threshold(100_000, 50, 50)\nsys.path[:] = {sys.path!r}\n"
        f"try:\n    from {module} import serve\n    serve()\nexcept BaseException:\n    os._exit(0)\n"
    )
    # Ctrl-C signals the terminal's whole process group: the helper must never print a traceback for
    # it, not even while its interpreter starts, so it starts with SIGINT ignored (an ignored signal
    # stays ignored across exec); the command's own handling is back a moment later
    try:
        previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    except ValueError:  # not the main thread: the helper is only for commands, started first
        return
    try:
        proc = subprocess.Popen(
            [sys.executable, *_without_site(), "-c", code],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            close_fds=True,
        )
    except OSError:
        return
    finally:
        signal.signal(signal.SIGINT, previous)
    if not _helpers:
        atexit.register(stop_all)
    _helpers[name] = Helper(proc)


def release_all() -> None:
    """This command asks nothing more of its helpers: close their pipes now, so each exits (~3 ms for
    an interpreter holding PyAV) while the command finishes its work, rather than at its exit. A
    later request is answered in-process; :func:`stop_all` still reaps them at exit."""
    for helper in _helpers.values():
        helper.release()


def _without_site() -> list[str]:
    """``-S`` (no ``site``: ~3 ms less start-up, no ``.pth`` files read) when the helper needs nothing
    ``site`` sets up beyond ``sys.path``, which it is given: no import hook a ``.pth`` file installed
    (an editable install's finder) other than setuptools' distutils shim."""
    standard = ("_frozen_importlib", "_frozen_importlib_external", "_distutils_hack")
    hooks = (f if isinstance(f, type) else type(f) for f in sys.meta_path)
    return ["-S"] if all(h.__module__ in standard for h in hooks) else []


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def stop_all() -> None:
    """At exit: close every helper's pipes (it exits at once) and reap it, so its CPU is accounted to
    this command and no helper is left for init to reap. One that does not exit within a second is
    killed."""
    import subprocess  # loaded by then: start() imported it

    for helper in list(_helpers.values()):
        proc = helper._proc
        try:
            helper.release()
            proc.wait(timeout=1)
        except (OSError, subprocess.TimeoutExpired):
            proc.kill()
            try:
                proc.wait(timeout=1)
            except subprocess.TimeoutExpired:
                pass
    _helpers.clear()


def helper(name: str) -> Helper | None:
    """The running helper ``name``, if this process started one."""
    return _helpers.get(name)


def write_message(stream: IO[bytes], obj: Any) -> None:
    data = marshal.dumps(obj)
    stream.write(_LENGTH.pack(len(data)) + data)
    stream.flush()


def read_message(stream: IO[bytes]) -> Any:
    """The next message, or EOFError when the other end closed."""
    head = _read_exactly(stream, _LENGTH.size)
    (size,) = _LENGTH.unpack(head)
    if size > MAX_MESSAGE_BYTES:
        raise ValueError(f"a helper message of {size} bytes")
    return marshal.loads(_read_exactly(stream, size))


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = stream.read(size - len(data))
        if not chunk:
            raise EOFError("the other end closed the pipe")
        data += chunk
    return data


def serve_forever(answer: Any) -> None:
    """The helper's side: answer each request on stdin until it closes. Ctrl-C goes to the command,
    whose exit closes stdin; the helper (started with SIGINT ignored) never prints a traceback for it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    gc.freeze()  # the imports are done: collect normally from here, without re-walking them
    gc.set_threshold(700, 10, 10)
    stdin, stdout = sys.stdin.buffer, sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing the answering code prints may corrupt the protocol
    while True:
        try:
            request = read_message(stdin)
        except (EOFError, OSError, ValueError):
            os._exit(0)
        try:
            write_message(stdout, answer(request))
        except OSError:
            os._exit(0)
        except Exception as exc:  # an answer that cannot be sent (pickling): the command works itself
            try:
                write_message(stdout, ("failed", f"{type(exc).__name__}: {exc}"))
            except OSError:
                os._exit(0)
