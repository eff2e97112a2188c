"""One end of job for every front end (`proxx run`, the watch folder, a fleet): the job's
deliverables, then every plugin's ``proxx_job_finished``, then the final result.

Front ends only parse, print and file; whatever they call this with is the result they print or
file, so sidecars, notifications and the result can never disagree between front ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from .deliverables import deliver

if TYPE_CHECKING:
    from .plugins import EngineSet
    from .results import JobResult


@attrs.frozen(kw_only=True)
class FinishedJob:
    """The final result, and what went wrong on the way that the result does not already say."""

    result: JobResult
    #: one message per deliverable that was not written (also listed in ``result.deliverables``)
    sink_errors: tuple[str, ...] = ()
    #: one message per ``proxx_job_finished`` implementation that raised (never changes the result)
    hook_errors: tuple[str, ...] = ()


def finish_job(result: JobResult, engines: EngineSet, *, timing: Mapping[str, Any] | None = None,
               deliver_jobspec: Mapping[str, Any] | None = None) -> FinishedJob:
    """End a job exactly as every front end must: write its sidecars (listed in the result), add
    the front end's ``timing`` keys, hand the result to ``proxx_job_finished``, return it.

    ``deliver_jobspec`` is the JobSpec as this machine sees it (a fleet node's path map applied to
    ``output_dir``): sidecars go where this machine finds the proxies, and the result keeps the
    JobSpec as submitted. Call once per job; refused jobs too (they deliver nothing)."""
    submitted = result.jobspec
    if deliver_jobspec is not None:
        result = attrs.evolve(result, jobspec=dict(deliver_jobspec))
    result, sink_errors = deliver(result, engines)
    changes: dict[str, Any] = {"jobspec": submitted}
    if timing:
        changes["timing"] = {**result.timing, **timing}
    result = attrs.evolve(result, **changes)
    hook_errors = engines.job_finished(result)
    return FinishedJob(result=result, sink_errors=tuple(sink_errors), hook_errors=tuple(hook_errors))
