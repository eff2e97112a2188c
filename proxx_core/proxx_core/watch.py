"""The watch folder: ``DIR/pending/ running/ completed/ failed/`` (operator guide: docs/watch-folders.md).

One pass of the loop, in pending/'s name order:

1. **Settle**: a spec is a candidate only once its (device, inode, size, mtime) has been unchanged
   across two observations at least ``stable_seconds`` apart (measured on this process's monotonic
   clock, never against file times) *and* it parses as JSON, or it has been unchanged for
   ``invalid_grace_seconds`` (then it is claimed and fails as invalid JSON).
2. **Pre-check** with :func:`check_job_file` (reading a pending file is harmless). A job whose only
   problems are missing engines is left in pending/ for a node that has them; that is logged once
   per file identity.
3. **Claim** by one atomic rename ``pending/X.json -> running/<owner>/X.json``, only when a worker
   slot is free (no hoarding). ``<owner>`` is this process's own folder, created (with its
   ``owner.json``) before any claim, so every claimed job is always attributable to a node, pid and
   process start token. The rename is the arbiter: a loser gets FileNotFoundError and moves on.
4. **Run**: re-validate the claimed file (it may have changed), then :func:`run_job` with one clip
   at a time and this process's cancel event.
5. **Finish**: write ``<stem>.result.json`` atomically and without clobbering into completed/
   (COMPLETED) or failed/ (everything else), *then* move the spec beside it. A name already taken
   gets a deterministic suffix: ``<stem>.2.json`` / ``<stem>.2.result.json``, ``.3`` ...

At start-up, jobs under ``running/`` owned by a dead process **of this node** go to failed/ with a
result whose every clip is ``interrupted``; other nodes' and live processes' jobs are never touched.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import stat
import sys
import threading
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any, TextIO

import attrs

from .api import check_job_file
from .atomic import fsync_dir, publish, write_text_atomic
from .errors import Problem
from .jobs import temp_path_for
from .jsonload import MAX_DOCUMENT_BYTES, DocumentInvalid, decode_document
from .plugins import EngineSet, load_engines
from .process import live_children, subscribe_children, unsubscribe_children
from .profiles import PROFILES
from .results import (
    COMPLETED, EXIT_EXECUTION, EXIT_SYSTEM, FAILED, RESULT_VERSION, ClipResult, Failure, JobResult,
    OutputRecord, dumps, environment, now_rfc3339, proxx_version, refused,
)
from .runner import run_job
from .spec import derive_job_id, jobspec_sha256, render_name
from .watch_owner import (
    CHILDREN_FILE, OWNER_FILE, Liveness, Owner, judge, owner_from_dirname, pid_exists, process_start_token,
)

SUBDIRS = ("pending", "running", "completed", "failed")
FINISHING_SUFFIX = ".finishing"
DEFAULT_STABLE_SECONDS = 1.0
DEFAULT_INVALID_GRACE_SECONDS = 30.0
#: with filesystem events, still rescan this often (missed events, network filesystems)
EVENT_FALLBACK_POLL_SECONDS = 5.0
DEFAULT_POLL_SECONDS = 2.0
#: how often a running watcher looks for jobs of dead sibling processes of this node
RECOVERY_INTERVAL_SECONDS = 30.0
#: a dead process's leftover marker or temp file is removed only once it is this old
ORPHAN_SECONDS = 60.0
#: a pending file whose name is longer (UTF-8 bytes) or not UTF-8 is set aside, never run: its result's
#: name and the temporary names beside it must fit the usual 255-byte file-name limit
MAX_SPEC_NAME_BYTES = 200
#: the stem a set-aside file gets in failed/ when its own name cannot be used
BADNAME_PREFIX = "badname-"
#: files of an owner folder that are bookkeeping, not claimed jobs
BOOKKEEPING = (OWNER_FILE, CHILDREN_FILE)


# --------------------------------------------------------------------------------------------- log

def _quote(value: Any) -> str:
    text = "" if value is None else str(value)
    if text and not any(c.isspace() or c in '"=\\' or not c.isprintable() for c in text):
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a file name that is not UTF-8: keep the log line writable
        return json.dumps(text, ensure_ascii=True)
    return json.dumps(text, ensure_ascii=False)


class Log:
    """One greppable ``key=value`` line per state change, on stderr."""

    def __init__(self, owner: Owner, stream: TextIO | None = None):
        self.owner = owner
        self.stream = stream
        self._lock = threading.RLock()  # re-entrant: the signal handler logs too

    def __call__(self, event: str, **fields: Any) -> None:
        parts = [now_rfc3339(), "proxx-watch", f"event={event}"]
        job = fields.pop("job", None)
        if job is not None:
            parts.append(f"job={_quote(job)}")
        parts += [f"node={_quote(self.owner.node)}", f"pid={self.owner.pid}"]
        parts += [f"{k}={_quote(v)}" for k, v in fields.items() if v is not None]
        line = " ".join(parts) + "\n"
        stream = self.stream or sys.stderr
        with self._lock:
            try:
                stream.write(line)
                stream.flush()
            except (OSError, ValueError):
                pass


# -------------------------------------------------------------------------------------- helpers

def is_candidate_name(name: str) -> bool:
    """A pending file Proxx considers: ``*.json``, not a result, not hidden or an editor temp."""
    return (name.endswith(".json") and not name.endswith(".result.json")
            and not name.startswith((".", "~")) and len(name) > len(".json"))


def _signature(st: os.stat_result) -> tuple:
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


def _parses(path: Path) -> bool:
    """Complete JSON (acceptable or not): not something a writer may still be writing."""
    try:
        decode_document(_read_bounded(path))
    except DocumentInvalid as exc:
        return not exc.incomplete
    except OSError:
        return False
    return True


def bad_name_reason(name: str) -> str | None:
    """Why a job file's name cannot be used for its result (so the job is set aside), or None."""
    try:
        size = len(name.encode("utf-8"))
    except UnicodeEncodeError:
        return "has a name that is not UTF-8 text"
    if size > MAX_SPEC_NAME_BYTES:
        return (f"has a name {size} bytes long; the limit is {MAX_SPEC_NAME_BYTES} bytes, so that "
                f"<name>.result.json fits the file system's name limit")
    return None


