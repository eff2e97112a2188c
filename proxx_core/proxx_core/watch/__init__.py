"""The watch folder: ``DIR/pending/ running/ completed/ failed/`` (operator guide: docs/watch-folders.md).

Module map, in the order a job meets them:

- :mod:`.scan` settle and scan ``pending/``: candidate and bad names, stat signatures, when a file is
  complete enough to take.
- :mod:`.protocol` the claim-and-finish protocol: claim by rename into this process's owner folder,
  file the result beside the spec in completed/ or failed/, set aside what cannot carry a result.
- :mod:`.watcher` the loop that ties them together: pre-check, claim only when a slot is free, run
  with :func:`proxx_core.pipeline.runner.run_job`, file; plain parameters, no environment, no signals.
- :mod:`.recovery` jobs of dead processes of this node: kill their encoders, adopt, file as interrupted.
- :mod:`.owner` who owns a claim (node, pid, start token, boot id) and whether that owner is alive.
- :mod:`.log` the ``key=value`` log lines. :mod:`.files` small bounded reads.

The CLI edge (environment variables, signal handlers, printing) is ``proxx_cli.watch_cli``.
"""

from .protocol import ClaimedJob, Fatal, WatchFolder
from .scan import is_candidate_name
from .watcher import DEFAULT_INVALID_GRACE_SECONDS, DEFAULT_STABLE_SECONDS, Watcher

__all__ = [
    "DEFAULT_INVALID_GRACE_SECONDS",
    "DEFAULT_STABLE_SECONDS",
    "ClaimedJob",
    "Fatal",
    "WatchFolder",
    "Watcher",
    "is_candidate_name",
]
