"""What happens to a job while it runs that a person may need to know before it ends, handed to
plugins through ``proxx_event`` (hookspecs.py): a watcher or fleet worker that died holding a job,
a clip that stopped making progress. Observations only: an event never changes a job or a result.
"""

from __future__ import annotations

from typing import Final, Literal

import attrs

#: a process (watch folder) or worker (fleet) died holding the job's clips; they are recorded as
#: ``interrupted`` / ``worker_lost``
WORKER_LOST: Final = "worker_lost"
#: a running clip reported no progress for the stall time (the status page's "stalled" flag)
CLIP_STALLED: Final = "clip_stalled"
EVENT_KINDS = (WORKER_LOST, CLIP_STALLED)

EventKind = Literal["worker_lost", "clip_stalled"]


@attrs.frozen(kw_only=True)
class ProxxEvent:
    kind: EventKind
    #: the JobSpec's ``job_id`` (or the job file's name when it has none)
    job_id: str
    #: the node the event concerns (the lost worker's, the stalled clip's)
    node: str
    #: one sentence a person can act on
    message: str
    #: the clip (1-based), or None when the event is about the whole job
    clip_index: int | None = None