def _printable_name(name: str) -> str:
    """The file name as text; bytes that are not UTF-8 are shown as \\xNN."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def _aside_stem(name: str) -> str:
    return BADNAME_PREFIX + hashlib.sha256(os.fsencode(name)).hexdigest()[:16]


def _stem(name: str) -> str:
    return name[: -len(".json")] if name.endswith(".json") else name


def _names(stem: str, n: int) -> tuple[str, str]:
    base = stem if n == 1 else f"{stem}.{n}"
    return f"{base}.json", f"{base}.result.json"


@attrs.frozen
class Claim:
    name: str  # the file name in pending/
    path: Path  # running/<owner>/<name>
    claim_id: str
    claimed_at: str


class Fatal(Exception):
    pass


# ------------------------------------------------------------------------------------- watcher

class Watcher:
    def __init__(self, root: Path, engines: EngineSet, *, max_workers: int = 1, once: bool = False,
                 poll_seconds: float | None = None, stable_seconds: float = DEFAULT_STABLE_SECONDS,
                 invalid_grace_seconds: float = DEFAULT_INVALID_GRACE_SECONDS, stream: TextIO | None = None):
        self.root = Path(os.path.abspath(root))
        self.dirs = {name: self.root / name for name in SUBDIRS}
        self.engines = engines
        self.max_workers = max(1, int(max_workers))
        self.once = once
        self.poll_seconds = poll_seconds
        self.stable_seconds = max(0.0, stable_seconds)
        self.invalid_grace_seconds = max(self.stable_seconds, invalid_grace_seconds)
        self.owner = Owner.current(started_at=now_rfc3339())
        self.owner_dir = self.dirs["running"] / self.owner.dirname
        self.log = Log(self.owner, stream)
        self.stop = threading.Event()  # stop claiming
        self.cancel = threading.Event()  # interrupt running clips
        self.wake = threading.Event()
        self._finish_lock = threading.Lock()
        self._active: dict[str, Future] = {}  # pending name -> future
        self._seen: dict[str, tuple[tuple, float]] = {}  # name -> (signature, first seen, monotonic)
        self._left: dict[str, tuple] = {}  # name -> signature already logged as "left"
        self._noted: set[tuple] = set()  # one-time log keys
        self._children_lock = threading.Lock()

    # ---------------------------------------------------------------- setup and teardown
    def prepare(self) -> None:
        """Check the folder, create missing subfolders and this process's owner folder (fatal on failure)."""
        if not self.root.exists():
            raise Fatal(f"watch folder {self.root} does not exist; create it (Proxx creates only its subfolders)")
        if not self.root.is_dir():
            raise Fatal(f"watch folder {self.root} is not a directory")
        for name, path in self.dirs.items():
            if path.exists() and not path.is_dir():
                raise Fatal(f"{path} exists but is not a directory; move it away")
            try:
                path.mkdir(exist_ok=True)
            except OSError as exc:
                raise Fatal(f"cannot create {path}: {exc.strerror or exc}; check permissions") from None
            if not os.access(path, os.W_OK | os.X_OK):
                raise Fatal(f"{path} is not writable by this user; check permissions")
        try:
            self._register()
        except OSError as exc:
            raise Fatal(f"cannot register this process under {self.dirs['running']}: {exc.strerror or exc}; "
                        f"check that the watch folder is writable") from None

    def _register(self) -> None:
        """Create ``running/<owner>/owner.json``; the folder appears complete or not at all."""
        tmp = self.dirs["running"] / f".{self.owner.dirname}.tmp"
        try:
            tmp.mkdir()
            write_text_atomic(tmp / OWNER_FILE, json.dumps(self.owner.to_json(), indent=2) + "\n", overwrite=False)
            os.rename(tmp, self.owner_dir)
            fsync_dir(str(self.dirs["running"]))
        except OSError:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def release(self) -> None:
        """Remove this process's owner folder if it holds nothing but owner.json."""
        try:
            rest = [p for p in os.listdir(self.owner_dir) if p not in BOOKKEEPING]
            if rest:
                self.log("owner_kept", path=self._rel(self.owner_dir), entries=len(rest),
                         reason="jobs could not be finished; the next start on this node recovers them")
                return
            _unlink(self.owner_dir / CHILDREN_FILE)
            os.unlink(self.owner_dir / OWNER_FILE)
            os.rmdir(self.owner_dir)
        except OSError:
            pass

    def _rel(self, path: Path | str) -> str:
        try:
            return os.path.relpath(path, self.root)
        except ValueError:
            return str(path)

    def _note_once(self, key: tuple, event: str, **fields: Any) -> None:
        if key not in self._noted:
            self._noted.add(key)
            self.log(event, **fields)

    # ---------------------------------------------------------------------------- recovery
    def recover(self) -> None:
        """Finish what dead processes of this node left in running/; never touch anything else."""
        running = self.dirs["running"]
        try:
            entries = sorted(os.listdir(running))
        except OSError as exc:
            self.log("error", reason=f"cannot list {running}: {exc.strerror or exc}")
            return
        for entry in entries:
            try:
                self._recover_entry(running / entry, entry)
            except Exception as exc:  # one bad folder must never stop the watcher
                self.log("error", path=self._rel(running / entry), reason=f"recovery failed: {type(exc).__name__}: "
                         f"{exc}; left in place", traceback=traceback.format_exc())

    def _recover_entry(self, path: Path, entry: str) -> None:
        if path == self.owner_dir:
            return
        hidden = entry.startswith(".")
        if not path.is_dir():
            if not hidden:
                self._note_once(("stray", entry), "ignored", path=self._rel(path),
                                reason="not a claim folder; Proxx leaves it alone")
            return
        owner = _read_owner(path / OWNER_FILE)
        if owner is None:
            if not hidden:
                self._recover_unowned(path, entry)
            return
        verdict = judge(owner, self.owner)
        if verdict.state != "dead":
            if not hidden:
                self._note_once(("left_running", entry, owner.pid), "left_running", path=self._rel(path),
                                owner_node=owner.node, owner_pid=owner.pid, reason=verdict.reason)
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
            self.log("removed", path=self._rel(path), reason="an empty owner folder without owner.json")
            return
        except OSError:
            pass
        guess = owner_from_dirname(entry, self.owner)
        verdict = judge(guess, self.owner) if guess is not None else None
        if guess is None or verdict is None or verdict.state != "dead":
            self._note_once(("unowned", entry), "ignored", path=self._rel(path), reason=(
                "no readable owner.json, and its name does not show a finished process of this node; "
                "Proxx leaves it alone"))
            return
        self._recover_owner_dir(path, guess, Liveness("dead", f"its folder has no owner.json and {verdict.reason}"))

    def _recover_owner_dir(self, path: Path, owner: Owner, verdict: Liveness) -> None:
        self._kill_children(path, owner)
        try:
            names = sorted(n for n in os.listdir(path) if n not in BOOKKEEPING and not n.endswith(FINISHING_SUFFIX)
                           and not n.startswith("."))
        except FileNotFoundError:
            return  # another watcher of this node finished recovering it
        for name in names:
            try:
                if self._adopt(path, name):
                    self._recover_job(self.owner_dir, name, owner, verdict)
            except Exception as exc:  # one job must never stop the recovery of the others
                self.log("error", job=name, path=self._rel(path / name), reason=(
                    f"recovery failed: {type(exc).__name__}: {getattr(exc, 'strerror', None) or exc}; left in place"),
                    traceback=None if isinstance(exc, OSError) else traceback.format_exc())
        try:
            leftovers = [n for n in os.listdir(path) if n not in BOOKKEEPING]
            for n in leftovers:  # stale markers / temp files of finished jobs; young ones may
                # belong to a job another watcher is adopting right now, so they wait a pass
                if (n.endswith(FINISHING_SUFFIX) or n.startswith(".")) and _age(path / n) > ORPHAN_SECONDS:
                    _unlink(path / n)
            if not [n for n in os.listdir(path) if n not in BOOKKEEPING]:
                _unlink(path / CHILDREN_FILE)
                _unlink(path / OWNER_FILE)
                os.rmdir(path)
        except OSError:
            pass  # gone already, or not empty yet: a later pass tidies it

    def _adopt(self, dead_dir: Path, name: str) -> bool:
        """Move a dead process's job into this process's own folder first: the rename decides
        which of several recovering watchers handles it, so a job is never recovered twice. If this
        process dies in turn, the job is simply recovered again from here."""
        if (self.owner_dir / name).exists():
            return False  # a job of that name runs here now; recovered on a later pass
        try:
            os.rename(dead_dir / name, self.owner_dir / name)
        except FileNotFoundError:
            return False  # another watcher of this node adopted it first
        marker = name + FINISHING_SUFFIX
        try:
            os.rename(dead_dir / marker, self.owner_dir / marker)
        except OSError:  # none (usual), or a name too long to have one
            pass
        fsync_dir(str(self.owner_dir))
        return True

    def _recover_job(self, folder: Path, name: str, owner: Owner, verdict: Liveness) -> None:
        spec_path = folder / name
        marker = _read_json(folder / (name + FINISHING_SUFFIX))
        if (bad_name_reason(name) is None and isinstance(marker, dict)
                and marker.get("destination") in ("completed", "failed")
                and is_candidate_name(str(marker.get("spec_name"))) and self._result_written(marker)):
            # crashed after publishing the result, before moving the spec: just finish the move
            dest_dir = self.dirs[marker["destination"]]
            final = self._move_spec(spec_path, dest_dir, marker["spec_name"])
            _unlink(folder / (name + FINISHING_SUFFIX))
            self.log("recovered", job=name, spec=self._rel(final), result=marker.get("result"),
                     reason="result was already written; spec moved beside it")
            return
        document = _read_spec(spec_path)
        claim_id = f"{owner.dirname}/{name}"
        message = (f"the watch process that claimed this job ({verdict.reason}) stopped before the job "
                   f"finished; recovered by process {self.owner.pid} on node {self.owner.node}")
        result = interrupted_result(document, message, timing_extra={
            "watch": {"claim": claim_id, "owner": owner.to_json(), "recovered_by": self.owner.to_json(),
                      "recovered_at": now_rfc3339()}})
        res_rel, spec_rel = self._file(spec_path, name, result, claim_id, destination="failed")
        self.log("recovered", job=name, status=result.status, owner_pid=owner.pid, spec=spec_rel,
                 result=res_rel, reason=verdict.reason)

    def _result_written(self, marker: dict) -> bool:
        rel = marker.get("result")
        if not isinstance(rel, str):
            return False
        data = _read_json(self.root / rel)
        try:
            return data["timing"]["watch"]["claim"] == marker.get("claim")
        except (TypeError, KeyError):
            return False

    # ------------------------------------------------------------------------- scanning
    def scan(self) -> bool:
        """Claim what can be claimed now. Return True while some pending file may still be taken
        later (settling, or waiting for a free slot): ``--once`` keeps going until it is False."""
        pending = self.dirs["pending"]
        try:
            names = sorted(os.listdir(pending))
        except OSError as exc:
            self._note_once(("scan_error", str(exc)), "error", reason=f"cannot list {pending}: {exc.strerror or exc}")
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
                self._note_once(("notfile", name, _signature(st)), "ignored", job=name,
                                reason="not a regular file (symlinks and folders are not taken)")
                continue
            present.add(name)
            sig = _signature(st)
            seen = self._seen.get(name)
            if seen is None or seen[0] != sig:
                self._seen[name] = (sig, now)
                age = 0.0
            else:
                age = now - seen[1]
            if self._left.get(name) == sig:
                continue  # needs an engine this node lacks; already logged
            if self.stop.is_set():
                continue
            if len(self._active) >= self.max_workers:
                more = True  # no free slot: never claim more than can start now
                continue
            if name in self._active or (self.owner_dir / name).exists():
                more = True  # a job of the same name is running here; take this one afterwards
                continue
            if age < self.stable_seconds or seen is None:
                more = True
                continue
            if bad_name_reason(name):
                self._set_aside_pending(name)
                continue
            if not _parses(path) and age < self.invalid_grace_seconds:
                self._note_once(("unparsed", name, sig), "waiting", job=name, reason=(
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
                    self._active[name] = self._pool.submit(self._run_claimed, claim)
        for gone in set(self._seen) - present:
            self._seen.pop(gone, None)
            self._left.pop(gone, None)
        return more

    def _set_aside_pending(self, name: str) -> None:
        """Claim a file whose name cannot carry a result, and set it aside with a plain-text reason."""
        claim = self._claim(name)
        if claim is None:
            return
        why = f"this job file {bad_name_reason(name)}; rename it (shorter, UTF-8) and drop it into pending/ again"
        try:
            self._set_aside(claim.path, name, why)
        except OSError as exc:
            self.log("error", job=name, reason=f"cannot set it aside: {exc.strerror or exc}; it stays in running/")

    def _consider(self, name: str, path: Path, sig: tuple) -> None:
        checked = check_job_file(path, self.engines)
        if checked.only_missing_engines:
            self._left[name] = sig
            why = "; ".join(p.message for p in checked.problems)
            self.log("left", job=name, reason=f"this node cannot run it (engines here: "
                     f"{', '.join(self.engines.names) or 'none'}): {why}")
            return
        if self.stop.is_set():
            return
        claim = self._claim(name)
        if claim is None:
            return
        self._active[name] = self._pool.submit(self._run_claimed, claim)

    def _claim(self, name: str) -> Claim | None:
        src = self.dirs["pending"] / name
        dst = self.owner_dir / name
        try:
            os.rename(src, dst)  # the arbiter: exactly one claimant wins
        except FileNotFoundError:
            if not (self.owner_dir / OWNER_FILE).is_file():  # someone removed our owner folder
                self.log("error", job=name, reason=f"owner folder {self._rel(self.owner_dir)} disappeared; "
                                                   f"registering again")
                try:
                    if self.owner_dir.is_dir():
                        write_text_atomic(self.owner_dir / OWNER_FILE,
                                          json.dumps(self.owner.to_json(), indent=2) + "\n", overwrite=True)
                    else:
                        self._register()
                except OSError as exc:
                    self.log("error", reason=f"cannot register again: {exc.strerror or exc}")
                return None
            self.log("claim_lost", job=name, reason="another watch process claimed it first")
            self._seen.pop(name, None)
            return None
        except OSError as exc:
            self._note_once(("claim_error", name, str(exc)), "error", job=name,
                            reason=f"cannot claim: {exc.strerror or exc}; left in pending/")
            return None
        fsync_dir(str(self.owner_dir))
        self._seen.pop(name, None)
        claim = Claim(name=name, path=dst, claim_id=f"{self.owner.dirname}/{name}", claimed_at=now_rfc3339())
        self.log("claimed", job=name, claim=self._rel(dst))
        return claim

    # ------------------------------------------------------------------------------- jobs
    def _run_claimed(self, claim: Claim) -> None:
        try:
            try:
                result = self._execute(claim)
            except Exception as exc:  # a bug or an environment fault: file the job as failed, say why
                self.log("error", job=claim.name, reason=f"{type(exc).__name__}: {exc}",
                         traceback=traceback.format_exc())
                result = refused([Problem(path="", category="io_error", message=(
                    f"the watch runner could not run this job: {type(exc).__name__}: {exc}"))],
                    document=_read_spec(claim.path), exit_code=EXIT_SYSTEM)
            if result is None:
                return
            result = attrs.evolve(result, timing={**result.timing, "watch": {
                "claim": claim.claim_id, "claimed_at": claim.claimed_at, "owner": self.owner.to_json(),
                "spec_name": claim.name}})
            destination = "completed" if result.status == COMPLETED else "failed"
            res_rel, spec_rel = self._file(claim.path, claim.name, result, claim.claim_id, destination)
            interrupted = sum(1 for c in result.clips if c.failure and c.failure.category == "interrupted")
            self.log("finished", job=claim.name, job_id=result.job_id, status=result.status,
                     exit_code=result.exit_code, result=res_rel, spec=spec_rel, interrupted=interrupted or None)
        except Exception as exc:  # cannot even set it aside (storage fault): it stays in running/
            self.log("error", job=claim.name, path=self._rel(claim.path),
                     reason=f"{type(exc).__name__}: {exc}; the job stays in running/ and is recovered "
                            f"to failed/ at the next start on this node", traceback=traceback.format_exc())
        finally:
            self.wake.set()

    def _execute(self, claim: Claim) -> JobResult | None:
        checked = check_job_file(claim.path, self.engines)  # again: the file may have changed
        if checked.job is None:
            if checked.only_missing_engines and self._give_back(claim):
                return None
            first = checked.problems[0] if checked.problems else None
            self.log("refused", job=claim.name, problems=len(checked.problems),
                     first=str(first) if first else None)
            return checked.refusal
        self.log("started", job=claim.name, job_id=checked.job.job_id, clips=len(checked.job.clips))
        return run_job(checked.job, self.engines, max_workers=1, cancel=self.cancel)

    def _give_back(self, claim: Claim) -> bool:
        try:
            publish(str(claim.path), str(self.dirs["pending"] / claim.name), overwrite=False)
        except OSError:
            return False
        self.log("returned", job=claim.name, reason="after claiming, it needs an engine this node lacks")
        return True

    def _file(self, spec_path: Path, name: str, result: JobResult, claim_id: str,
              destination: str) -> tuple[str, str]:
        """File a job whatever its result holds: the full result; else a bare one (no spec, no clips)
        that says why; else, or when the name cannot carry a result, the spec set aside with a
        plain-text reason. Only a storage fault can stop all three (OSError: left for recovery)."""
        why = bad_name_reason(name)
        if why:
            return self._set_aside(spec_path, name, (
                f"this job file {why}; rename it (shorter, UTF-8) and drop it into pending/ again. "
                f"What happened to it: {result.status}; {_summary(result)}"))
        try:
            return self._finish_files(spec_path, name, result, claim_id, destination)
        except Exception as exc:
            first = f"{type(exc).__name__}: {exc}"
            self.log("error", job=name, reason=f"cannot write its result: {first}; writing a bare one",
                     traceback=traceback.format_exc())
        bare = attrs.evolve(result, status=FAILED, exit_code=EXIT_SYSTEM, clips=(), jobspec=None, user_metadata=None,
                            problems=(*result.problems, Problem(path="", category="io_error", message=(
                                f"the full result of this job could not be written ({first}); this bare result "
                                f"replaces it. The job's own status was {result.status}: check its outputs "
                                f"before using them"))))
        try:
            return self._finish_files(spec_path, name, bare, claim_id, "failed")
        except Exception as exc:
            second = f"{type(exc).__name__}: {exc}"
            self.log("error", job=name, reason=f"cannot write a bare result either: {second}; setting it aside",
                     traceback=traceback.format_exc())
        _unlink_quietly(spec_path.parent / (name + FINISHING_SUFFIX))
        return self._set_aside(spec_path, name, (
            f"no result could be written for this job ({first}; then {second}). "
            f"What happened to it: {result.status}; {_summary(result)}"))

    def _set_aside(self, spec_path: Path, name: str, why: str) -> tuple[str, str]:
        """Move a job to failed/ with ``<stem>.reason.txt`` (plain text) beside it; a name that cannot
        be used becomes ``badname-<first 16 hex digits of the SHA-256 of the name's bytes>``."""
        stem = _aside_stem(name) if bad_name_reason(name) else _stem(name)
        text = (f"Proxx did not run this job, or could not write its result.\n"
                f"file name: {_printable_name(name)}\n"
                f"set aside at: {now_rfc3339()} by process {self.owner.pid} on node {self.owner.node}\n"
                f"reason: {why}\n")
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
        dest_dir = self.dirs["failed"]
        with self._finish_lock:
            n = 1
            while True:
                base = stem if n == 1 else f"{stem}.{n}"
                spec_name, reason_name = f"{base}.json", f"{base}.reason.txt"
                if (dest_dir / spec_name).exists() or (dest_dir / reason_name).exists():
                    n += 1
                    continue
                try:
                    write_text_atomic(dest_dir / reason_name, text, overwrite=False)
                except FileExistsError:
                    n += 1
                    continue
                try:
                    publish(str(spec_path), str(dest_dir / spec_name), overwrite=False)
                except FileExistsError:
                    _unlink(dest_dir / reason_name)
                    n += 1
                    continue
                self.log("set_aside", job=name, spec=f"failed/{spec_name}", reason_file=f"failed/{reason_name}",
                         reason=why)
                return f"failed/{reason_name}", f"failed/{spec_name}"

    def _finish_files(self, spec_path: Path, name: str, result: JobResult, claim_id: str,
                      destination: str) -> tuple[str, str]:
        """Result first (atomic, no clobber), then the spec beside it; suffix .2, .3... on clashes."""
        dest_dir = self.dirs[destination]
        marker = spec_path.parent / (name + FINISHING_SUFFIX)
        text = dumps(result)
        text.encode("utf-8")  # fails here, before anything is written, if it cannot be stored
        with self._finish_lock:
            n = 1
            while True:
                spec_name, result_name = _names(_stem(name), n)
                if (dest_dir / spec_name).exists() or (dest_dir / result_name).exists():
                    n += 1
                    continue
                write_text_atomic(marker, json.dumps({"claim": claim_id, "destination": destination,
                                                      "result": f"{destination}/{result_name}",
                                                      "spec_name": spec_name}), overwrite=True)
                try:
                    write_text_atomic(dest_dir / result_name, text, overwrite=False)
                except FileExistsError:
                    n += 1
                    continue
                try:
                    publish(str(spec_path), str(dest_dir / spec_name), overwrite=False)
                except FileExistsError:  # someone took the spec name meanwhile: free ours, try the next
                    _unlink(dest_dir / result_name)
                    n += 1
                    continue
                _unlink(marker)
                return f"{destination}/{result_name}", f"{destination}/{spec_name}"

    def _move_spec(self, spec_path: Path, dest_dir: Path, spec_name: str) -> Path:
        n = 1
        stem = _stem(spec_name)
        while True:
            target = dest_dir / (spec_name if n == 1 else f"{stem}.moved-{n}.json")
            try:
                publish(str(spec_path), str(target), overwrite=False)
                return target
            except FileExistsError:
                n += 1

    # ------------------------------------------------------------------- encoder process groups
    def _record_children(self, _pids) -> None:
        """Keep ``running/<owner>/owner.children.json`` equal to this process's live encoders, so a
        recovering watcher can kill them if this process dies."""
        with self._children_lock:
            entries = []
            for pid in live_children():
                entries.append({"pid": pid, "pgid": pid, "start_token": process_start_token(pid)})
            try:
                write_text_atomic(self.owner_dir / CHILDREN_FILE, json.dumps({"children": entries}) + "\n")
            except OSError as exc:
                self._note_once(("children", str(exc)), "error", reason=(
                    f"cannot record encoder processes in {self._rel(self.owner_dir)}: {exc.strerror or exc}"))

    def _kill_children(self, folder: Path, owner: Owner) -> None:
        """Kill the recorded encoder process groups of a dead owner of this node, but only a process
        that is still the one recorded (same start token: a reused pid is never touched)."""
        data = _read_json(folder / CHILDREN_FILE)
        entries = data.get("children") if isinstance(data, dict) else None
        if owner.node != self.owner.node or not isinstance(entries, list):
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
            self.log("killed", pid=pid, pgid=pgid, owner_pid=owner.pid,
                     reason=f"encoder of process {owner.pid}, which is gone; killed before recovering its jobs")

    # ------------------------------------------------------------------------------- loop
    def _reap(self) -> None:
        for name, fut in list(self._active.items()):
            if fut.done():
                del self._active[name]

    def request_stop(self, signum: int) -> None:
        first = not self.stop.is_set()
        self.stop.set()
        self.cancel.set()
        self.wake.set()
        if first:
            self.log("stopping", signal=signal.Signals(signum).name, running=len(self._active) or 0,
                     reason="claiming stopped; running clips are killed and marked interrupted")

    def _start_observer(self):
        if self.poll_seconds is not None:
            return None
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError as exc:
            self.log("polling", reason=f"watchdog unavailable ({exc}); polling every {DEFAULT_POLL_SECONDS:g} s")
            return None
        wake = self.wake

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event):  # noqa: ARG002
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
        self.prepare()
        observer = None
        self._pool = ThreadPoolExecutor(max_workers=self.max_workers, thread_name_prefix="proxx-watch-job")
        subscribe_children(self._record_children)
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
                     engines=",".join(self.engines.names) or "none", owner=self._rel(self.owner_dir))
            for failure in self.engines.failures:
                self.log("engine_not_loaded", plugin=failure.plugin, reason=failure.reason)
            last_recovery = time.monotonic()
            while not self.stop.is_set():
                self._reap()
                if time.monotonic() - last_recovery >= RECOVERY_INTERVAL_SECONDS:
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
            unsubscribe_children(self._record_children)
            self._reap()
            if observer is not None:
                observer.stop()
                observer.join(timeout=5)
            self.release()
        self.log("stopped", reason="signal" if self.stop.is_set() else "nothing left to do (--once)")
        return 0


