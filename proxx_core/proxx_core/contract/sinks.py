"""What a deliverable sink is and is given (JobSpec 1.1 ``deliverables``): ``DeliverableSink``, the
``DeliveryJob`` it writes for, the ``Deliverable`` records it returns. Values of the contract a
third-party sink is written against; running and checking the sinks is ``deliverables``'s job."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from ..io.writegate import WriteGate
from .policies import FAIL, OVERWRITE
from .vocabulary import Status

#: clip statuses a sidecar describes (a failed clip has no proxy to describe)
DELIVERED_STATUSES = (Status.COMPLETED, Status.SKIPPED)


@attrs.frozen(kw_only=True)
class Deliverable:
    """One file a sink wrote (or, with ``error``, could not write)."""

    name: str
    path: str | None
    sha256: str | None
    error: str | None = None


@attrs.frozen(kw_only=True)
class DeliveryJob:
    """What a sink is given: the result's JSON data, the folder to write into, whether the job
    allows overwriting, and the deliverables written before this sink (sealing sinks run last).
    ``policy``: the job's ``existing_outputs`` policy ("" : from ``overwrite``); ``gate``: the job's
    write gate (proxx_core.io.writegate), which every sidecar passes."""

    result: Mapping[str, Any]
    folder: str
    overwrite: bool
    written: tuple[Deliverable, ...] = ()
    policy: str = ""
    gate: WriteGate | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def job_id(self) -> str:
        return str(self.result.get("job_id") or "job")

    @property
    def existing_policy(self) -> str:
        """What to do with a sidecar already at its name: proxx_core.features.existing's policies."""
        return self.policy or (OVERWRITE if self.overwrite else FAIL)

    def write_gate(self) -> WriteGate:
        """The job's write gate, or one from the result's sources and this folder."""
        if self.gate is not None:
            return self.gate
        spec = self.result.get("jobspec")
        spec = spec if isinstance(spec, Mapping) else {}
        sources = spec.get("sources")
        if not (isinstance(sources, list) and all(isinstance(x, str) for x in sources)):
            sources = [c["source"]["path"] for c in self.result.get("clips", ()) if c.get("source", {}).get("path")]
        return WriteGate(sources, (self.folder,))

    def delivered_clips(self) -> list[Mapping[str, Any]]:
        """The clips a sidecar describes, in result (source) order."""
        return [c for c in self.result.get("clips", ()) if c.get("status") in DELIVERED_STATUSES and c.get("output")]


class DeliverableSink:
    """Base class for a sink. ``name`` is the value a JobSpec lists in ``deliverables``."""

    name: str = ""
    #: run after every other sink (e.g. a checksum manifest sealing the other sidecars)
    runs_last: bool = False
    #: also written when no clip was delivered (a report of a night where every clip failed is the
    #: one a production needs most); sinks that describe proxies leave it False
    describes_failures: bool = False

    def problems(self, document: Mapping[str, Any], sources: Sequence[Mapping[str, Any]]) -> list[str]:
        """Why this sidecar cannot be delivered for this job on this node, found at ``validate`` so
        the job is refused before any encode: ``sources`` are the probed sources as result JSON
        (``clips[].source.info``), in spec order."""
        return []

    def write(self, job: DeliveryJob) -> Sequence[tuple[str, bytes] | Deliverable]:
        """The sidecars for ``job``: ``(file name, bytes)`` pairs, each a file in ``job.folder``;
        the core writes each through the job's write gate and lists it with its SHA-256. A file the
        sink (or a tool it runs) wrote itself is returned as a :class:`Deliverable` record instead."""
        raise NotImplementedError

    def file_names(self, document: Mapping[str, Any], job_id: str) -> Sequence[str] | None:
        """The names this sink will write in output_dir, relative to it, for ``validate`` to refuse
        a job whose sidecar would replace a source (a name ending in ``/``: a folder the sink, or a
        tool it runs, writes anything under). None (the default): not declared, so checked only
        when written (the write gate refuses it then, after the encodes)."""
        return None
