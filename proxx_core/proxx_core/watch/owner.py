"""Who owns a claimed watch-folder job, and whether that owner is still alive.

A watch process has an :class:`Owner` identity: the node name (the host name unless the caller
names the node, e.g. the CLI from ``PROXX_WATCH_NODE``),
its pid, a *start token* that tells this process apart from a later process that reuses the pid
(Linux: ``starttime`` from ``/proc/<pid>/stat``; macOS/BSD: ``ps -o lstart``), the node's boot id
(Linux ``/proc/sys/kernel/random/boot_id``, macOS ``kern.boottime``) and a random instance token.

Liveness is only ever judged for owners on **this** node: another node's pids mean nothing here.
When in doubt (no start token available) an owner whose pid exists is treated as alive, so a
running job is never taken away from a live process.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import attrs

from ..io.atomic import fsync_dir, write_text_atomic

OWNER_FILE = "owner.json"
#: the live encoder process groups of the owner (see process.live_children), for recovery to kill
CHILDREN_FILE = "owner.children.json"
#: the owner's live state for status pages (see live.py); not a job: its name does not end in .json
PROGRESS_FILE = "owner.progress"
_SAFE = re.compile(r"[^A-Za-z0-9._-]")


def host_node_name() -> str:
    """The default node name: the host name. Must be unique in a fleet (the CLI lets operators
    override it with ``PROXX_WATCH_NODE``)."""
    return socket.gethostname() or "localhost"


def boot_id() -> str | None:
    try:
        with open("/proc/sys/kernel/random/boot_id", encoding="ascii") as fh:
            return fh.read().strip() or None
    except OSError:
        pass
    if sys.platform == "darwin" or "bsd" in sys.platform:
        try:
            out = subprocess.run(
                ["sysctl", "-n", "kern.boottime"], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=5
            )
            return out.stdout.strip() or None
        except (OSError, subprocess.SubprocessError):
            return None
    return None


def process_start_token(pid: int) -> str | None:
    """An opaque string that changes when ``pid`` is reused by another process; None if unknown."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
        # the command name (field 2) may contain spaces and parentheses: split after the last ')'
        fields = stat[stat.rindex(")") + 2 :].split()
        return f"linux:{fields[19]}"  # field 22, starttime in clock ticks since boot
    except FileNotFoundError:
        return None
    except (OSError, ValueError, IndexError):
        pass
    if sys.platform == "win32":
        return None
    try:
        out = subprocess.run(
            ["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=5
        )
    except (OSError, subprocess.SubprocessError):
        return None
    text = " ".join(out.stdout.split())
    return f"ps:{text}" if out.returncode == 0 and text else None


def pid_exists(pid: int) -> bool | None:
    """True/False, or None when this platform cannot tell (Windows: os.kill would terminate it)."""
    if sys.platform == "win32":
        return None
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    except OSError:
        return None
    return True


@attrs.frozen(kw_only=True)
class Owner:
    node: str
    pid: int
    start_token: str | None
    boot_id: str | None
    instance: str
    started_at: str | None = None

    @classmethod
    def current(cls, started_at: str | None = None, node: str | None = None) -> Owner:
        pid = os.getpid()
        return cls(
            node=(node or "").strip() or host_node_name(),
            pid=pid,
            start_token=process_start_token(pid),
            boot_id=boot_id(),
            instance=secrets.token_hex(4),
            started_at=started_at,
        )

    @property
    def dirname(self) -> str:
        """The owner's folder under ``running/``: readable, unique per process instance."""
        return f"{_SAFE.sub('_', self.node)[:100]}.{self.pid}.{self.instance}"

    def to_json(self) -> dict[str, Any]:
        return {
            "node": self.node,
            "pid": self.pid,
            "start_token": self.start_token,
            "boot_id": self.boot_id,
            "instance": self.instance,
            "started_at": self.started_at,
        }

    @classmethod
    def from_json(cls, data: Any) -> Owner | None:
        if not isinstance(data, dict) or not isinstance(data.get("node"), str) or type(data.get("pid")) is not int:
            return None
        opt = {
            k: data.get(k) if isinstance(data.get(k), str) else None for k in ("start_token", "boot_id", "started_at")
        }
        return cls(node=data["node"], pid=data["pid"], instance=str(data.get("instance") or ""), **opt)


def owner_from_dirname(dirname: str, me: Owner) -> Owner | None:
    """The owner an owner folder's name (``<node>.<pid>.<instance>``) points to, when its
    ``owner.json`` is missing or unreadable; None unless it names this node. Without a start token
    such an owner counts as alive while its pid exists (see :func:`judge`)."""
    rest = dirname.rsplit(".", 2)
    if len(rest) != 3 or not rest[1].isdigit() or rest[0] != _SAFE.sub("_", me.node)[:100]:
        return None
    return Owner(node=me.node, pid=int(rest[1]), start_token=None, boot_id=None, instance=rest[2])


@attrs.frozen
class Liveness:
    #: "foreign" (another node: never touched), "alive", or "dead"
    state: str
    reason: str


def judge(owner: Owner, me: Owner) -> Liveness:
    """Is ``owner`` (read from an owner file) alive, dead, or on another node?"""
    who = f"process {owner.pid} on node {owner.node}"
    if owner.node != me.node:
        return Liveness("foreign", f"{who} is on another node; only that node may recover it")
    if owner.pid == me.pid and owner.instance == me.instance:
        return Liveness("alive", "this process")
    if owner.boot_id and me.boot_id and owner.boot_id != me.boot_id:
        return Liveness("dead", f"{who} ran before this node last rebooted")
    exists = pid_exists(owner.pid)
    if exists is False:
        return Liveness("dead", f"{who} is no longer running")
    if exists is None:
        return Liveness("alive", f"cannot tell whether {who} is alive on this platform; left alone")
    token = process_start_token(owner.pid)
    if token is None or owner.start_token is None:
        return Liveness("alive", f"{who} exists and its start time cannot be compared; assumed alive")
    if token != owner.start_token:
        return Liveness("dead", f"{who} is no longer running (pid {owner.pid} now belongs to another process)")
    return Liveness("alive", f"{who} is still running")


def register(running: Path, owner: Owner) -> Path:
    """Create ``running/<owner>/owner.json`` before any claim; the folder appears complete (written
    under a hidden name, then renamed) or not at all. Returns the owner folder."""
    folder = running / owner.dirname
    tmp = running / f".{owner.dirname}.tmp"
    try:
        tmp.mkdir()
        write_text_atomic(tmp / OWNER_FILE, json.dumps(owner.to_json(), indent=2) + "\n", overwrite=False)
        os.rename(tmp, folder)
        fsync_dir(str(running))  # durable: every later claim must be attributable after a power cut
    except OSError:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return folder


def rewrite_owner_file(folder: Path, owner: Owner) -> None:
    """Put ``owner.json`` back into an owner folder someone emptied under a running watcher."""
    write_text_atomic(folder / OWNER_FILE, json.dumps(owner.to_json(), indent=2) + "\n", overwrite=True)


def release(folder: Path) -> list[str]:
    """Remove an owner folder that holds nothing but bookkeeping; return what keeps it otherwise."""
    try:
        rest = [p for p in os.listdir(folder) if p not in (OWNER_FILE, CHILDREN_FILE, PROGRESS_FILE)]
        if rest:
            return rest
        for name in (PROGRESS_FILE, CHILDREN_FILE, OWNER_FILE):
            try:
                os.unlink(folder / name)
            except FileNotFoundError:
                pass
        os.rmdir(folder)
    except OSError:
        pass
    return []
