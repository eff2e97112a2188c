"""Recovery of what dead watch processes of *this node* left in ``running/`` (docs/watch-folders.md,
"Recovery after a crash"): judge each owner folder, kill a dead owner's recorded encoder process
groups, adopt each of its jobs with one rename (so concurrent recoverers never file a job twice),
and file it in failed/ as ``interrupted`` (or finish a move a crash cut short). Other nodes' and
live processes' folders are never touched.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import threading
import time
import traceback
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from ..contract.events import WORKER_LOST, ProxxEvent
from ..io.atomic import fsync_dir
from ..io.clock import now_rfc3339
from ..pipeline.results import interrupted
from ..support.process import live_children
from .files import age, read_json, read_spec, unlink
from .log import WatchLog
from .owner import (
    CHILDREN_FILE,
    OWNER_FILE,
    PROGRESS_FILE,
    Liveness,
    Owner,
    judge,
    owner_from_dirname,
    pid_exists,
    process_start_token,
)
from .protocol import FINISHING_SUFFIX, WatchFolder, write_new
from .scan import bad_name_reason, is_candidate_name

#: how often a running watcher looks for jobs of dead sibling processes of this node
RECOVERY_INTERVAL_SECONDS = 30.0
#: a dead process's leftover marker or temp file is removed only once it is this old
ORPHAN_SECONDS = 60.0
#: files of an owner folder that are bookkeeping, not claimed jobs
BOOKKEEPING = (OWNER_FILE, CHILDREN_FILE, PROGRESS_FILE)


class Recovery:
    def __init__(self, folder: WatchFolder, announce: Callable[[ProxxEvent], None] | None = None):
        self.folder = folder
        self.log = folder.log
        self.me = folder.owner
        #: told ``worker_lost`` for each dead process's job this recovery files
        self.announce = announce

    def recover(self) -> None:
        """Finish what dead processes of this node left in running/; never touch anything else."""
        running = self.folder.dirs["running"]
        try:
            entries = sorted(os.listdir(running))
        except OSError as exc:
            self.log("error", reason=f"cannot list {running}: {exc.strerror or exc}")
            return
        for entry in entries:
            try:
                self._recover_entry(running / entry, entry)
            except Exception as exc:  # one bad folder must never stop the watcher
                self.log(
                    "error",
                    path=self.folder.rel(running / entry),
                    reason=f"recovery failed: {type(exc).__name__}: {exc}; left in place",
                    traceback=traceback.format_exc(),
                )

    def _recover_entry(self, path: Path, entry: str) -> None:
        if path == self.folder.owner_dir:
            return
        hidden = entry.startswith(".")
        if not path.is_dir():
            if not hidden:
                self.log.once(
                    ("stray", entry),
                    "ignored",
                    path=self.folder.rel(path),
                    reason="not a claim folder; Proxx leaves it alone",
                )
            return
        owner = Owner.from_json(read_json(path / OWNER_FILE))
        if owner is None:
            if not hidden:
                self._recover_unowned(path, entry)
            return
        verdict = judge(owner, self.me)
        if verdict.state != "dead":
            if not hidden:
                self.log.once(
                    ("left_running", entry, owner.pid),
                    "left_running",
                    path=self.folder.rel(path),
                    owner_node=owner.node,
                    owner_pid=owner.pid,
                    reason=verdict.reason,
                )
            return
        if hidden:  # a registration that never completed: it never held a job
            shutil.rmtree(path, ignore_errors=True)
            return
        self._recover_owner_dir(path, owner, verdict)

    def _recover_unowned(self, path: Path, entry: str) -> None:
        """An owner folder without a readable owner.json: removed when empty; its jobs recovered when
        its name says it belonged to a process of this node that is gone; otherwise left alone."""
        try:
            os.rmdir(path)  # only succeeds when empty: nothing can be lost
            self.log("removed", path=self.folder.rel(path), reason="an empty owner folder without owner.json")
            return
        except OSError:
            pass
        guess = owner_from_dirname(entry, self.me)
        verdict = judge(guess, self.me) if guess is not None else None
        if guess is None or verdict is None or verdict.state != "dead":
            self.log.once(
                ("unowned", entry),
                "ignored",
                path=self.folder.rel(path),
                reason=(
                    "no readable owner.json, and its name does not show a finished process of this node; "
                    "Proxx leaves it alone"
                ),
            )
            return
        self._recover_owner_dir(path, guess, Liveness("dead", f"its folder has no owner.json and {verdict.reason}"))

    def _recover_owner_dir(self, path: Path, owner: Owner, verdict: Liveness) -> None:
        kill_recorded_children(path, owner, self.me, self.log)
        try:
            names = sorted(
                n
                for n in os.listdir(path)
                if n not in BOOKKEEPING and not n.endswith(FINISHING_SUFFIX) and not n.startswith(".")
            )
        except FileNotFoundError:
            return  # another watcher of this node finished recovering it
        for name in names:
            try:
                if self._adopt(path, name):
                    self._recover_job(self.folder.owner_dir, name, owner, verdict)
            except Exception as exc:  # one job must never stop the recovery of the others
                self.log(
                    "error",
                    job=name,
                    path=self.folder.rel(path / name),
                    reason=(
                        f"recovery failed: {type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}; left in place"
                    ),
                    traceback=None if isinstance(exc, OSError) else traceback.format_exc(),
                )
        try:
            leftovers = [n for n in os.listdir(path) if n not in BOOKKEEPING]
            for n in leftovers:  # stale markers / temp files of finished jobs; young ones may
                # belong to a job another watcher is adopting right now, so they wait a pass
                if (n.endswith(FINISHING_SUFFIX) or n.startswith(".")) and age(path / n) > ORPHAN_SECONDS:
                    unlink(path / n)
            if not [n for n in os.listdir(path) if n not in BOOKKEEPING]:
                unlink(path / CHILDREN_FILE)
                unlink(path / PROGRESS_FILE)
                unlink(path / OWNER_FILE)
                os.rmdir(path)
        except OSError:
            pass  # gone already, or not empty yet: a later pass tidies it

    def _adopt(self, dead_dir: Path, name: str) -> bool:
        """Move a dead process's job into this process's own folder first: the rename decides
        which of several recovering watchers handles it, so a job is never recovered twice. If this
        process dies in turn, the job is simply recovered again from here."""
        mine = self.folder.owner_dir
        if (mine / name).exists():
            return False  # a job of that name runs here now; recovered on a later pass
        try:
            os.rename(dead_dir / name, mine / name)
        except FileNotFoundError:
            return False  # another watcher of this node adopted it first
        marker = name + FINISHING_SUFFIX
        try:
            os.rename(dead_dir / marker, mine / marker)
        except OSError:  # none (usual), or a name too long to have one
            pass
        fsync_dir(str(mine))
        return True

    def _recover_job(self, folder: Path, name: str, owner: Owner, verdict: Liveness) -> None:
        spec_path = folder / name
        marker = read_json(folder / (name + FINISHING_SUFFIX))
        if (
            bad_name_reason(name) is None
            and isinstance(marker, dict)
            and marker.get("destination") in ("completed", "failed")
            and is_candidate_name(str(marker.get("spec_name")))
            and self._result_written(marker)
        ):
            # crashed after publishing the result, before moving the spec: just finish the move
            dest_dir = self.folder.dirs[marker["destination"]]
            final = self.folder.move_spec(spec_path, dest_dir, marker["spec_name"])
            unlink(folder / (name + FINISHING_SUFFIX))
            self.log(
                "recovered",
                job=name,
                spec=self.folder.rel(final),
                result=marker.get("result"),
                reason="result was already written; spec moved beside it",
            )
            return
        document = read_spec(spec_path)
        claim_id = f"{owner.dirname}/{name}"
        message = (
            f"the watch process that claimed this job ({verdict.reason}) stopped before the job "
            f"finished; recovered by process {self.me.pid} on node {self.me.node}"
        )
        result = interrupted(
            document,
            message,
            timing_extra={
                "watch": {
                    "claim": claim_id,
                    "owner": owner.to_json(),
                    "recovered_by": self.me.to_json(),
                    "recovered_at": now_rfc3339(),
                }
            },
        )
        res_rel, spec_rel = self.folder.file(spec_path, name, result, claim_id, destination="failed")
        self.log(
            "recovered",
            job=name,
            status=result.status,
            owner_pid=owner.pid,
            spec=spec_rel,
            result=res_rel,
            reason=verdict.reason,
        )
        if self.announce is not None:
            self.announce(
                ProxxEvent(
                    kind=WORKER_LOST,
                    job_id=result.job_id or name,
                    node=owner.node,
                    message=(f"job file {name} was filed as interrupted in {res_rel}: {message}"),
                )
            )

    def _result_written(self, marker: dict[str, Any]) -> bool:
        rel = marker.get("result")
        if not isinstance(rel, str):
            return False
        data = read_json(self.folder.root / rel)
        try:
            return bool(data["timing"]["watch"]["claim"] == marker.get("claim"))
        except (TypeError, KeyError):
            return False


# ----------------------------------------------------------------------- encoder process groups


class ChildrenRecord:
    """Keeps ``running/<owner>/owner.children.json`` equal to this process's live encoders, so a
    recovering watcher can kill them if this process dies (a listener of process.live_children)."""

    def __init__(self, folder: WatchFolder):
        self.folder = folder
        self._lock = threading.Lock()

    def __call__(self, _pids: Iterable[int]) -> None:
        with self._lock:
            entries = [{"pid": pid, "pgid": pid, "start_token": process_start_token(pid)} for pid in live_children()]
            try:  # no fsync: it serves recovery after this process dies; after a power cut no encoder survives
                write_new(
                    self.folder.owner_dir / CHILDREN_FILE,
                    json.dumps({"children": entries}) + "\n",
                    durable=False,
                    overwrite=True,
                )
            except OSError as exc:
                self.folder.log.once(
                    ("children", str(exc)),
                    "error",
                    reason=(
                        f"cannot record encoder processes in {self.folder.rel(self.folder.owner_dir)}: "
                        f"{exc.strerror or exc}"
                    ),
                )


def kill_recorded_children(folder: Path, owner: Owner, me: Owner, log: WatchLog) -> None:
    """Kill the recorded encoder process groups of a dead owner of this node, but only a process
    that is still the one recorded (same start token: a reused pid is never touched)."""
    data = read_json(folder / CHILDREN_FILE)
    entries = data.get("children") if isinstance(data, dict) else None
    if owner.node != me.node or not isinstance(entries, list):
        return
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        pid, pgid, token = entry.get("pid"), entry.get("pgid"), entry.get("start_token")
        if type(pid) is not int or type(pgid) is not int or pid <= 1 or pgid <= 1 or not isinstance(token, str):
            continue
        if not pid_exists(pid) or process_start_token(pid) != token:
            continue  # gone, or the pid now belongs to another process
        try:
            if os.getpgid(pid) != pgid:
                continue
            os.killpg(pgid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            continue
        deadline = time.monotonic() + 2.0
        while time.monotonic() < deadline and _running(pid, token):
            time.sleep(0.02)
        log(
            "killed",
            pid=pid,
            pgid=pgid,
            owner_pid=owner.pid,
            reason=f"encoder of process {owner.pid}, which is gone; killed before recovering its jobs",
        )


def _running(pid: int, token: str) -> bool:
    """Still the recorded process, and not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
    except (OSError, IndexError):
        pass
    return pid_exists(pid) is True and process_start_token(pid) == token
