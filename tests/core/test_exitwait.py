"""Waiting for a command: woken by its exit (pidfd) or by polling where there is none; the timeout
still returns control (the runner checks its deadline and cancel flag then)."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from proxx_core.support.exitwait import ExitWaiter


@pytest.mark.parametrize("pidfd", [True, False])
def test_a_wait_times_out_while_the_command_runs_and_returns_once_it_exits(monkeypatch, pidfd):
    if not pidfd:
        monkeypatch.delattr(os, "pidfd_open", raising=False)
    elif not hasattr(os, "pidfd_open"):
        pytest.skip("no pidfd on this platform: the polling fallback is the other case")
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(0.5)"])
    waiter = ExitWaiter(proc)
    try:
        assert (waiter._poller is not None) is pidfd
        t0 = time.monotonic()
        assert waiter.wait(0.05) is False and proc.returncode is None
        assert time.monotonic() - t0 >= 0.04
        while not waiter.wait(0.05):
            pass
        assert proc.returncode == 0  # reaped
    finally:
        waiter.close()
        proc.kill()
        proc.wait()
