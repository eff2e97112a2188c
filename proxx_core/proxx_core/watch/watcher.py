"""The watch loop: settle pending files, pre-check, claim when a worker slot is free, run, file.

Takes plain parameters (node name, stable seconds, grace, poll seconds, a log stream, a stop
event); environment variables, signal handlers and printing belong to the CLI
(``proxx_cli.watch_cli``).
"""

from __future__ import annotations

import os
import stat
import threading
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

import attrs

from ..api import check_job_file
from ..errors import Problem
from ..plugins import EngineSet
from ..process import subscribe_children, unsubscribe_children
from ..results import COMPLETED, EXIT_SYSTEM, JobResult, now_rfc3339, refused
from ..runner import run_job
from . import recovery
from .files import read_spec
from .log import WatchLog
from .owner import Owner
from .protocol import ClaimedJob, WatchFolder
from .recovery import ChildrenRecord, Recovery
from .scan import Settling, bad_name_reason, is_candidate_name, parses, signature

DEFAULT_STABLE_SECONDS = 1.0
DEFAULT_INVALID_GRACE_SECONDS = 30.0
#: with filesystem events, still rescan this often (missed events, network filesystems)
EVENT_FALLBACK_POLL_SECONDS = 5.0
DEFAULT_POLL_SECONDS = 2.0


