"""Exclusive ownership of a clip's temporary output, so two runs of one job never share a file.

The temp name is a pure function of the output name (``plan`` prints it, ``run`` uses it), so two
runs of the same job meet on the same name. Ownership is therefore not the name but an exclusive
``flock`` on the file, held by the run for the clip's whole life:

* a fresh temp is created with ``O_EXCL`` and locked at once;
* an existing temp is left alone without ``overwrite``; with ``overwrite`` it is replaced only if
  nobody holds its lock (a run that crashed), and never if it is a source;
* a temp whose lock is held belongs to a live run: the clip fails and the file is not touched;
* before hashing and around publishing, the file at the temp name must still be the locked one
  (same st_dev/st_ino), so the file published is byte for byte the one verified and hashed.

Only the lock holder ever renames, replaces or deletes the file at the temp name. Where the
filesystem has no working locks (flock fails), a fresh temp is still created with ``O_EXCL``, but an
existing one is never taken over: nobody can tell a crashed run's leftover from a live run's file.
"""

from __future__ import annotations

import errno
import fcntl
import os
import stat
import threading
from collections.abc import Callable

from .digests import file_sha256

#: (st_dev, st_ino)
Identity = tuple[int, int]


class TempBusy(Exception):
    """The temp belongs to another live run (or cannot be shown not to)."""


class TempExists(Exception):
    """The temp exists and ``overwrite`` is off."""


class TempIsSource(Exception):
    """The file at the temp name is one of the job's sources."""


def _identity(st: os.stat_result) -> Identity:
    return st.st_dev, st.st_ino


def _lock(fd: int) -> bool:
    """Take the exclusive lock without waiting: True taken, False held by someone else; raises
    OSError where the filesystem cannot lock at all."""
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    except OSError as exc:
        if exc.errno in (errno.EAGAIN, errno.EACCES):
            return False
        raise
    return True


class TempClaim:
    """A temp file this run owns: an open, locked descriptor plus its path."""

    def __init__(self, path: str, fd: int):
        self.path = path
        self._fd = fd
        self._ahead: _HashAhead | None = None

    @classmethod
    def take(cls, path: str, *, overwrite: bool, is_source: Callable[[Identity], bool]) -> TempClaim:
        try:
            fd = os.open(path, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        except FileExistsError:
            if not overwrite:
                raise TempExists(path) from None
            return cls._take_over(path, is_source)
        claim = cls(path, fd)
        try:
            locked = _lock(fd)
        except OSError:
            locked = True  # no locks here: O_EXCL alone made it ours
        if not locked or not claim.at_path():
            claim.release()
            raise TempBusy(f"{path} was taken over by another run of this job while being created")
        return claim

    @classmethod
    def _take_over(cls, path: str, is_source: Callable[[Identity], bool]) -> TempClaim:
        """Replace a leftover temp whose owner is gone, by renaming a fresh locked file over it."""
        try:
            old = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError as exc:
            if exc.errno != errno.ELOOP:
                raise
            old = None  # a symlink: no run of Proxx made it; replacing the link touches nothing behind it
        try:
            if old is not None:
                st = os.fstat(old)
                if is_source(_identity(st)):
                    raise TempIsSource(path)
                try:
                    if not _lock(old):
                        raise TempBusy(f"{path} belongs to another run of this job that is still running")
                except OSError:
                    raise TempBusy(
                        f"{path} exists and this filesystem has no file locks, so Proxx cannot tell "
                        f"whether another run owns it; delete it if no run of this job is active"
                    ) from None
                if not stat.S_ISREG(st.st_mode) or _identity(os.lstat(path)) != _identity(st):
                    raise TempBusy(f"{path} changed while Proxx was claiming it (another run of this job)")
            head, tail = os.path.split(path)
            fresh = os.path.join(head, f"{tail}.{os.getpid()}.{os.urandom(4).hex()}.claim")
            fd = os.open(fresh, os.O_RDONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
            claim = cls(path, fd)
            try:
                _lock(fd)
                os.replace(fresh, path)
            except BaseException:
                claim.release()
                _quiet_unlink(fresh)
                raise
            return claim
        finally:
            if old is not None:
                os.close(old)

    def identity(self) -> Identity:
        return _identity(os.fstat(self._fd))

    def at_path(self) -> bool:
        """True while the file at the temp name is the one this run holds."""
        try:
            return _identity(os.lstat(self.path)) == self.identity()
        except OSError:
            return False

    def adopt(self) -> bool:
        """After the engine ran: hold the file now at the temp name. Engines that render elsewhere
        and rename into place (Resolve) leave a new file there; lock it too. False if the file
        there is locked by someone else or is not a regular file."""
        if self.at_path():
            return True
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC | os.O_NONBLOCK)
        except OSError:
            return False
        try:
            ok = stat.S_ISREG(os.fstat(fd).st_mode) and _lock(fd)
        except OSError:
            ok = True
        if not ok or _identity(os.fstat(fd)) != _identity(os.lstat(self.path)):
            os.close(fd)
            return False
        os.close(self._fd)
        self._fd = fd
        return True

    def sha256(self) -> tuple[str, int]:
        """Hash the held file through its descriptor: whatever happens to the name, these bytes. The
        hash :meth:`publish_behind` made is used only if the file, stat'ed through this descriptor, is
        unchanged since before that hash began (size, mtime, ctime); otherwise it is hashed again."""
        ahead = self._ahead
        if ahead is not None and ahead.fd_stat == _fd_stat(self._fd):
            ahead.done.wait()
            if ahead.result is not None and ahead.result[2] == _fd_stat(self._fd):
                return ahead.result[0], ahead.result[1]
        return _sha256(self._fd)

    def fsync(self) -> None:
        os.fsync(self._fd)

    def publish_behind(self) -> None:
        """Start, in the background (through a descriptor of its own), what publishing the held file
        needs: its SHA-256, then its data on disk; so verification (the output probed by another
        process) overlaps both, and publishing finds them done. Publishing still fsyncs, and decides;
        the hash is used only if the file is unchanged (:meth:`sha256`); an error here is ignored."""
        try:
            fd = os.dup(self._fd)
            ahead = _HashAhead(_fd_stat(fd))
        except OSError:
            return
        self._ahead = ahead

        def work() -> None:
            try:
                try:
                    digest, size = _sha256(fd)
                    ahead.result = (digest, size, _fd_stat(fd))
                finally:
                    ahead.done.set()
                os.fsync(fd)
            except OSError:
                pass
            finally:
                os.close(fd)

        threading.Thread(target=work, name="proxx-publish-behind", daemon=True).start()

    def release(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1


class _HashAhead:
    """A hash made by :meth:`TempClaim.publish_behind`: the file's stat before it began, and
    (digest, size, stat after) once ``done`` is set (None if reading failed)."""

    def __init__(self, fd_stat: tuple[int, int, int]):
        self.fd_stat = fd_stat
        self.done = threading.Event()
        self.result: tuple[str, int, tuple[int, int, int]] | None = None


def _fd_stat(fd: int) -> tuple[int, int, int]:
    st = os.fstat(fd)
    return st.st_size, st.st_mtime_ns, st.st_ctime_ns


def _sha256(fd: int, chunk: int = 4 * 1024 * 1024) -> tuple[str, int]:
    h = file_sha256()
    size = 0
    while block := os.pread(fd, chunk, size):
        h.update(block)
        size += len(block)
    return h.hexdigest(), size


def _quiet_unlink(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass
