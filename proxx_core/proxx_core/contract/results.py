"""The result values: ``JobResult`` / ``ClipResult``, their statuses and the exit codes, as every front
end, hook and sink sees them (``proxx_job_finished(result)``). Key names and order are a contract
(docs/results.md); building results is ``results``'s job, making JSON of them ``serialization``'s."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import attrs

from .data import to_data
from .engine import Verification
from .errors import Problem
from .media import SourceInfo
from .sinks import Deliverable
from .vocabulary import Status

RESULT_VERSION = "1.0.0"

COMPLETED, FAILED, PARTIAL = Status.COMPLETED, Status.FAILED, Status.PARTIAL
#: a clip whose existing output verified and was kept (``"existing_outputs": "skip_verified"``)
SKIPPED = Status.SKIPPED
EXIT_OK, EXIT_VALIDATION, EXIT_EXECUTION, EXIT_PARTIAL, EXIT_SYSTEM = 0, 1, 2, 3, 4


@attrs.frozen(kw_only=True)
class Failure:
    category: str
    message: str


@attrs.frozen(kw_only=True)
class PublishedFile:
    """One file a clip published (its video file, or an OP-Atom track file): in ``output.files``."""

    #: "video" or "audio"
    kind: str
    path: str
    size: int
    sha256: str


@attrs.frozen(kw_only=True)
class OutputRecord:
    path: str
    size: int | None
    sha256: str | None
    verification: Verification | None
    #: where the unverified output was kept for inspection (verification failures only)
    kept_temp_path: str | None = None
    #: every file the clip published, when there are several (layout avid_mxf)
    files: tuple[PublishedFile, ...] | None = None


@attrs.frozen(kw_only=True)
class SourceRecord:
    """A clip's ``source`` in the result: its path, the size of the file that was probed, and the
    probe (None: not probed, e.g. a clip refused at validation or interrupted)."""

    path: str
    size: int | None
    info: SourceInfo | None = None

    def __getitem__(self, key: str) -> Any:
        """``record["path"]``: how a ``proxx_job_finished`` plugin written when this was a dict reads it
        (``info`` as its JSON data)."""
        if key not in ("path", "size", "info"):
            raise KeyError(key)
        return to_data(self.info) if key == "info" else getattr(self, key)

    def get(self, key: str, default: Any = None) -> Any:
        try:
            return self[key]
        except KeyError:
            return default


def source_record(value: SourceRecord | Mapping[str, Any]) -> SourceRecord:
    """A ``SourceRecord``, also from the dict a front end built before it was typed. Its ``info`` must be a
    ``SourceInfo`` or None: the result values import no converter (``proxx_core.from_data`` makes one of data)."""
    if isinstance(value, SourceRecord):
        return value
    info = value.get("info")
    if info is not None and not isinstance(info, SourceInfo):
        raise TypeError(
            "ClipResult source info must be a SourceInfo or None: convert data with "
            "proxx_core.from_data(SourceInfo, info)"
        )
    return SourceRecord(path=value["path"], size=value.get("size"), info=info)


@attrs.frozen(kw_only=True)
class ClipResult:
    index: int
    source: SourceRecord = attrs.field(converter=source_record)
    engine: str | None
    profile: str
    output: OutputRecord | None
    commands: tuple[dict[str, Any], ...] = ()
    status: Status = attrs.field(converter=Status)
    failure: Failure | None
    timing: dict[str, Any] = attrs.field(factory=dict)
    route: dict[str, Any] | None = None
    #: fleets only (`proxx wait`): the node that ran the clip and its submitted/mapped paths
    node: dict[str, Any] | None = None
    #: per NLE (resolve, premiere, avid, fcp): whether the proxy meets its relink rules (proxx_core.features.relink)
    relink: dict[str, Any] | None = None
    #: JobSpec 1.1 /look: what was applied, in order, with each file's SHA-256 (None: no look)
    look: dict[str, Any] | None = None
    #: JobSpec 1.2 /renditions: the rendition this entry is (one entry per source and rendition); None:
    #: a single-rendition job
    rendition: str | None = None
    #: chunked intra encoding: the chunks the clip was encoded in (proxx_core.features.chunking), None: one pass
    chunks: dict[str, Any] | None = None


@attrs.frozen(kw_only=True)
class JobResult:
    result_version: str
    proxx_version: str
    job_id: str | None
    jobspec_sha256: str | None
    status: Status = attrs.field(converter=Status)
    exit_code: int
    environment: dict[str, Any]
    user_metadata: Any
    clips: tuple[ClipResult, ...]
    timing: dict[str, Any]
    #: validation problems (a job refused before any work); empty when the job ran
    problems: tuple[Problem, ...] = ()
    #: the JobSpec as given, for the audit trail (null if it could not be read)
    jobspec: Any = None
    #: sidecars written by the job's ``deliverables`` sinks (docs/delivery.md)
    deliverables: tuple[Deliverable, ...] = ()
    #: JobSpec 1.2: each folder or card named in ``sources`` and the clips it gave, what it skipped and why
    source_folders: tuple[dict[str, Any], ...] = ()
