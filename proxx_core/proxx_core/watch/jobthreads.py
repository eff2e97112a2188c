"""The watcher's job threads: daemon threads, so a job can never hold the watcher's process.

A job may block in a call nothing can interrupt (an engine reading a FIFO or a hung NAS, a plugin
stuck in a socket). ``concurrent.futures.ThreadPoolExecutor`` joins its worker threads at interpreter
exit, so one such job would keep a stopped watcher alive for ever and SIGTERM would never end it.
Here each job runs on its own daemon thread; stopping waits for running jobs at most a grace period
(a job that notices the stop files its interrupted result within it), then leaves the rest behind:
their claims stay in the owner folder and the next start on this node recovers them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from typing import Any

#: how long a stopping watcher waits for its running jobs to file their results
STOP_GRACE_SECONDS = 3.0


class JobThreads:
    """``submit`` like an executor (one daemon thread per job); ``shutdown`` with a deadline."""

    def __init__(self, name_prefix: str):
        self.name_prefix = name_prefix
        self._threads: list[threading.Thread] = []
        self._count = 0

    def submit(self, fn: Callable[..., None], *args: Any) -> Future[None]:
        future: Future[None] = Future()

        def run() -> None:
            if not future.set_running_or_notify_cancel():
                return
            try:
                fn(*args)
            except BaseException as exc:  # recorded on the future, as an executor does
                future.set_exception(exc)
            else:
                future.set_result(None)

        self._count += 1
        thread = threading.Thread(target=run, name=f"{self.name_prefix}_{self._count}", daemon=True)
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()
        return future

    def shutdown(self, timeout: float | None) -> list[str]:
        """Wait for every job thread (at most ``timeout`` seconds in all; None: for ever). Returns the
        names of the threads still running, which are left behind (daemon: they end with the process)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in self._threads:
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        self._threads = [t for t in self._threads if t.is_alive()]
        return [t.name for t in self._threads]
