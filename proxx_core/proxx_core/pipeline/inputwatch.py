"""A clip's input files watched while its engine runs.

The runner checks the source and the LUT right before an encode, but an engine's command opens them
by name some tens of milliseconds later (FFmpeg's start-up), and a clip's encode can last an hour. A
file replaced in that time was caught only after the encode (the source and LUT are checked again
before publishing), and a file replaced by a FIFO was never caught at all: the command's blocking
open waited for a writer until the command's deadline, holding a worker slot and the job. While the
engine runs, this watch stats both files every :data:`PERIOD` seconds (a stat each, never an open)
and, when one is replaced, removed or is no longer a regular file, stops the engine through the
``cancel`` event it hands it, so the clip fails at once naming the file. The job's own cancel
(Ctrl-C, SIGTERM) is passed on within :data:`CANCEL_PERIOD`.
"""

from __future__ import annotations

import os
import stat
import threading
from types import TracebackType

from .planning import PreparedClip

#: how often the files are checked while the engine runs
PERIOD = 0.2
#: how often the job's cancel is passed on
CANCEL_PERIOD = 0.05


def _what(path: str) -> tuple[int, int, int, int] | str:
    """The file's identity (device, inode, size, modification time), or what the path names instead."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return "no file"
    except OSError as exc:
        return f"unreadable ({exc.strerror or exc})"
    if stat.S_ISFIFO(st.st_mode):
        return "a FIFO"
    if not stat.S_ISREG(st.st_mode):
        return "not a regular file"
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class InputWatch:
    """``with InputWatch(clip, cancel) as watch:`` run the engine with ``watch.cancel``; afterwards
    ``watch.reason`` says which input changed (None: none did)."""

    def __init__(self, clip: PreparedClip, job_cancel: threading.Event):
        self.cancel = threading.Event()
        self.reason: str | None = None
        self._clip = clip
        self._job_cancel = job_cancel
        self._done = threading.Event()
        #: (path, the identity it must keep, how a message names it, what to do), for the source and LUT
        self._watched: list[tuple[str, tuple[int, int, int, int] | None, str, str]] = []
        if clip.source_stat is not None:
            was = clip.source_stat
            self._watched.append(
                (
                    clip.source,
                    (was.dev, was.ino, was.size, was.mtime_ns),
                    f"source {clip.source}",
                    ". Run the job again once the source is final",
                )
            )
        look = clip.plan.request.look
        if look is not None and look.lut is not None:
            # a path that is no regular file is never the validated LUT, even when it already was
            # something else as the watch began (swapped between the last check and the watch)
            lut_was = _what(look.lut.path)
            identity = lut_was if not isinstance(lut_was, str) else None
            self._watched.append((look.lut.path, identity, f"{look.lut.path} (/look)", ": run the job again"))
        self._thread = threading.Thread(target=self._watch, name="proxx-inputwatch", daemon=True)

    def __enter__(self) -> InputWatch:
        if self._job_cancel.is_set():
            self.cancel.set()
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._done.set()
        self._thread.join()

    def _watch(self) -> None:
        checks_every = max(1, round(PERIOD / CANCEL_PERIOD))
        tick = 0
        while not self._done.wait(CANCEL_PERIOD):
            if self._job_cancel.is_set():
                self.cancel.set()
            tick += 1
            if tick % checks_every == 0:
                reason = self._changed()
                if reason is not None:
                    self.reason = reason
                    self.cancel.set()
                    return

    def _changed(self) -> str | None:
        for path, identity, named, fix in self._watched:
            now = _what(path)
            if now != identity:  # what is no regular file (a string) never equals an identity
                instead = now if isinstance(now, str) else "another file"
                return (
                    f"{named} was replaced while the clip was encoding (it is now {instead}); the encode was "
                    f"stopped and nothing was published{fix}"
                )
        return None