class Watcher:
    def __init__(self, root: Path, engines: EngineSet, *, max_workers: int = 1, once: bool = False,
                 poll_seconds: float | None = None, stable_seconds: float = DEFAULT_STABLE_SECONDS,
                 invalid_grace_seconds: float = DEFAULT_INVALID_GRACE_SECONDS, stream: TextIO | None = None,
                 node: str | None = None, stop: threading.Event | None = None):
        self.engines = engines
        self.max_workers = max(1, int(max_workers))
        self.once = once
        self.poll_seconds = poll_seconds
        self.stable_seconds = max(0.0, stable_seconds)
        self.invalid_grace_seconds = max(self.stable_seconds, invalid_grace_seconds)
        self.owner = Owner.current(started_at=now_rfc3339(), node=node)
        self.log = WatchLog(self.owner.node, self.owner.pid, stream)
        self.folder = WatchFolder(root, self.owner, self.log)
        self.root, self.dirs, self.owner_dir = self.folder.root, self.folder.dirs, self.folder.owner_dir
        self.recovery = Recovery(self.folder)
        #: set to stop claiming and interrupt running clips (the CLI sets it on SIGINT/SIGTERM)
        self.stop = stop if stop is not None else threading.Event()
        self.wake = threading.Event()
        self._active: dict[str, Future[None]] = {}  # pending name -> future
        self._settling = Settling()
        self._pool: ThreadPoolExecutor | None = None

    # ---------------------------------------------------------------- setup and teardown
    def prepare(self) -> None:
        self.folder.prepare()

    def release(self) -> None:
        self.folder.release()

    def recover(self) -> None:
        self.recovery.recover()

    def request_stop(self, signal_name: str | None = None) -> None:
        """Stop claiming and interrupt running clips (their clips end ``interrupted``)."""
        first = not self.stop.is_set()
        self.stop.set()
        self.wake.set()
        if first:
            self.log("stopping", signal=signal_name, running=len(self._active) or 0,
                     reason="claiming stopped; running clips are killed and marked interrupted")

    # ------------------------------------------------------------------------- scanning
    def scan(self) -> bool:
        """Claim what can be claimed now. Return True while some pending file may still be taken
        later (settling, or waiting for a free slot): ``--once`` keeps going until it is False."""
        pending = self.dirs["pending"]
        try:
            names = sorted(os.listdir(pending))
        except OSError as exc:
            self.log.once(("scan_error", str(exc)), "error", reason=f"cannot list {pending}: {exc.strerror or exc}")
            return False
        now = time.monotonic()
        more = False
        present = set()
        for name in names:
            if not is_candidate_name(name):
                continue
            path = pending / name
            try:
                st = os.lstat(path)
            except OSError:
                continue
            if not stat.S_ISREG(st.st_mode):
                self.log.once(("notfile", name, signature(st)), "ignored", job=name,
                              reason="not a regular file (symlinks and folders are not taken)")
                continue
            present.add(name)
            sig = signature(st)
            age = self._settling.look(name, sig, now)
            if self._settling.left.get(name) == sig:
                continue  # needs an engine this node lacks; already logged
            if self.stop.is_set():
                continue
            if len(self._active) >= self.max_workers:
                more = True  # no free slot: never claim more than can start now
                continue
            if name in self._active or (self.owner_dir / name).exists():
                more = True  # a job of the same name is running here; take this one afterwards
                continue
            if age is None or age < self.stable_seconds:
                more = True
                continue
            if bad_name_reason(name):
                self._set_aside_pending(name)
                continue
            if not parses(path) and age < self.invalid_grace_seconds:
                self.log.once(("unparsed", name, sig), "waiting", job=name, reason=(
                    f"not valid JSON yet; waiting up to {self.invalid_grace_seconds:g} s for its writer "
                    f"before failing it"))
                more = True
                continue
            try:
                self._consider(name, path, sig)
            except Exception as exc:  # a bug or fault in the pre-check: claim it; the run files it as failed
                self.log("error", job=name, reason=f"pre-check failed: {type(exc).__name__}: {exc}",
                         traceback=traceback.format_exc())
                claim = self._claim(name)
                if claim is not None:
                    self._start(claim)
        self._settling.keep_only(present)
        return more

    def _set_aside_pending(self, name: str) -> None:
        """Claim a file whose name cannot carry a result, and set it aside with a plain-text reason."""
        claim = self._claim(name)
        if claim is None:
            return
        why = f"this job file {bad_name_reason(name)}; rename it (shorter, UTF-8) and drop it into pending/ again"
        try:
            self.folder.set_aside(claim.path, name, why)
        except OSError as exc:
            self.log("error", job=name, reason=f"cannot set it aside: {exc.strerror or exc}; it stays in running/")

    def _consider(self, name: str, path: Path, sig: Any) -> None:
        checked = check_job_file(path, self.engines)
        if checked.only_missing_engines:
            self._settling.left[name] = sig
            why = "; ".join(p.message for p in checked.problems)
            self.log("left", job=name, reason=f"this node cannot run it (engines here: "
                     f"{', '.join(self.engines.names) or 'none'}): {why}")
            return
        if self.stop.is_set():
            return
        claim = self._claim(name)
        if claim is None:
            return
        self._start(claim)

    def _claim(self, name: str) -> ClaimedJob | None:
        self._settling.forget(name)
        return self.folder.claim(name)

    def _start(self, claim: ClaimedJob) -> None:
        assert self._pool is not None
        self._active[claim.name] = self._pool.submit(self._run_claimed, claim)

    # ------------------------------------------------------------------------------- jobs
    def _run_claimed(self, claim: ClaimedJob) -> None:
        try:
            try:
                result = self._execute(claim)
            except Exception as exc:  # a bug or an environment fault: file the job as failed, say why
                self.log("error", job=claim.name, reason=f"{type(exc).__name__}: {exc}",
                         traceback=traceback.format_exc())
                result = refused([Problem(path="", category="io_error", message=(
                    f"the watch runner could not run this job: {type(exc).__name__}: {exc}"))],
                    document=read_spec(claim.path), exit_code=EXIT_SYSTEM)
            if result is None:
                return
            result = attrs.evolve(result, timing={**result.timing, "watch": {
                "claim": claim.claim_id, "claimed_at": claim.claimed_at, "owner": self.owner.to_json(),
                "spec_name": claim.name}})
            destination = "completed" if result.status == COMPLETED else "failed"
            res_rel, spec_rel = self.folder.file(claim.path, claim.name, result, claim.claim_id, destination)
            interrupted = sum(1 for c in result.clips if c.failure and c.failure.category == "interrupted")
            self.log("finished", job=claim.name, job_id=result.job_id, status=result.status,
                     exit_code=result.exit_code, result=res_rel, spec=spec_rel, interrupted=interrupted or None)
        except Exception as exc:  # cannot even set it aside (storage fault): it stays in running/
            self.log("error", job=claim.name, path=self.folder.rel(claim.path),
                     reason=f"{type(exc).__name__}: {exc}; the job stays in running/ and is recovered "
                            f"to failed/ at the next start on this node", traceback=traceback.format_exc())
        finally:
            self.wake.set()

    def _execute(self, claim: ClaimedJob) -> JobResult | None:
        checked = check_job_file(claim.path, self.engines)  # again: the file may have changed
        if checked.job is None:
            if checked.only_missing_engines and self.folder.give_back(claim):
                return None
            first = checked.problems[0] if checked.problems else None
            self.log("refused", job=claim.name, problems=len(checked.problems),
                     first=str(first) if first else None)
            return checked.refusal
        self.log("started", job=claim.name, job_id=checked.job.job_id, clips=len(checked.job.clips))
        return run_job(checked.job, self.engines, max_workers=1, cancel=self.stop)

    # ------------------------------------------------------------------------------- loop
    def _reap(self) -> None:
        for name, fut in list(self._active.items()):
            if fut.done():
                del self._active[name]

    def _start_observer(self) -> Any:
        if self.poll_seconds is not None:
            return None
        try:
            from watchdog.events import FileSystemEvent, FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError as exc:
            self.log("polling", reason=f"watchdog unavailable ({exc}); polling every {DEFAULT_POLL_SECONDS:g} s")
            return None
        wake = self.wake

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:  # noqa: ARG002
                wake.set()

        try:
            observer = Observer()
            observer.schedule(Handler(), str(self.dirs["pending"]), recursive=False)
            observer.daemon = True
            observer.start()
        except Exception as exc:
            self.log("polling", reason=f"filesystem events unavailable ({type(exc).__name__}: {exc}); "
                                       f"polling every {DEFAULT_POLL_SECONDS:g} s")
            return None
        return observer

    def run(self) -> int:
        """Watch until stopped (or, with ``once``, until nothing is left to take). Raises
        :class:`~proxx_core.watch.protocol.Fatal` when the folder cannot be used."""
        self.prepare()
        observer = None
        self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="proxx-watch-job")
        children = ChildrenRecord(self.folder)
        subscribe_children(children)
        try:
            self.recover()
            observer = self._start_observer()
            if self.poll_seconds is not None:
                mode, interval = "polling", self.poll_seconds
            elif observer is not None:
                mode, interval = "events", EVENT_FALLBACK_POLL_SECONDS
            else:
                mode, interval = "polling", DEFAULT_POLL_SECONDS
            self.log("watching", dir=str(self.root), mode=mode, max_workers=self.max_workers, once=self.once or None,
                     engines=",".join(self.engines.names) or "none", owner=self.folder.rel(self.owner_dir))
            for failure in self.engines.failures:
                self.log("engine_not_loaded", plugin=failure.plugin, reason=failure.reason)
            last_recovery = time.monotonic()
            while not self.stop.is_set():
                self._reap()
                if time.monotonic() - last_recovery >= recovery.RECOVERY_INTERVAL_SECONDS:
                    self.recover()  # a sibling watcher of this node may have died since start-up
                    last_recovery = time.monotonic()
                more = self.scan()
                self._reap()
                if self.once and not more and not self._active:
                    break
                timeout = interval
                if more:
                    timeout = min(interval, max(0.05, self.stable_seconds / 2))
                self.wake.wait(timeout)
                self.wake.clear()
        finally:
            self._pool.shutdown(wait=True)
            unsubscribe_children(children)
            self._reap()
            if observer is not None:
                observer.stop()
                observer.join(timeout=5)
            self.release()
        self.log("stopped", reason="signal" if self.stop.is_set() else "nothing left to do (--once)")
        return 0
