"""Helpers for the watch-folder tests: JobSpec files, dropping them safely, watcher subprocesses."""

from __future__ import annotations

import io
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

PROXX = str(Path(sys.executable).with_name("proxx"))
FAST_ENV = {"PROXX_WATCH_STABLE_SECONDS": "0.15", "PROXX_WATCH_INVALID_GRACE_SECONDS": "0.4"}


def spec(sources, output_dir, **extra) -> dict:
    doc = {
        "jobspec_version": "1.0.0",
        "sources": [str(s) for s in sources],
        "output_dir": str(output_dir),
        "output_name_template": "{source_name}_proxy",
        "proxy_profile": "offline_prores_proxy_1920x1080",
        "codec": "prores",
        "container": "mov",
        "fps_mode": "preserve_source",
    }
    doc.update(extra)
    return doc


def drop(folder: Path, name: str, content) -> Path:
    """The safe way to drop a job: write under a hidden name, then rename into pending/."""
    pending = folder / "pending"
    pending.mkdir(parents=True, exist_ok=True)
    tmp = pending / f".{name}.tmp"
    tmp.write_text(content if isinstance(content, str) else json.dumps(content), encoding="utf-8")
    os.rename(tmp, pending / name)
    return pending / name


def result_of(path: Path) -> dict:
    """Read a result the watch folder wrote, checked against the shipped result JSON Schema."""
    data = json.loads(path.read_text(encoding="utf-8"))
    validator = _result_validator()
    if validator is not None:
        errors = [f"{list(e.path)}: {e.message}" for e in validator.iter_errors(data)]
        assert not errors, f"{path} breaks the result schema: {errors[:5]}"
    return data


_VALIDATOR: list = []


def _result_validator():
    if not _VALIDATOR:
        import jsonschema

        from proxx_core.pipeline.serialization import load_schema

        try:
            _VALIDATOR.append(jsonschema.Draft202012Validator(load_schema("result-1.0.json")))
        except FileNotFoundError:
            _VALIDATOR.append(None)
    return _VALIDATOR[0]


def run_inprocess(folder: Path, *, engines=None, max_workers: int = 1, poll: float = 0.05) -> tuple[int, str]:
    """``--once`` in this process, fast settle times; returns (exit code, log text)."""
    from proxx_cli.watch_cli import watch_main

    log = io.StringIO()
    rc = watch_main(
        folder,
        max_workers=max_workers,
        once=True,
        poll_seconds=poll,
        engines=engines,
        stable_seconds=0.1,
        invalid_grace_seconds=0.3,
        stream=log,
        install_signal_handlers=False,
    )
    return rc, log.getvalue()


def watch_cmd(folder: Path, *args: str) -> list[str]:
    return [PROXX, "watch", str(folder), *args]


def start_watch(folder: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    full = {**os.environ, "PROXX_LOAD_PLUGINS": "ffmpeg", **FAST_ENV, **(env or {})}
    return subprocess.Popen(
        watch_cmd(folder, *args),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=full,
    )


def wait_for(predicate, timeout: float, what: str, interval: float = 0.02):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout} s waiting for {what}")


def stop_with_sigterm(watcher: subprocess.Popen, timeout: float) -> tuple[str, float]:
    """SIGTERM a ``proxx watch`` process and wait for it: (its stderr, seconds it took to exit)."""
    t0 = time.monotonic()
    watcher.send_signal(signal.SIGTERM)
    _, err = watcher.communicate(timeout=timeout)
    return err, time.monotonic() - t0


def children_running(parent_pid: int, needle: str) -> list[int]:
    """pids of live children of ``parent_pid`` whose argv mentions ``needle`` (Linux /proc)."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat") as fh:
                stat = fh.read()
            ppid = int(stat[stat.rindex(")") + 2 :].split()[1])
            if ppid != parent_pid:
                continue
            with open(f"/proc/{entry}/cmdline", "rb") as fh:
                argv = fh.read().decode(errors="replace")
        except (OSError, ValueError):
            continue
        if needle in argv:
            found.append(int(entry))
    return found


def recorded_children(owner_folder: Path) -> set[int]:
    """The encoder pids a watcher recorded in its owner folder."""
    try:
        data = json.loads((owner_folder / "owner.children.json").read_text())
    except (OSError, ValueError):
        return set()
    return {c["pid"] for c in data["children"]}


def dead_pid() -> int:
    """The pid of a process that has just exited (a dead owner for recovery to find)."""
    return int(subprocess.run(["sh", "-c", "echo $$"], capture_output=True, text=True, check=True).stdout)


def still_running(pid: int) -> bool:
    """Alive and not a zombie (an orphan may wait a moment to be reaped)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def kill_pids(pids) -> None:
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass


needs_proc = pytest.mark.skipif(not os.path.isdir("/proc/self"), reason="needs Linux /proc")
