"""Atomic file operations: temp name in the same directory, fsync, then rename."""

from __future__ import annotations

import errno
import os
from pathlib import Path

from .digests import file_sha256


def fsync_dir(path: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def sha256_file(path: str, chunk: int = 4 * 1024 * 1024) -> tuple[str, int]:
    h = file_sha256()
    size = 0
    with open(path, "rb") as fh:
        while block := fh.read(chunk):
            h.update(block)
            size += len(block)
    return h.hexdigest(), size


def move_no_clobber(src: str | Path, dst: str | Path) -> None:
    """Rename ``src`` to ``dst`` without ever replacing an existing file (FileExistsError): a hard
    link, which is atomic and fails if the name exists, then unlink; check-then-rename on file
    systems without hard links (some SMB/exFAT)."""
    try:
        os.link(src, dst)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV, errno.EMLINK):
            raise
        if os.path.lexists(dst):
            raise FileExistsError(errno.EEXIST, "exists", str(dst)) from None
        os.rename(src, dst)
    else:
        os.unlink(src)


def publish(temp: str, final: str, *, overwrite: bool) -> None:
    """Give ``temp`` its final name atomically and durably. Without ``overwrite``, never replace an
    existing file, even one that appeared while we worked."""
    if overwrite:
        os.replace(temp, final)
    else:
        move_no_clobber(temp, final)
    fsync_dir(os.path.dirname(final))


def write_text_atomic(path: Path | str, text: str, *, overwrite: bool = True) -> None:
    """Write a small text file (result JSON, state) so readers never see it half-written. The
    temporary name is unique to this write (pid + random token), so writers on different nodes of
    a shared folder never collide; without ``overwrite`` an existing file is never replaced
    (FileExistsError)."""
    write_bytes_atomic(path, text.encode("utf-8"), overwrite=overwrite)


def write_bytes_atomic(path: Path | str, data: bytes, *, overwrite: bool = True, mode: int = 0o666) -> None:
    """:func:`write_text_atomic` for bytes; ``mode`` is the new file's permissions (before the umask)."""
    path = str(path)
    tmp = os.path.join(os.path.dirname(path), f".{os.path.basename(path)}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
    try:
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, mode)
        with open(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        publish(tmp, path, overwrite=overwrite)
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
