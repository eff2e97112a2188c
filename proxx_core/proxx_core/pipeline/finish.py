"""One end of job for every front end (`proxx run`, the watch folder, a fleet): the job's
deliverables, then every plugin's ``proxx_job_finished``, then the final result.

Front ends only parse, print and file; whatever they call this with is the result they print or
file, so sidecars, notifications and the result can never disagree between front ends.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..contract.policies import FAIL
from ..contract.results import EXIT_OK, EXIT_PARTIAL, EXIT_SYSTEM, JobResult
from ..contract.sinks import Deliverable, DeliveryJob
from ..contract.vocabulary import Layout
from ..features.deliverables import sink_files, sinks
from ..features.existing import document_policy
from ..features.layouts import job_write_gate
from .serialization import to_data

if TYPE_CHECKING:
    from ..support.plugins import EngineSet


@attrs.frozen(kw_only=True)
class FinishedJob:
    """The final result, and what went wrong on the way that the result does not already say."""

    result: JobResult
    #: one message per deliverable that was not written (also listed in ``result.deliverables``)
    sink_errors: tuple[str, ...] = ()
    #: one message per ``proxx_job_finished`` implementation that raised (never changes the result)
    hook_errors: tuple[str, ...] = ()


def finish_job(
    result: JobResult,
    engines: EngineSet,
    *,
    timing: Mapping[str, Any] | None = None,
    deliver_jobspec: Mapping[str, Any] | None = None,
) -> FinishedJob:
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


def deliver(result: JobResult, engines: EngineSet) -> tuple[JobResult, tuple[str, ...]]:
    """Run the job's sinks and return the result listing what they wrote, plus one message per
    sink that failed. A failed sink never touches the proxies or the clips' statuses; it is listed
    with its ``error`` and makes the exit code 4 (system error). No delivered clip, no sidecar, except
    from sinks that describe failures too (``describes_failures``: the job report)."""
    document = result.jobspec if isinstance(result.jobspec, dict) else {}
    wanted = list(document.get("deliverables") or [])
    if not wanted or result.problems or not document.get("output_dir"):
        return result, ()
    data = to_data(result)
    policy = document_policy(document)
    folder = str(document["output_dir"])
    sources = [s for s in document.get("sources") or () if isinstance(s, str)]
    gate = job_write_gate(sources, layout=str(document.get("layout") or Layout.OUTPUT_DIR), output_dir=folder)
    job = DeliveryJob(result=data, folder=folder, overwrite=policy != FAIL, policy=policy, gate=gate)
    available, _ = sinks(engines)
    if not job.delivered_clips():  # only sinks that describe failures have something to say
        wanted = [n for n in wanted if getattr(available.get(n), "describes_failures", False)]
        if not wanted:
            return result, ()
    order = sorted(wanted, key=lambda n: (bool(getattr(available.get(n), "runs_last", False)), n))
    records: list[Deliverable] = []
    errors: list[str] = []
    for name in order:
        sink = available.get(name)
        try:
            if sink is None:
                raise RuntimeError(f"no installed plugin provides the {name!r} deliverable")
            sink_job = attrs.evolve(job, written=tuple(records))
            written = sink_files(sink_job, name, sink.write(sink_job))
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            written = [Deliverable(name=name, path=None, sha256=None, error=message)]
            errors.append(f"deliverable {name!r} was not written: {message}")
        records += written
    exit_code = result.exit_code
    if errors and exit_code in (EXIT_OK, EXIT_PARTIAL):
        exit_code = EXIT_SYSTEM
    return attrs.evolve(result, deliverables=tuple(records), exit_code=exit_code), tuple(errors)
