"""The watch loop: settle pending files, pre-check, claim when a worker slot is free, run, file.

Takes plain parameters (node name, stable seconds, grace, poll seconds, a log stream, a stop
event); environment variables, signal handlers and printing belong to the CLI
(``proxx_cli.watch_cli``).
"""

from __future__ import annotations

import os
import threading
import time
import traceback
from concurrent.futures import Future
from pathlib import Path
from typing import Any, TextIO

import attrs

from ..contract.errors import Problem, SpecInvalid
from ..contract.events import ProxxEvent
from ..contract.results import COMPLETED, EXIT_SYSTEM, EXIT_VALIDATION, JobResult
from ..contract.vocabulary import Category
from ..io.atomic import fsync_dir
from ..io.clock import now_rfc3339
from ..io.safeopen import NotAFile
from ..pipeline import check as api
from ..pipeline.check import CheckedJob
from ..pipeline.finish import finish_job
from ..pipeline.pathmap import PathMap, map_document
from ..pipeline.planning import PreparedJob
from ..pipeline.results import refused
from ..pipeline.runner import run_job
from ..support.jsonload import DocumentInvalid, decode_document
from ..support.plugins import EngineSet
from ..support.process import subscribe_children, unsubscribe_children
from . import recovery
from .files import read_bounded, read_spec
from .jobthreads import STOP_GRACE_SECONDS, JobThreads
from .live import LiveRecord, engine_builds
from .log import ProgressLog, WatchLog
from .owner import Owner
from .protocol import ClaimedJob, WatchFolder
from .recovery import ChildrenRecord, Recovery
from .scan import Entry, PendingQueue, bad_name_reason

#: how long a file written in place (not renamed into pending/) must stay unchanged before it is taken
DEFAULT_STABLE_SECONDS = 0.25
DEFAULT_INVALID_GRACE_SECONDS = 30.0
#: with filesystem events, still rescan this often (missed events, network filesystems)
EVENT_FALLBACK_POLL_SECONDS = 5.0
DEFAULT_POLL_SECONDS = 2.0


@attrs.frozen(kw_only=True)
class SpecCheck:
    """A job file checked once: the validation result, and whether its bytes may still be being
    written (not complete JSON yet)."""

    checked: CheckedJob
    incomplete: bool = False

    @property
    def job(self) -> PreparedJob | None:
        return self.checked.job

    @property
    def problems(self) -> tuple[Problem, ...]:
        return self.checked.problems

    @property
    def refusal(self) -> JobResult | None:
        return self.checked.refusal

    @property
    def only_missing_engines(self) -> bool:
        return self.checked.only_missing_engines


def check_spec(raw: bytes | None, path: Path, engines: EngineSet, path_map: PathMap | None = None) -> SpecCheck:
    """Decode and validate a job file's bytes (``None``: it could not be read), like
    :func:`proxx_core.pipeline.check.check_job_file` does for a path, collecting every problem. ``path_map``
    (the node config's) turns the submitter's paths into this node's before validation."""
    if raw is None:
        problem = Problem(path="", category="io_error", message=f"{path}: cannot read job file; check permissions")
        return SpecCheck(
            checked=CheckedJob(
                document=None,
                job=None,
                problems=(problem,),
                exit_code=EXIT_SYSTEM,
                refusal=refused([problem], exit_code=EXIT_SYSTEM),
            )
        )
    try:
        document = decode_document(raw)
    except SpecInvalid as exc:
        problems = tuple(exc.problems)
        return SpecCheck(
            incomplete=isinstance(exc, DocumentInvalid) and exc.incomplete,
            checked=CheckedJob(
                document=None,
                job=None,
                problems=problems,
                exit_code=EXIT_VALIDATION,
                refusal=refused(problems, exit_code=EXIT_VALIDATION),
            ),
        )
    if path_map and isinstance(document, dict):
        document = map_document(document, path_map)[0]
    return SpecCheck(checked=api.check_document(document, engines))


class Watcher:
    def __init__(
        self,
        root: Path,
        engines: EngineSet,
        *,
        max_workers: int = 1,
        once: bool = False,
        poll_seconds: float | None = None,
        stable_seconds: float = DEFAULT_STABLE_SECONDS,
        invalid_grace_seconds: float = DEFAULT_INVALID_GRACE_SECONDS,
        stream: TextIO | None = None,
        node: str | None = None,
        stop: threading.Event | None = None,
        path_map: PathMap | None = None,
        stop_grace_seconds: float = STOP_GRACE_SECONDS,
    ):
        self.engines = engines
        self.path_map = path_map
        self.max_workers = max(1, int(max_workers))
        self.once = once
        self.poll_seconds = poll_seconds
        self.stable_seconds = max(0.0, stable_seconds)
        self.invalid_grace_seconds = max(self.stable_seconds, invalid_grace_seconds)
        self.owner = Owner.current(started_at=now_rfc3339(), node=node)
        self.log = WatchLog(self.owner.node, self.owner.pid, stream)
        self.folder = WatchFolder(root, self.owner, self.log)
        self.root, self.dirs, self.owner_dir = self.folder.root, self.folder.dirs, self.folder.owner_dir
        self.recovery = Recovery(self.folder, announce=self.announce)
        #: set to stop claiming and interrupt running clips (the CLI sets it on SIGINT/SIGTERM)
        self.stop = stop if stop is not None else threading.Event()
        self.wake = threading.Event()
        self._active: dict[str, Future[None]] = {}  # pending name -> future
        self._workers: dict[str, int] = {}  # pending name -> clips it may encode at once
        self.queue = PendingQueue(
            self.dirs["pending"],
            self.log,
            stable_seconds=self.stable_seconds,
            invalid_grace_seconds=self.invalid_grace_seconds,
        )
        self._pool: JobThreads | None = None
        #: how long a stop waits for running jobs to file their results before leaving them behind
        self.stop_grace_seconds = max(0.0, stop_grace_seconds)
        #: running/<owner>/owner.progress, what status pages read (set up by run())
        self.live: LiveRecord | None = None

    def announce(self, event: ProxxEvent) -> None:
        """Log a running-job event and hand it to every plugin's ``proxx_event`` (never raises)."""
        self.log(event.kind, job=event.job_id, index=event.clip_index, reason=event.message)
        for message in self.engines.event(event):
            self.log("error", job=event.job_id, reason=message)

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
            self.log(
                "stopping",
                signal=signal_name,
                running=len(self._active) or 0,
                reason="claiming stopped; running clips are killed and marked interrupted",
            )

    # ------------------------------------------------------------------------- scanning
    def scan(self) -> bool:
        """List pending/ and claim what can be claimed now. Return True while some pending file may
        still be taken later (settling, or waiting for a free slot): ``--once`` keeps going until
        it is False. The loop itself lists only every poll interval, never per finished job."""
        self.queue.refresh(time.monotonic())
        return self._step()

    def _step(self) -> bool:
        self.queue.process(time.monotonic())
        self._dispatch()
        return self.queue.busy()

    def _free_slots(self) -> int:
        return self.max_workers - sum(self._workers.get(name, 1) for name in self._active)

    def _dispatch(self) -> None:
        """Take ready names in name order while a worker slot is free (never hoard: a job is
        checked and claimed only when it can start now)."""
        while not self.stop.is_set() and self._free_slots() > 0:
            popped = self.queue.pop_ready()
            if popped is None:
                return
            name, entry = popped
            if name in self._active or (self.owner_dir / name).exists():
                self.queue.block(name, entry)  # a job of the same name runs here; take this one afterwards
                continue
            try:
                self._take(name, entry)
            except Exception as exc:  # a bug or fault in the pre-check: claim it; the run files it as failed
                self.log(
                    "error",
                    job=name,
                    reason=f"pre-check failed: {type(exc).__name__}: {exc}",
                    traceback=traceback.format_exc(),
                )
                claim = self._claim(name)
                if claim is not None:
                    self._start(claim, None, None, 1)

    def _take(self, name: str, entry: Entry) -> None:
        """One ready name: still the version that settled? name usable? complete JSON? runnable
        here? then claim it. The spec is read and validated once, here."""
        path = self.dirs["pending"] / name
        if self.queue.look(name, time.monotonic()) is not entry:
            return  # gone, or changed since it settled: settling again
        if bad_name_reason(name):
            self._set_aside_pending(name)
            return
        try:
            raw: bytes | None = read_bounded(path)
        except (FileNotFoundError, NotAFile):  # gone, or no longer a regular file: the next listing says
            self.queue.forget(name)
            return
        except OSError:
            raw = None  # claimed and filed with the read error (exit 4), like `proxx run`
        checked = check_spec(raw, path, self.engines, self.path_map)
        if checked.incomplete and not entry.grace_over:
            self.log.once(
                ("unparsed", name, entry.sig),
                "waiting",
                job=name,
                reason=(
                    f"not valid JSON yet; waiting up to {self.invalid_grace_seconds:g} s for its writer "
                    f"before failing it"
                ),
            )
            self.queue.wait_for_writer(name, entry)
            return
        if checked.only_missing_engines:
            self.queue.park(name, entry)
            why = "; ".join(p.message for p in checked.problems)
            self.log(
                "left",
                job=name,
                reason=f"this node cannot run it (engines here: {', '.join(self.engines.names) or 'none'}): {why}",
            )
            return
        claim = self._claim(name)
        if claim is None:
            return
        # a long intra clip's chunks count as clips: they fill the free slots (proxx_core.features.chunking)
        encodes = sum(len(c.chunked.spans) if c.chunked else 1 for c in checked.job.clips) if checked.job else 1
        workers = min(encodes, self._free_slots())
        self._start(claim, raw, checked, max(1, workers))

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

    def _claim(self, name: str) -> ClaimedJob | None:
        self.queue.forget(name)
        return self.folder.claim(name)

    def _start(self, claim: ClaimedJob, raw: bytes | None, checked: SpecCheck | None, workers: int) -> None:
        assert self._pool is not None
        self._workers[claim.name] = workers
        future = self._pool.submit(self._run_claimed, claim, raw, checked, workers)
        self._active[claim.name] = future
        future.add_done_callback(lambda _f: self.wake.set())  # after it is done, so the loop can reap it

    # ------------------------------------------------------------------------------- jobs
    def _run_claimed(
        self, claim: ClaimedJob, raw: bytes | None = None, checked: SpecCheck | None = None, workers: int = 1
    ) -> None:
        try:
            try:
                result = self._execute(claim, raw, checked, workers)
            except Exception as exc:  # a bug or an environment fault: file the job as failed, say why
                self.log(
                    "error", job=claim.name, reason=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc()
                )
                result = refused(
                    [
                        Problem(
                            path="",
                            category="io_error",
                            message=(f"the watch runner could not run this job: {type(exc).__name__}: {exc}"),
                        )
                    ],
                    document=read_spec(claim.path),
                    exit_code=EXIT_SYSTEM,
                )
            if result is None:
                return
            finished = finish_job(
                result,
                self.engines,
                timing={
                    "watch": {
                        "claim": claim.claim_id,
                        "claimed_at": claim.claimed_at,
                        "owner": self.owner.to_json(),
                        "spec_name": claim.name,
                    }
                },
            )
            result = finished.result
            for message in finished.sink_errors:
                self.log("error", job=claim.name, reason=message)
            for error in finished.hook_errors:  # result sinks; never change the result
                self.log("sink_failed", job=claim.name, reason=error)
            destination = "completed" if result.status == COMPLETED else "failed"
            res_rel, spec_rel = self.folder.file(claim.path, claim.name, result, claim.claim_id, destination)
            interrupted = sum(1 for c in result.clips if c.failure and c.failure.category == Category.INTERRUPTED)
            self.log(
                "finished",
                job=claim.name,
                job_id=result.job_id,
                status=result.status,
                exit_code=result.exit_code,
                result=res_rel,
                spec=spec_rel,
                interrupted=interrupted or None,
            )
        except Exception as exc:  # cannot even set it aside (storage fault): it stays in running/
            self.log(
                "error",
                job=claim.name,
                path=self.folder.rel(claim.path),
                reason=f"{type(exc).__name__}: {exc}; the job stays in running/ and is recovered "
                f"to failed/ at the next start on this node",
                traceback=traceback.format_exc(),
            )

    def _execute(
        self, claim: ClaimedJob, raw: bytes | None, checked: SpecCheck | None, workers: int
    ) -> JobResult | None:
        try:
            now_raw: bytes | None = read_bounded(claim.path)
        except OSError:
            now_raw = None
        if checked is None or now_raw is None or now_raw != raw:
            # it changed before the claim: check again
            checked = check_spec(now_raw, claim.path, self.engines, self.path_map)
        if checked.job is None:
            if checked.only_missing_engines and self.folder.give_back(claim):
                return None
            first = checked.problems[0] if checked.problems else None
            self.log("refused", job=claim.name, problems=len(checked.problems), first=str(first) if first else None)
            return checked.refusal
        # durability: a job that does work must not reappear in pending/ after a power cut (it
        # would be run again instead of being reported interrupted), so its claim is made durable
        # before the first encoder starts. A refused job needs no such fsync: it is filed at once.
        fsync_dir(str(self.owner_dir))
        self.log("started", job=claim.name, job_id=checked.job.job_id, clips=len(checked.job.clips), workers=workers)
        events: Any = ProgressLog(self.log, claim.name)
        live = self.live
        if live is not None:
            live.job_started(
                claim.name,
                checked.job.job_id,
                {c.index: c.source_info.duration_seconds for c in checked.job.clips},
                workers,
            )
            to_log, to_disk = events, live.listener(claim.name)

            def events(event: Any) -> None:
                to_log(event)
                to_disk(event)

        try:
            return run_job(checked.job, self.engines, max_workers=workers, cancel=self.stop, events=events)
        finally:
            if live is not None:
                live.job_finished(claim.name)

    # ------------------------------------------------------------------------------- loop
    def _reap(self) -> None:
        for name, fut in list(self._active.items()):  # at most max_workers
            if fut.done():
                del self._active[name]
                self._workers.pop(name, None)
                self.queue.requeue(name)  # a same-name file waiting for this job may go now

    def _start_observer(self) -> Any:
        if self.poll_seconds is not None:
            return None
        try:
            from watchdog.events import FileSystemEvent, FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError as exc:
            self.log("polling", reason=f"watchdog unavailable ({exc}); polling every {DEFAULT_POLL_SECONDS:g} s")
            return None
        wake, queue, pending = self.wake, self.queue, os.path.normpath(str(self.dirs["pending"]))

        def name_in_pending(path: str | bytes) -> str | None:
            path = os.fsdecode(path)
            return os.path.basename(path) if path and os.path.dirname(os.path.normpath(path)) == pending else None

        class Handler(FileSystemEventHandler):
            """Feeds the queue the names events mention; a rename into pending/ marks the file complete."""

            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.is_directory:
                    return
                src = name_in_pending(event.src_path)
                dest = name_in_pending(getattr(event, "dest_path", "") or "")
                if src:
                    queue.touch(src)
                if dest:
                    queue.touch(dest, moved=event.event_type == "moved")
                if src or dest:
                    wake.set()

        try:
            observer = Observer()
            observer.schedule(Handler(), str(self.dirs["pending"]), recursive=False)
            observer.daemon = True
            observer.start()
        except Exception as exc:
            self.log(
                "polling",
                reason=f"filesystem events unavailable ({type(exc).__name__}: {exc}); "
                f"polling every {DEFAULT_POLL_SECONDS:g} s",
            )
            return None
        return observer

    def run(self) -> int:
        """Watch until stopped (or, with ``once``, until nothing is left to take). Raises
        :class:`~proxx_core.watch.protocol.Fatal` when the folder cannot be used."""
        self.prepare()
        observer = None
        self._pool = JobThreads("proxx-watch-job")  # never more than max_workers at once (_free_slots)
        children = ChildrenRecord(self.folder)
        subscribe_children(children)
        self.live = LiveRecord(
            self.owner_dir,
            node=self.owner.node,
            pid=self.owner.pid,
            max_workers=self.max_workers,
            engines=engine_builds(self.engines),
            on_stall=self.announce,
            on_error=lambda exc: self.log.once(
                ("live", str(exc)),
                "error",
                reason=f"cannot write the live state in {self.folder.rel(self.owner_dir)}: {exc.strerror or exc}",
            ),
        )
        try:
            self.live.write()
            self.recover()
            observer = self._start_observer()
            if self.poll_seconds is not None:
                mode, interval = "polling", self.poll_seconds
            elif observer is not None:
                mode, interval = "events", EVENT_FALLBACK_POLL_SECONDS
            else:
                mode, interval = "polling", DEFAULT_POLL_SECONDS
            self.log(
                "watching",
                dir=str(self.root),
                mode=mode,
                max_workers=self.max_workers,
                once=self.once or None,
                engines=",".join(self.engines.names) or "none",
                owner=self.folder.rel(self.owner_dir),
            )
            for failure in self.engines.failures:
                self.log("engine_not_loaded", plugin=failure.plugin, reason=failure.reason)
            last_recovery = time.monotonic()
            next_listing = 0.0
            while not self.stop.is_set():
                self._reap()
                self.live.beat()
                now = time.monotonic()
                if now - last_recovery >= recovery.RECOVERY_INTERVAL_SECONDS:
                    self.recover()  # a sibling watcher of this node may have died since start-up
                    last_recovery = now
                listed = now >= next_listing
                if listed:
                    self.queue.refresh(now)
                    next_listing = now + interval
                more = self._step()
                self._reap()
                if self.once and not more and not self._active:
                    if listed:
                        break
                    next_listing = 0.0  # one last listing: files dropped meanwhile are taken too
                    continue
                due = self.queue.next_due()
                wait_until = next_listing if due is None else min(next_listing, due)
                self.wake.wait(min(interval, self.live.next_due(), max(0.005, wait_until - time.monotonic())))
                self.wake.clear()
        finally:
            left = self._pool.shutdown(self.stop_grace_seconds if self.stop.is_set() else None)
            if left:
                self.log(
                    "abandoned",
                    jobs=len(left),
                    reason=(
                        f"still running {self.stop_grace_seconds:g} s after the stop (blocked); their claims stay "
                        f"in running/ and the next start on this node recovers them"
                    ),
                )
            unsubscribe_children(children)
            self._reap()
            if observer is not None:
                observer.stop()
                observer.join(timeout=5)
            self.live.remove()
            self.release()
        self.log("stopped", reason="signal" if self.stop.is_set() else "nothing left to do (--once)")
        return 0
