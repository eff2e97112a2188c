"""Cheaper start-up: the cyclic garbage collector collects rarely until a command's own work begins.

Start-up makes ~10^5 objects that live as long as the process (modules, classes, functions), and the
collector re-walked them ~60 times for nothing: ~13 ms, 5 % of `proxx validate`'s budget
(docs/performance.md). Between :func:`begin` and :func:`done` it collects only every 100,000 net
allocations (so memory stays bounded even on a path that never calls :func:`done`); :func:`done`
freezes the start-up objects out of later collections and restores the interpreter's thresholds;
:func:`end` undoes everything, so calling ``proxx_cli.main.main`` in-process leaves no trace.
:func:`before_exit` is for the executable only: the interpreter's shutdown collections would walk
every object once more (~5 % of `proxx validate`), for memory the exit returns anyway.
"""

from __future__ import annotations

import atexit
import gc
import os
import sys
import threading
from typing import NoReturn

STARTUP_THRESHOLDS = (100_000, 50, 50)

_saved: tuple[int, int, int] | None = None
_frozen = False


def begin() -> None:
    global _saved
    if _saved is None:
        _saved = gc.get_threshold()
        gc.set_threshold(*STARTUP_THRESHOLDS)


def done() -> None:
    """Start-up is over (imports, plugins, validation): collect normally from here on."""
    global _frozen
    if _saved is not None and not _frozen:
        gc.freeze()
        gc.set_threshold(*_saved)
        _frozen = True


def end() -> None:
    global _saved, _frozen
    if _saved is not None:
        gc.set_threshold(*_saved)
    if _frozen:
        gc.unfreeze()
    _saved, _frozen = None, False


def before_exit() -> None:
    """The process exits next: nothing it still holds needs collecting."""
    gc.freeze()


def exit_now(code: int) -> NoReturn:
    """Exit as the interpreter would, without tearing down what the exit returns anyway.

    What an exit must still do is done here, in the interpreter's order (``Py_FinalizeEx``): the
    threading module's shutdown (its exit hooks, such as the one that stops idle
    ``concurrent.futures`` workers, then a join of every thread that is not a daemon), the ``atexit``
    functions (plugins' included), stdout and stderr flushed. Skipped: clearing every module and
    object one by one (~10 ms after a run, all of it memory the kernel takes back at once). A flush
    that fails (a closed pipe) exits 4 as a system error. An interpreter without that shutdown
    function exits the ordinary way."""
    shutdown = getattr(threading, "_shutdown", None)
    if shutdown is None or threading.current_thread() is not threading.main_thread():
        sys.exit(code)
    shutdown()
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (BrokenPipeError, OSError):
        code = code or 4
    os._exit(code)
