"""``PROXX_TRACE_PLUGINS``: every hook call a plugin answers, written as it happens, for an operator
finding out which plugin is slow, raises, or returns something odd.

Off unless set. ``1`` (or ``stderr``) writes to stderr; any other value is a file path the lines are
appended to (created if missing; several processes may share it: one ``write`` per line, O_APPEND).
Built on pluggy's hook-call monitoring (``PluginManager.add_hookcall_monitoring``); since the core
calls every hook one plugin at a time, each call is one plugin's. Two lines per call::

    proxx-trace: > proxx_job_finished [proxx_notify.plugin] result=JobResult(…)
    proxx-trace: < proxx_job_finished [proxx_notify.plugin] 12.4 ms -> None

(``!`` instead of ``<`` when the implementation raised, with the exception). A call to a hook that no
implementation answers is not written. Arguments and results are cut to 120 characters.
"""

from __future__ import annotations

import functools
import os
import stat
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pluggy

from ..contract.errors import cut

ENV = "PROXX_TRACE_PLUGINS"
#: the values that mean "write to stderr" (any other non-empty value but "0" is a file path)
TO_STDERR = ("1", "stderr", "true", "yes")
PREFIX = "proxx-trace:"
#: characters of one argument or result shown
SHOWN = 120


def install(pm: pluggy.PluginManager, environ: Mapping[str, str] = os.environ) -> Callable[[], None] | None:
    """Trace ``pm``'s hook calls when ``PROXX_TRACE_PLUGINS`` asks for it; the undo function, or None."""
    value = environ.get(ENV, "").strip()
    if value in ("", "0"):
        return None
    write = _writer(value)
    started = threading.local()

    def before(hook_name: str, hook_impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]) -> None:
        if not hook_impls:
            return
        args = ", ".join(f"{k}={_shown(v)}" for k, v in kwargs.items())
        write(f"{PREFIX} > {hook_name} [{_plugins(hook_impls)}] {args}")
        stack = getattr(started, "stack", None) or []
        started.stack = [*stack, time.perf_counter()]

    def after(
        outcome: pluggy.Result[Any], hook_name: str, hook_impls: Sequence[pluggy.HookImpl], kwargs: Mapping[str, Any]
    ) -> None:
        if not hook_impls:
            return
        *rest, t0 = started.stack
        started.stack = rest
        took = f"{(time.perf_counter() - t0) * 1000:.1f} ms"
        if outcome.exception is not None:
            exc = outcome.exception
            write(
                f"{PREFIX} ! {hook_name} [{_plugins(hook_impls)}] {took} raised {type(exc).__name__}: "
                f"{cut(str(exc), SHOWN)}"
            )
            return
        result = outcome.get_result()
        if isinstance(result, list) and len(result) <= 1:  # one plugin's answer, not pluggy's list of them
            result = result[0] if result else None
        write(f"{PREFIX} < {hook_name} [{_plugins(hook_impls)}] {took} -> {_shown(result)}")

    return pm.add_hookcall_monitoring(before, after)


def _plugins(hook_impls: Sequence[pluggy.HookImpl]) -> str:
    return ", ".join(impl.plugin_name for impl in hook_impls)


def _shown(value: object) -> str:
    try:
        text = repr(value)
    except Exception as exc:  # a plugin's value whose repr raises must not break the call it describes
        text = f"<{type(value).__name__}: repr raised {type(exc).__name__}>"
    return cut(text.replace("\n", " "), SHOWN)


@functools.cache  # one open file per process, however many plugin managers it builds
def _writer(value: str) -> Callable[[str], None]:
    """Where the lines go: stderr, or the file ``value`` names (appended). A path that is no regular
    file (a FIFO would block, a device is no log) or cannot be opened is said once on stderr, and the
    lines go to stderr instead."""
    if value.lower() in TO_STDERR:
        return _to_stderr()
    try:
        fd = os.open(value, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NONBLOCK | os.O_CLOEXEC, 0o644)
    except OSError as exc:
        print(
            f"proxx: {ENV}={cut(value, 80)}: cannot open it ({exc.strerror}); tracing to stderr instead: set "
            f"{ENV} to a writable file path, or to 1 for stderr",
            file=sys.stderr,
            flush=True,
        )
        return _to_stderr()
    mode = os.fstat(fd).st_mode
    if not stat.S_ISREG(mode):
        os.close(fd)
        print(
            f"proxx: {ENV}={cut(value, 80)} is not a regular file; tracing to stderr instead: set {ENV} to a "
            f"file path, or to 1 for stderr",
            file=sys.stderr,
            flush=True,
        )
        return _to_stderr()
    lock = threading.Lock()

    def write(line: str) -> None:
        data = (line + "\n").encode("utf-8", "backslashreplace")
        with lock:
            os.write(fd, data)

    return write


def _to_stderr() -> Callable[[str], None]:
    lock = threading.Lock()

    def write(line: str) -> None:
        with lock:  # the stderr of the moment (a test's capture, a redirected stream)
            sys.stderr.write(line + "\n")
            sys.stderr.flush()

    return write
