"""Open a path a user named without ever blocking on it: the one way Proxx reads such a path.

A FIFO, a socket, a terminal or a tape device opened by name can block the process for ever (a FIFO
until something writes to it) or have side effects (a tape rewinds). Job files, sources, look and
CDL files and the node config are therefore opened here, and only here:

1. ``os.stat`` the path (never blocks) and refuse anything but a regular file, naming what it is;
2. ``os.open`` it with ``O_NONBLOCK`` (a FIFO swapped in after step 1 opens at once, never waits),
   ``O_CLOEXEC`` and, where a symlink is never wanted, ``O_NOFOLLOW``;
3. ``os.fstat`` the descriptor: it must be a regular file, the same file step 1 saw;
4. clear ``O_NONBLOCK`` so reads behave normally.

The caller gets the checked descriptor (as a file object), so the bytes read are those of the file
checked: no race between the check and the read. Code that must hand a file to a library (PyAV)
hands over this file object, never the name (not ``/proc/self/fd/N`` either: that is Linux-only and
libav would reopen it by name, protocol parsing included). Symlinks are followed for what operators
name (media and looks are often links; step 3 checks the target), and refused with
``follow_symlinks=False`` where none is wanted (an existing output under a final name). A NUL byte
in a path is refused here too (``os.open`` would raise ValueError). Directories are checked with
:func:`check_directory` (``stat`` only).
"""

from __future__ import annotations

import errno
import os
import stat
from typing import BinaryIO

#: what ``stat`` says a path is, in words an operator understands
_KINDS = (
    (stat.S_ISDIR, "a directory"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISSOCK, "a socket"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISLNK, "a symbolic link"),
)


#: POSIX only (Windows has no FIFOs to open by name; there the stat check alone applies)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)


class NotAFile(OSError):
    """The path is not something Proxx may open for reading (a FIFO, a device, a directory, a NUL
    byte, a symlink where none is allowed). ``reason`` completes "<path>: ...". An OSError (its
    ``strerror`` is the reason), so code that treats an unreadable file as unreadable keeps doing so."""

    def __init__(self, path: str, reason: str):
        super().__init__(errno.EINVAL, reason, path)
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return f"{self.path}: {self.reason}"


def kind(mode: int) -> str:
    """'a FIFO (named pipe)', 'a directory', ... for a stat mode ('a regular file' for one)."""
    for test, words in _KINDS:
        if test(mode):
            return words
    return "a regular file" if stat.S_ISREG(mode) else "not a regular file"


def _refuse_nul(path: str) -> None:
    if "\x00" in path:
        raise NotAFile(path.replace("\x00", "\\0"), "contains a NUL character; no file can have this name")


def open_regular(path: str | os.PathLike[str], *, follow_symlinks: bool = True) -> BinaryIO:
    """A regular file opened for reading (blocking reads), or NotAFile/OSError. Never blocks on open."""
    where = os.fspath(path)
    _refuse_nul(where)
    before = os.stat(where, follow_symlinks=follow_symlinks)
    if not stat.S_ISREG(before.st_mode):
        raise NotAFile(where, f"is {kind(before.st_mode)}, not a regular file")
    flags = os.O_RDONLY | _NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
    if not follow_symlinks:
        flags |= getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(where, flags)
    try:
        now = os.fstat(fd)
        if not stat.S_ISREG(now.st_mode) or (now.st_dev, now.st_ino) != (before.st_dev, before.st_ino):
            raise NotAFile(
                where,
                f"was replaced while being opened (now {kind(now.st_mode)}); retry once it is a settled regular file",
            )
        if _NONBLOCK:
            os.set_blocking(fd, True)
        return os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise


def check_regular(path: str | os.PathLike[str]) -> os.stat_result:
    """Open and close ``path`` as :func:`open_regular` does: its stat if it may be read."""
    with open_regular(path) as fh:
        return os.fstat(fh.fileno())


def read_regular(path: str | os.PathLike[str], limit: int) -> bytes:
    """At most ``limit`` bytes of a regular file (callers pass their maximum + 1 to detect "too big")."""
    with open_regular(path) as fh:
        return fh.read(limit)


def check_directory(path: str | os.PathLike[str]) -> os.stat_result:
    """The stat of a directory (symlinks followed), or NotAFile/OSError; nothing is opened."""
    where = os.fspath(path)
    _refuse_nul(where)
    st = os.stat(where)
    if not stat.S_ISDIR(st.st_mode):
        raise NotAFile(where, f"is {kind(st.st_mode)}, not a directory")
    return st