# ------------------------------------------------------------------------------ result for a crash

def interrupted_result(document: Any, message: str, *, timing_extra: dict | None = None) -> JobResult:
    """A FAILED result for a job whose process died mid-run: every clip ``interrupted``.

    Built from the spec alone (no probing): sources, profile and output names where the spec allows,
    with a note when a file exists under a clip's final or temporary output name.
    """
    doc = document if isinstance(document, dict) else None
    clips: list[ClipResult] = []
    problems: tuple[Problem, ...] = ()
    sources = doc.get("sources") if doc else None
    if isinstance(sources, list) and all(isinstance(s, str) for s in sources):
        profile_name = doc.get("proxy_profile")
        profile = PROFILES.get(profile_name) if isinstance(profile_name, str) else None
        template = doc.get("output_name_template")
        out_dir = doc.get("output_dir")
        for i, src in enumerate(sources):
            final = None
            if profile and isinstance(template, str) and isinstance(out_dir, str):
                try:
                    final = os.path.join(out_dir, render_name(
                        template, source=src, index=i + 1, count=len(sources), job_id=derive_job_id(doc),
                        profile=profile.name, extension=profile.extension))
                except Exception:
                    final = None
            notes = [message]
            output = None
            if final:
                temp = temp_path_for(final)
                kept = temp if os.path.lexists(temp) else None
                if os.path.lexists(final):
                    notes.append(f"a file exists at {final}; this result cannot vouch for it: check or delete it "
                                 f"before running the job again")
                if kept:
                    notes.append(f"an unfinished output was left at {temp}; delete it before running the job again")
                output = OutputRecord(path=final, size=None, sha256=None, verification=None, kept_temp_path=kept)
            try:
                size = os.path.getsize(src)
            except OSError:
                size = None
            clips.append(ClipResult(index=i + 1, source={"path": src, "size": size, "info": None}, engine=None,
                                    profile=profile_name if isinstance(profile_name, str) else "",
                                    output=output, status=FAILED,
                                    failure=Failure(category="interrupted", message="; ".join(notes))))
    else:
        problems = (Problem(path="", message=message, category="interrupted"),)
    ok_doc = doc is not None
    job_id = None
    if ok_doc and isinstance(doc.get("job_id", ""), str):
        job_id = derive_job_id(doc)
    now = now_rfc3339()
    timing = {"started_at": None, "finished_at": now, "seconds": None, **(timing_extra or {})}
    return JobResult(result_version=RESULT_VERSION, proxx_version=proxx_version(), job_id=job_id,
                     jobspec_sha256=jobspec_sha256(doc) if ok_doc else None, status=FAILED,
                     exit_code=EXIT_EXECUTION, environment=environment([]),
                     user_metadata=doc.get("user_metadata") if ok_doc else None, clips=tuple(clips),
                     timing=timing, problems=problems, jobspec=document)


