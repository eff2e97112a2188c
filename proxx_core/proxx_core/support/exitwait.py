"""Waiting for a child process with a timeout, woken the moment it exits.

``Popen.wait(timeout=...)`` polls: it sleeps 0.5, 1, 2 … up to 50 ms between ``waitpid`` calls, so a
command that exits is noticed up to ~20 ms late, once per command (an H.264 clip with audio runs two).
On Linux 5.3+ a pidfd becomes readable when the process exits, so ``poll`` on it returns at once;
elsewhere (macOS, older kernels, a sandbox refusing the call) this falls back to ``Popen.wait``.
Either way the caller still wakes every ``timeout`` to check its deadline and cancel flag.
"""

from __future__ import annotations

import os
import select
import subprocess


class ExitWaiter:
    """``wait(timeout)`` → True once ``proc`` has exited (and been reaped), False after ``timeout`` seconds."""

    def __init__(self, proc: subprocess.Popen[bytes]):
        self.proc = proc
        self._fd = -1
        self._poller: select.poll | None = None
        try:
            self._fd = os.pidfd_open(proc.pid)
        except (AttributeError, OSError):  # no pidfd here: Popen.wait's polling
            return
        self._poller = select.poll()
        self._poller.register(self._fd, select.POLLIN)

    def wait(self, timeout: float) -> bool:
        if self._poller is None:
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                return False
            return True
        if not self._poller.poll(max(0, round(timeout * 1000))):
            return False
        self.proc.wait()  # exited: the pidfd is readable, so this reaps at once
        return True

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1
