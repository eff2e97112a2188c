"""The claim-and-finish protocol of a watch folder (docs/watch-folders.md, "What happens to a job").

- **Claim** by one atomic rename ``pending/X.json -> running/<owner>/X.json``: the rename is the
  arbiter between processes and machines; a loser gets FileNotFoundError.
- **File**: the result ``<stem>.result.json`` is written atomically and without clobbering into
  completed/ or failed/, *then* the spec is moved beside it; a ``X.json.finishing`` marker in the
  owner folder lets recovery finish a move a crash interrupted. Taken names get ``.2``, ``.3`` ...
- **Set aside** what cannot carry a result (a bad name, or no result could be written): the spec
  goes to failed/ with a plain-text ``<stem>.reason.txt``.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import threading
import traceback
from collections.abc import Callable
from pathlib import Path

import attrs

from ..contract.errors import Problem
from ..contract.results import EXIT_SYSTEM, FAILED, JobResult
from ..contract.vocabulary import Category
from ..io.atomic import fsync_dir, move_no_clobber, publish
from ..io.clock import now_rfc3339
from ..pipeline.serialization import dumps
from . import owner as owners
from .files import unlink, unlink_quietly
from .log import WatchLog
from .owner import OWNER_FILE, Owner
from .scan import bad_name_reason

SUBDIRS = ("pending", "running", "completed", "failed")
FINISHING_SUFFIX = ".finishing"
#: the stem a set-aside file gets in failed/ when its own name cannot be used
BADNAME_PREFIX = "badname-"


class Fatal(Exception):
    """The watch folder cannot be used at all (missing, not a directory, not writable)."""


@attrs.frozen
class ClaimedJob:
    """A job this process took by renaming it into its owner folder."""

    name: str  # the file name in pending/
    path: Path  # running/<owner>/<name>
    claim_id: str
    claimed_at: str


def stem(name: str) -> str:
    return name[: -len(".json")] if name.endswith(".json") else name


def _file_beside(
    spec_path: Path,
    dest_dir: Path,
    names: Callable[[int], tuple[str, str]],
    write_companion: Callable[[str, Path], None],
) -> tuple[str, str]:
    """Move a spec into ``dest_dir`` beside its companion (result or reason), under the first pair
    ``names(n)``, n = 1, 2, ..., where neither name is taken. The companion is written first, never
    over an existing file; if the spec's name is taken meanwhile, the companion is removed and the
    next pair is tried. Returns (spec name, companion name)."""
    n = 0
    while True:
        n += 1
        spec_name, companion = names(n)
        if (dest_dir / spec_name).exists() or (dest_dir / companion).exists():
            continue
        try:
            write_companion(spec_name, dest_dir / companion)
        except FileExistsError:
            continue
        try:
            move_no_clobber(spec_path, dest_dir / spec_name)
        except FileExistsError:  # someone took the spec name meanwhile: free ours, try the next
            unlink(dest_dir / companion)
            continue
        return spec_name, companion


def filed_names(stem: str, n: int) -> tuple[str, str]:
    """The spec and result names of the n-th job filed under ``stem`` (n > 1 gets a suffix)."""
    base = stem if n == 1 else f"{stem}.{n}"
    return f"{base}.json", f"{base}.result.json"


def aside_stem(name: str) -> str:
    return BADNAME_PREFIX + hashlib.sha256(os.fsencode(name)).hexdigest()[:16]


def printable_name(name: str) -> str:
    """The file name as text; bytes that are not UTF-8 are shown as \\xNN."""
    return os.fsencode(name).decode("utf-8", "backslashreplace")


def summary(result: JobResult) -> str:
    failures = [f"clip {c.index}: {c.failure.category}" for c in result.clips if c.failure]
    problems = [f"{p.path or '/'}: {p.message}" for p in result.problems]
    text = "; ".join(problems + failures) or f"{len(result.clips)} clip(s)"
    return text if len(text) <= 2000 else text[:1999] + "…"


class WatchFolder:
    """One process's view of ``DIR``: the layout, its own owner folder, and the protocol steps."""

    def __init__(self, root: Path, owner: Owner, log: WatchLog):
        self.root = Path(os.path.abspath(root))
        self.dirs = {name: self.root / name for name in SUBDIRS}
        self.owner = owner
        self.owner_dir = self.dirs["running"] / owner.dirname
        self.log = log
        self._finish_lock = threading.Lock()

    def rel(self, path: Path | str) -> str:
        try:
            return os.path.relpath(path, self.root)
        except ValueError:
            return str(path)

    # ---------------------------------------------------------------- setup and teardown
    def prepare(self) -> None:
        """Check the folder, create missing subfolders and this process's owner folder (Fatal on failure)."""
        if not self.root.exists():
            raise Fatal(f"watch folder {self.root} does not exist; create it (Proxx creates only its subfolders)")
        if not self.root.is_dir():
            raise Fatal(f"watch folder {self.root} is not a directory")
        for path in self.dirs.values():
            if path.exists() and not path.is_dir():
                raise Fatal(f"{path} exists but is not a directory; move it away")
            try:
                path.mkdir(exist_ok=True)
            except OSError as exc:
                raise Fatal(f"cannot create {path}: {exc.strerror or exc}; check permissions") from None
            if not os.access(path, os.W_OK | os.X_OK):
                raise Fatal(f"{path} is not writable by this user; check permissions")
        try:
            owners.register(self.dirs["running"], self.owner)
        except OSError as exc:
            raise Fatal(
                f"cannot register this process under {self.dirs['running']}: {exc.strerror or exc}; "
                f"check that the watch folder is writable"
            ) from None

    def release(self) -> None:
        """Remove this process's owner folder if it holds no job."""
        rest = owners.release(self.owner_dir)
        if rest:
            self.log(
                "owner_kept",
                path=self.rel(self.owner_dir),
                entries=len(rest),
                reason="jobs could not be finished; the next start on this node recovers them",
            )

    # ------------------------------------------------------------------------------ claim
    def claim(self, name: str) -> ClaimedJob | None:
        """Rename ``pending/<name>`` into the owner folder; None if another process won (or a fault)."""
        src = self.dirs["pending"] / name
        dst = self.owner_dir / name
        try:
            os.rename(src, dst)  # the arbiter: exactly one claimant wins
        except FileNotFoundError:
            if not (self.owner_dir / OWNER_FILE).is_file():  # someone removed our owner folder
                self.log(
                    "error", job=name, reason=f"owner folder {self.rel(self.owner_dir)} disappeared; registering again"
                )
                try:
                    if self.owner_dir.is_dir():
                        owners.rewrite_owner_file(self.owner_dir, self.owner)
                    else:
                        owners.register(self.dirs["running"], self.owner)
                except OSError as exc:
                    self.log("error", reason=f"cannot register again: {exc.strerror or exc}")
                return None
            self.log("claim_lost", job=name, reason="another watch process claimed it first")
            return None
        except OSError as exc:
            self.log.once(
                ("claim_error", name, str(exc)),
                "error",
                job=name,
                reason=f"cannot claim: {exc.strerror or exc}; left in pending/",
            )
            return None
        # no fsync here: a job that will run makes its claim durable before its first encoder
        # (Watcher._execute); a refused one is filed at once, and that filing is made durable
        claim = ClaimedJob(name=name, path=dst, claim_id=f"{self.owner.dirname}/{name}", claimed_at=now_rfc3339())
        self.log("claimed", job=name, claim=self.rel(dst))
        return claim

    def give_back(self, claim: ClaimedJob) -> bool:
        """Return a claimed job to pending/ (it turned out to need an engine this node lacks)."""
        try:
            publish(str(claim.path), str(self.dirs["pending"] / claim.name), overwrite=False)
        except OSError:
            return False
        self.log("returned", job=claim.name, reason="after claiming, it needs an engine this node lacks")
        return True

    # ------------------------------------------------------------------------------- file
    def file(self, spec_path: Path, name: str, result: JobResult, claim_id: str, destination: str) -> tuple[str, str]:
        """File a job whatever its result holds: the full result; else a bare one (no spec, no clips)
        that says why; else, or when the name cannot carry a result, the spec set aside with a
        plain-text reason. Only a storage fault can stop all three (OSError: left for recovery).
        Returns the result (or reason) and spec paths relative to the folder."""
        why = bad_name_reason(name)
        if why:
            return self.set_aside(
                spec_path,
                name,
                (
                    f"this job file {why}; rename it (shorter, UTF-8) and drop it into pending/ again. "
                    f"What happened to it: {result.status}; {summary(result)}"
                ),
            )
        try:
            return self._finish_files(spec_path, name, result, claim_id, destination)
        except Exception as exc:
            first = f"{type(exc).__name__}: {exc}"
            self.log(
                "error",
                job=name,
                reason=f"cannot write its result: {first}; writing a bare one",
                traceback=traceback.format_exc(),
            )
        bare = attrs.evolve(
            result,
            status=FAILED,
            exit_code=EXIT_SYSTEM,
            clips=(),
            jobspec=None,
            user_metadata=None,
            problems=(
                *result.problems,
                Problem(
                    path="",
                    category=Category.IO_ERROR,
                    message=(
                        f"the full result of this job could not be written ({first}); this bare result "
                        f"replaces it. The job's own status was {result.status}: check its outputs "
                        f"before using them"
                    ),
                ),
            ),
        )
        try:
            return self._finish_files(spec_path, name, bare, claim_id, "failed")
        except Exception as exc:
            second = f"{type(exc).__name__}: {exc}"
            self.log(
                "error",
                job=name,
                reason=f"cannot write a bare result either: {second}; setting it aside",
                traceback=traceback.format_exc(),
            )
        unlink_quietly(spec_path.parent / (name + FINISHING_SUFFIX))
        return self.set_aside(
            spec_path,
            name,
            (
                f"no result could be written for this job ({first}; then {second}). "
                f"What happened to it: {result.status}; {summary(result)}"
            ),
        )

    def set_aside(self, spec_path: Path, name: str, why: str) -> tuple[str, str]:
        """Move a job to failed/ with ``<stem>.reason.txt`` (plain text) beside it; a name that cannot
        be used becomes ``badname-<first 16 hex digits of the SHA-256 of the name's bytes>``."""
        base_stem = aside_stem(name) if bad_name_reason(name) else stem(name)
        text = (
            f"Proxx did not run this job, or could not write its result.\n"
            f"file name: {printable_name(name)}\n"
            f"set aside at: {now_rfc3339()} by process {self.owner.pid} on node {self.owner.node}\n"
            f"reason: {why}\n"
        )
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
        dest_dir = self.dirs["failed"]

        def aside_names(n: int) -> tuple[str, str]:
            base = base_stem if n == 1 else f"{base_stem}.{n}"
            return f"{base}.json", f"{base}.reason.txt"

        with self._finish_lock:
            spec_name, reason_name = _file_beside(
                spec_path,
                dest_dir,
                aside_names,
                lambda _spec_name, reason_path: write_new(reason_path, text, durable=True),
            )
            fsync_dir(str(dest_dir))  # durable: the job is reported set aside and leaves running/
        self.log("set_aside", job=name, spec=f"failed/{spec_name}", reason_file=f"failed/{reason_name}", reason=why)
        return f"failed/{reason_name}", f"failed/{spec_name}"

    def _finish_files(
        self, spec_path: Path, name: str, result: JobResult, claim_id: str, destination: str
    ) -> tuple[str, str]:
        """Result first (atomic, no clobber), then the spec beside it; suffix .2, .3... on clashes."""
        dest_dir = self.dirs[destination]
        marker = spec_path.parent / (name + FINISHING_SUFFIX)
        text = dumps(result)
        text.encode("utf-8")  # fails here, before anything is written, if it cannot be stored

        def write_result(spec_name: str, result_path: Path) -> None:
            # the marker needs no fsync: it matters only if the result below becomes durable,
            # and on journaling file systems metadata reaches the disk in order (marker first)
            write_new(
                marker,
                json.dumps(
                    {
                        "claim": claim_id,
                        "destination": destination,
                        "result": f"{destination}/{result_path.name}",
                        "spec_name": spec_name,
                    }
                ),
                durable=False,
                overwrite=True,
            )
            # fsync of the result's bytes before it gets its name: never a torn result
            write_new(result_path, text, durable=True)

        with self._finish_lock:
            spec_name, result_name = _file_beside(
                spec_path, dest_dir, lambda n: filed_names(stem(name), n), write_result
            )
            # one fsync of the destination makes result + spec durable before the job is
            # reported finished. The owner folder is not synced: if the spec's removal from
            # running/ is lost, recovery finds the marker and the same file already filed
            fsync_dir(str(dest_dir))
            unlink(marker)
        return f"{destination}/{result_name}", f"{destination}/{spec_name}"

    def move_spec(self, spec_path: Path, dest_dir: Path, spec_name: str) -> Path:
        """Move a spec whose result is already filed beside it (recovery finishing a move)."""
        n = 1
        base = stem(spec_name)
        while True:
            target = dest_dir / (spec_name if n == 1 else f"{base}.moved-{n}.json")
            try:
                publish(str(spec_path), str(target), overwrite=False)
                return target
            except FileExistsError:
                if _same_file(spec_path, target):  # the move had happened; only its unlink was lost
                    unlink(spec_path)
                    return target
                n += 1


# ------------------------------------------------------------------------ files without extra fsyncs


def write_new(path: Path, text: str, *, durable: bool, overwrite: bool = False) -> None:
    """Write a small file under a temporary name, then give it its name (no clobber unless
    ``overwrite``). ``durable`` fsyncs its bytes first; the caller fsyncs the directory once for
    everything it filed (atomic.write_text_atomic would fsync the directory per file)."""
    tmp = path.parent / f".{path.name}.{os.getpid()}.{secrets.token_hex(6)}.tmp"
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            fh.write(text)
            if durable:
                fh.flush()
                os.fsync(fh.fileno())
        if overwrite:
            os.replace(tmp, path)
        else:
            move_no_clobber(tmp, path)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)


def _same_file(a: Path, b: Path) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False