# ------------------------------------------------------------------------------------ small I/O

def _age(path: Path) -> float:
    try:
        return time.time() - os.lstat(path).st_mtime
    except OSError:
        return 0.0


def _unlink(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass


def _unlink_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def _read_json(path: Path) -> Any:
    """A small file Proxx wrote itself (owner, marker, result), or None."""
    try:
        return json.loads(_read_bounded(path).decode("utf-8"))
    except (OSError, ValueError, RecursionError):
        return None


def _read_bounded(path: Path) -> bytes:
    with open(path, "rb") as fh:
        return fh.read(MAX_DOCUMENT_BYTES + 1)


def _read_spec(path: Path) -> Any:
    """A job file's document if it is acceptable JSON (strict, bounded), else None: safe to put
    into a result whatever the file holds."""
    try:
        return decode_document(_read_bounded(path))
    except (OSError, DocumentInvalid):
        return None


def _summary(result: JobResult) -> str:
    failures = [f"clip {c.index}: {c.failure.category}" for c in result.clips if c.failure]
    problems = [f"{p.path or '/'}: {p.message}" for p in result.problems]
    text = "; ".join(problems + failures) or f"{len(result.clips)} clip(s)"
    return text if len(text) <= 2000 else text[:1999] + "…"


def _running(pid: int, token: str) -> bool:
    """Still the recorded process, and not a zombie waiting to be reaped."""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            if fh.read().rsplit(")", 1)[1].split()[0] == "Z":
                return False
    except (OSError, IndexError):
        pass
    return pid_exists(pid) is True and process_start_token(pid) == token


def _read_owner(path: Path) -> Owner | None:
    return Owner.from_json(_read_json(path))


# --------------------------------------------------------------------------------------- entry

def _env_float(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        return default
    return value if value >= 0 else default


def watch_main(root: Path, *, max_workers: int = 1, once: bool = False, poll_seconds: float | None = None,
               engines: EngineSet | None = None, stable_seconds: float | None = None,
               invalid_grace_seconds: float | None = None, stream: TextIO | None = None,
               install_signal_handlers: bool = True) -> int:
    """``proxx watch``: 0 when stopped by SIGINT/SIGTERM or when ``once`` drained the folder; 1 fatal."""
    if stable_seconds is None:
        stable_seconds = _env_float("PROXX_WATCH_STABLE_SECONDS", DEFAULT_STABLE_SECONDS)
    if invalid_grace_seconds is None:
        invalid_grace_seconds = _env_float("PROXX_WATCH_INVALID_GRACE_SECONDS", DEFAULT_INVALID_GRACE_SECONDS)
    err = stream or sys.stderr
    try:
        engines = engines if engines is not None else load_engines()
    except Exception as exc:  # strict plugin mode
        print(f"proxx watch: error: cannot load engines: {exc}", file=err)
        return 1
    watcher = Watcher(root, engines, max_workers=max_workers, once=once, poll_seconds=poll_seconds,
                      stable_seconds=stable_seconds, invalid_grace_seconds=invalid_grace_seconds, stream=stream)
    previous = {}
    if install_signal_handlers and threading.current_thread() is threading.main_thread():
        for sig in (signal.SIGINT, signal.SIGTERM):
            previous[sig] = signal.signal(sig, lambda signum, frame: watcher.request_stop(signum))
    try:
        return watcher.run()
    except Fatal as exc:
        watcher.log("fatal", reason=str(exc))
        print(f"proxx watch: error: {exc}", file=err)
        return 1
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


__all__ = ["Watcher", "watch_main", "interrupted_result", "is_candidate_name"]
