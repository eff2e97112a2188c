"""Helpers of the fleet tests, imported by name (`from fleethelp import Workers`): a unique module
name, because `conftest` is ambiguous when several test folders are collected together."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

HEARTBEAT = 0.3  # seconds; a worker or running clip is dead after 3 missed beats (~1 s)
RECORDING_WORKER = Path(__file__).with_name("recording_worker.py")
#: `proxx` with a house rule (proxx_clip_checks) failing every H.264 720p output
STRICT_WORKER = Path(__file__).with_name("strict_worker.py")
#: `proxx` whose core raises in the shared run of a source named B001* (a planted bug)
FLAKY_WORKER = Path(__file__).with_name("flaky_worker.py")
#: the hardened ACL of docs/fleet.md: no default user; the fleet's user may not run admin commands
ACL_USER, ACL_PASSWORD = "proxx", "fleet-secret-7c1d"
ACL_RULES = ["user default off", f"user {ACL_USER} on >{ACL_PASSWORD} ~* &* +@all -@dangerous +info"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Workers:
    """Starts `proxx worker` processes (own session, so a test can kill -9 exactly one) and stops
    every one it started."""

    heartbeat = HEARTBEAT

    def __init__(self, broker: str, tmp_path: Path):
        self.broker, self.tmp_path = broker, tmp_path
        self.procs: dict[str, subprocess.Popen] = {}

    def start(
        self,
        name: str,
        *,
        plugins: str = "ffmpeg",
        config: Path | None = None,
        max_workers: int = 1,
        env: dict | None = None,
        extra: tuple[str, ...] = (),
        record_finished: Path | None = None,
        heartbeat: float = HEARTBEAT,
        script: Path | None = None,
    ) -> subprocess.Popen:
        """``record_finished``: run the worker with a proxx_job_finished recorder (recording_worker.py)
        appending one JSON line per call to that file. ``script``: run `proxx` through that script
        instead (one that adds a plugin, e.g. strict_worker.py)."""
        from proxx_fleet.store import Store

        entry = ["-m", "proxx_cli"] if record_finished is None else [str(RECORDING_WORKER)]
        if script is not None:
            entry = [str(script)]
        argv = [
            sys.executable,
            *entry,
            "worker",
            "--broker",
            self.broker,
            "--name",
            name,
            "--heartbeat",
            str(heartbeat),
            "--max-workers",
            str(max_workers),
            *extra,
        ]
        if record_finished is not None:
            env = {**(env or {}), "PROXX_TEST_FINISHED_LOG": str(record_finished)}
        if config is not None:
            argv += ["--config", str(config)]
        full_env = {**os.environ, "PROXX_LOAD_PLUGINS": plugins, **(env or {})}
        full_env.pop("PROXX_CONFIG", None)
        log = open(self.tmp_path / f"worker-{name}.log", "wb")
        proc = subprocess.Popen(
            argv, env=full_env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True
        )
        self.procs[name] = proc
        store = Store(self.broker)
        deadline = time.monotonic() + 60
        while not any(w["node"] == name for w in store.live_workers()):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"worker {name} did not register:\n{self.log(name)}")
            time.sleep(0.1)
        time.sleep(0.5)  # let Celery finish subscribing to its queues
        return proc

    def log(self, name: str) -> str:
        return (self.tmp_path / f"worker-{name}.log").read_text(errors="replace")

    def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.terminate()
        for proc in self.procs.values():
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
