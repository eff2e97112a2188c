"""What the end of a run needs, made ready while the first encoder runs.

After the last encode of a one-clip job, the run still had to import cattrs and generate the
functions that turn the clip and job results into dicts (~20-30 ms), and the end of job imports the
node-config reader that plugins such as proxx-notify use. None of it depends on the clip, so a
background thread does it once per process as soon as a command is running (the encoder then
holds the CPU it needs; this thread only uses what an encode leaves idle, on a node with a spare
core). It never delays an encode: it starts only after the first command has started, and it changes
no value, only when modules are imported and converters generated. A failure here is ignored: the
same work then happens when the result is written, as before.
"""

from __future__ import annotations

import threading

from ..support.process import subscribe_children, unsubscribe_children

_started = threading.Lock()


def prepare_while_encoding() -> None:
    """Start (once per process) the thread that waits for the first running command, then prepares."""
    if not _started.acquire(blocking=False):
        return
    running = threading.Event()

    def children(pids: tuple[int, ...]) -> None:
        if pids:
            running.set()

    def prepare() -> None:
        running.wait()
        unsubscribe_children(children)
        try:
            _prepare()
        except Exception:  # an optimisation only: the same work happens, later, where it is needed
            pass

    subscribe_children(children)
    threading.Thread(target=prepare, name="proxx-endprep", daemon=True).start()


def _prepare() -> None:
    import hashlib  # noqa: F401  (OpenSSL's SHA-256, for the outputs: io/digests.py)

    # the work being moved off the end of the run: the end of job, the node config plugins read, the results
    from ..contract import data, engine, media  # noqa: F401
    from ..contract import results as values
    from . import finish, pathmap, results, serialization  # noqa: F401

    converter = data._converter()
    for cls in (
        values.JobResult,
        values.ClipResult,
        media.SourceInfo,
        engine.CommandRecord,
        engine.EngineIdentity,
        engine.Verification,
    ):
        converter.get_unstructure_hook(cls)
