"""``proxx watch``: the CLI edge of the watch folder. Reads the environment (``PROXX_WATCH_NODE``,
``PROXX_WATCH_STABLE_SECONDS``, ``PROXX_WATCH_INVALID_GRACE_SECONDS``), loads engines, installs the
SIGINT/SIGTERM handlers and prints fatal errors; the watcher itself (proxx_core.watch) takes plain
parameters."""

from __future__ import annotations

import os
import signal
import sys
import threading
from pathlib import Path
from typing import TextIO

from proxx_core.plugins import EngineSet


def env_float(name: str, default: float) -> float:
    """A non-negative number from the environment; the default when unset or unusable."""
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value >= 0 else default


def watch_main(root: Path, *, max_workers: int = 1, once: bool = False, poll_seconds: float | None = None,
               engines: EngineSet | None = None, stable_seconds: float | None = None,
               invalid_grace_seconds: float | None = None, stream: TextIO | None = None,
               install_signal_handlers: bool = True) -> int:
    """``proxx watch``: 0 when stopped by SIGINT/SIGTERM or when ``once`` drained the folder; 1 fatal."""
    from proxx_core.errors import ProxxError
    from proxx_core.pathmap import load_node_config
    from proxx_core.plugins import load_engines
    from proxx_core.watch import DEFAULT_INVALID_GRACE_SECONDS, DEFAULT_STABLE_SECONDS, Fatal, Watcher

    if stable_seconds is None:
        stable_seconds = env_float("PROXX_WATCH_STABLE_SECONDS", DEFAULT_STABLE_SECONDS)
    if invalid_grace_seconds is None:
        invalid_grace_seconds = env_float("PROXX_WATCH_INVALID_GRACE_SECONDS", DEFAULT_INVALID_GRACE_SECONDS)
    err = stream or sys.stderr
    try:
        engines = engines if engines is not None else load_engines()
    except Exception as exc:  # strict plugin mode
        print(f"proxx watch: error: cannot load engines: {exc}", file=err)
        return 1
    try:
        path_map = load_node_config().path_map  # PROXX_CONFIG: the same path map as fleet workers
    except ProxxError as exc:
        print(f"proxx watch: error: {exc.message}", file=err)
        return 1
    watcher = Watcher(root, engines, max_workers=max_workers, once=once, poll_seconds=poll_seconds, path_map=path_map,
                      stable_seconds=stable_seconds, invalid_grace_seconds=invalid_grace_seconds, stream=stream,
                      node=os.environ.get("PROXX_WATCH_NODE", "").strip() or None, stop=threading.Event())
    previous = {}
    deadline: list[threading.Timer] = []

    def on_signal(signum: int, frame: object) -> None:
        watcher.request_stop(signal.Signals(signum).name)
        if not deadline:  # the last resort: the main loop itself is blocked (a plugin's probe, say)
            timer = threading.Timer(watcher.stop_grace_seconds + HARD_EXIT_MARGIN_SECONDS, _hard_exit, (err,))
            timer.daemon = True
            deadline.append(timer)
            timer.start()

    if install_signal_handlers and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, on_signal)
    try:
        return watcher.run()
    except Fatal as exc:
        watcher.log("fatal", reason=str(exc))
        print(f"proxx watch: error: {exc}", file=err)
        return 1
    finally:
        for timer in deadline:
            timer.cancel()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


#: after a signal, how long past the watcher's stop grace before the process exits regardless
HARD_EXIT_MARGIN_SECONDS = 2.0


def _hard_exit(err: TextIO) -> None:
    """A signal was received but the watcher's loop did not return: something it called blocks in a
    way nothing can interrupt. Exit anyway (0: the stop was honoured); claimed jobs stay in running/
    and the next start on this node recovers them, as after a kill -9."""
    try:
        print("proxx watch: still running after the stop grace (a blocked call); exiting now; the next start "
              "on this node recovers its jobs", file=err, flush=True)
    finally:
        os._exit(0)
