"""``proxx watch``: the CLI edge of the watch folder. Reads the environment (``PROXX_WATCH_NODE``,
``PROXX_WATCH_STABLE_SECONDS``, ``PROXX_WATCH_INVALID_GRACE_SECONDS``), loads engines, installs the
SIGINT/SIGTERM handlers and prints fatal errors; the watcher itself (proxx_core.watch) takes plain
parameters."""

from __future__ import annotations

import os
import signal
import socket
import sys
import threading
from pathlib import Path
from typing import TextIO

from proxx_core.support.plugins import EngineSet


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


def watch_main(
    root: Path,
    *,
    max_workers: int = 1,
    once: bool = False,
    poll_seconds: float | None = None,
    engines: EngineSet | None = None,
    stable_seconds: float | None = None,
    invalid_grace_seconds: float | None = None,
    stream: TextIO | None = None,
    install_signal_handlers: bool = True,
) -> int:
    """``proxx watch``: 0 when stopped by SIGINT/SIGTERM or when ``once`` drained the folder; 1 fatal."""
    from proxx_core.contract.errors import ProxxError
    from proxx_core.pipeline.pathmap import load_node_config
    from proxx_core.support.plugins import load_engines
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
    watcher = Watcher(
        root,
        engines,
        max_workers=max_workers,
        once=once,
        poll_seconds=poll_seconds,
        path_map=path_map,
        stable_seconds=stable_seconds,
        invalid_grace_seconds=invalid_grace_seconds,
        stream=stream,
        node=os.environ.get("PROXX_WATCH_NODE", "").strip() or None,
        stop=threading.Event(),
    )
    previous = {}
    deadline = StopDeadline(watcher.stop_grace_seconds + HARD_EXIT_MARGIN_SECONDS, err)
    if install_signal_handlers and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda signum, frame: watcher.request_stop(signal.Signals(signum).name))
        deadline.start()
    try:
        return watcher.run()
    except Fatal as exc:
        watcher.log("fatal", reason=str(exc))
        print(f"proxx watch: error: {exc}", file=err)
        return 1
    finally:
        deadline.close()
        for sig, handler in previous.items():
            signal.signal(sig, handler)


#: after a signal, how long past the watcher's stop grace before the process exits regardless
HARD_EXIT_MARGIN_SECONDS = 2.0


class StopDeadline:
    """The last resort after SIGINT/SIGTERM: exit ``seconds`` later if the watcher has not returned.

    Python runs signal handlers only in the main thread, between bytecodes: a main thread stuck in a
    call that never returns (a plugin's probe on a hung mount) would never run one. The C-level
    handler also writes the signal number to a wakeup socket (``signal.set_wakeup_fd``), which a
    daemon thread reads: the deadline is armed even then."""

    def __init__(self, seconds: float, err: TextIO):
        self.seconds, self.err = seconds, err
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._sockets: tuple[socket.socket, socket.socket] | None = None
        self._previous_fd = -1

    def start(self) -> None:
        reader, writer = socket.socketpair()
        writer.setblocking(False)
        self._sockets = (reader, writer)
        self._previous_fd = signal.set_wakeup_fd(writer.fileno(), warn_on_full_buffer=False)
        threading.Thread(target=self._listen, args=(reader,), name="proxx-watch-signals", daemon=True).start()

    def _listen(self, reader: socket.socket) -> None:
        stops = {int(signal.SIGINT), int(signal.SIGTERM)}
        while True:
            try:
                data = reader.recv(64)
            except OSError:
                return
            if not data:
                return
            if stops.intersection(data):
                self.arm()

    def arm(self) -> None:
        with self._lock:
            if self._timer is None:
                self._timer = threading.Timer(self.seconds, _hard_exit, (self.err,))
                self._timer.daemon = True
                self._timer.start()

    def close(self) -> None:
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = self._timer or threading.Timer(0, lambda: None)  # never armed after this
        if self._sockets is not None:
            signal.set_wakeup_fd(self._previous_fd)
            for sock in self._sockets:
                sock.close()


def _hard_exit(err: TextIO) -> None:
    """A signal was received but the watcher's loop did not return: something it called blocks in a
    way nothing can interrupt. Exit anyway (0: the stop was honoured); claimed jobs stay in running/
    and the next start on this node recovers them, as after a kill -9."""
    try:
        print(
            "proxx watch: still running after the stop grace (a blocked call); exiting now; the next start "
            "on this node recovers its jobs",
            file=err,
            flush=True,
        )
    finally:
        os._exit(0)
