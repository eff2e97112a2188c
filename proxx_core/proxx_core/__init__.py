"""Proxx core: the public API for users, and the contract types every engine implements.

For users (scripts, MAMs, GUIs)::

    from proxx_core import load_engines, check_job_file, run_job, dumps

    engines = load_engines()                      # the installed engines (entry-point group "proxx")
    checked = check_job_file("job.json", engines) # every problem at once; never raises for a bad spec
    if checked.job is not None:
        result = run_job(checked.job, engines, max_workers="auto")
        print(dumps(result))

For front ends built on the pipeline's steps (a fleet runs them on several nodes): reading and
identifying a job, routing one source, running its work units (``work_units``, ``run_unit`` with
``UnitOptions``, ``job_gate``: one clip by ``run_clip``, or a source's renditions from one decode by
``run_together``), the one end of
job (``finish_job``), merging node results (``merged``), node configs; for status pages: a watch
folder's state files. For engine and plugin authors: the contract types below, ``hookimpl``, and
:mod:`proxx_core.kit`. Every other module of ``proxx_core`` is internal, and no plugin distribution
imports one (tests/core/test_import_rules.py). Importing this package loads no plugins and stays cheap: every
name is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .contract.engine import (
        ENGINE_CONTRACT_VERSION,
        Capabilities,
        Check,
        Claim,
        ClipPlan,
        ClipRequest,
        Command,
        CommandRecord,
        Engine,
        EngineIdentity,
        Refusal,
        TogetherPlan,
        Verification,
    )
    from .contract.errors import CATEGORIES, ClipFailure, JobFileError, Problem, ProxxError, SpecInvalid
    from .contract.events import CLIP_STALLED, WORKER_LOST, ProxxEvent
    from .contract.hookspecs import hookimpl
    from .contract.media import AudioInfo, FrameRate, SourceInfo, VideoInfo
    from .contract.profiles import PROFILES, Profile
    from .contract.progress import ProgressEvent
    from .contract.results import FAILED, ClipResult, Failure, JobResult, SourceRecord
    from .contract.vocabulary import Category, ExistingOutputs, FpsMode, Layout, Raster, Status, UnsupportedSources
    from .features.chunking import ChunkedPlan, ChunkSpan, chunk_temp_path
    from .features.chunkrun import ChunkSource, chunk_job, span_label
    from .features.existing import policy_of
    from .io.clock import now_rfc3339
    from .pipeline.cards import expand_document
    from .pipeline.check import CheckedJob, check_document, check_job_file, static_problems
    from .pipeline.document import derive_job_id, jobspec_sha256, read_document
    from .pipeline.finish import FinishedJob, finish_job
    from .pipeline.pathmap import CONFIG_ENV, NodeConfig, PathMap, load_node_config, map_document
    from .pipeline.planning import PreparedClip, fails_clip, no_route_problem, route_source
    from .pipeline.results import environment, merged, refused_clip
    from .pipeline.routing import NoRoute
    from .pipeline.runner import UnitOptions, job_gate, run_clip, run_job, run_together, run_unit, work_units
    from .pipeline.serialization import dumps, from_data, to_data
    from .support.plugins import EngineSet, load_engines
    from .support.process import decisive_stderr_line
    from .watch.files import read_json
    from .watch.live import HEARTBEAT_SECONDS
    from .watch.owner import CHILDREN_FILE, OWNER_FILE, PROGRESS_FILE, Owner, judge
    from .watch.protocol import FINISHING_SUFFIX
    from .watch.scan import is_candidate_name

#: the contract types and the hook marker, imported on first use like the rest: a process that needs
#: one module of the core (the probe helper: io/helperprocess.py) does not pay for them all
_LAZY = dict.fromkeys(
    (
        "ENGINE_CONTRACT_VERSION",
        "Capabilities",
        "Check",
        "Claim",
        "ClipPlan",
        "ClipRequest",
        "Command",
        "CommandRecord",
        "Engine",
        "EngineIdentity",
        "Refusal",
        "TogetherPlan",
        "Verification",
    ),
    "contract.engine",
)
_LAZY.update(
    dict.fromkeys(
        ("CATEGORIES", "ClipFailure", "JobFileError", "Problem", "ProxxError", "SpecInvalid"), "contract.errors"
    )
)
_LAZY.update({"hookimpl": "contract.hookspecs"})
_LAZY.update(dict.fromkeys(("AudioInfo", "FrameRate", "SourceInfo", "VideoInfo"), "contract.media"))
_LAZY.update(dict.fromkeys(("PROFILES", "Profile"), "contract.profiles"))
_LAZY.update(
    dict.fromkeys(
        ("Category", "ExistingOutputs", "FpsMode", "Layout", "Raster", "Status", "UnsupportedSources"),
        "contract.vocabulary",
    )
)
#: the user API (name -> module)
_LAZY.update(dict.fromkeys(("load_engines", "EngineSet"), "support.plugins"))
_LAZY.update(dict.fromkeys(("check_job_file", "check_document", "CheckedJob"), "pipeline.check"))
_LAZY.update({"run_job": "pipeline.runner"})
_LAZY.update({"JobResult": "contract.results"})
_LAZY.update({"dumps": "pipeline.serialization"})
#: for front ends built on the pipeline's steps (a fleet runs them on several nodes): reading and
#: identifying a job, routing one source, running one clip, the one end of job, node configs
_LAZY.update({"static_problems": "pipeline.check"})
_LAZY.update(dict.fromkeys(("read_document", "derive_job_id", "jobspec_sha256"), "pipeline.document"))
_LAZY.update({"expand_document": "pipeline.cards"})
_LAZY.update({"CONFIG_ENV": "pipeline.pathmap"})
#: what ``proxx_event`` observers are told while jobs run
_LAZY.update(dict.fromkeys(("ProxxEvent", "WORKER_LOST", "CLIP_STALLED"), "contract.events"))
_LAZY.update(dict.fromkeys(("PreparedClip", "fails_clip", "no_route_problem", "route_source"), "pipeline.planning"))
_LAZY.update({"NoRoute": "pipeline.routing"})
_LAZY.update({"policy_of": "features.existing"})
_LAZY.update({"ProgressEvent": "contract.progress"})
_LAZY.update({"now_rfc3339": "io.clock"})
_LAZY.update({"decisive_stderr_line": "support.process"})
_LAZY.update(
    dict.fromkeys(("run_clip", "job_gate", "run_together", "run_unit", "UnitOptions", "work_units"), "pipeline.runner")
)
#: chunked intra encoding, for a front end that spreads a clip's chunks over nodes (proxx_fleet)
_LAZY.update(dict.fromkeys(("ChunkedPlan", "ChunkSpan", "chunk_temp_path"), "features.chunking"))
_LAZY.update(dict.fromkeys(("ChunkSource", "chunk_job", "span_label"), "features.chunkrun"))
_LAZY.update(dict.fromkeys(("finish_job", "FinishedJob"), "pipeline.finish"))
_LAZY.update(dict.fromkeys(("FAILED", "ClipResult", "Failure", "SourceRecord"), "contract.results"))
_LAZY.update(dict.fromkeys(("merged", "refused_clip", "environment"), "pipeline.results"))
_LAZY.update(dict.fromkeys(("to_data", "from_data"), "pipeline.serialization"))
_LAZY.update(dict.fromkeys(("NodeConfig", "PathMap", "map_document", "load_node_config"), "pipeline.pathmap"))
#: for readers of a watch folder's state files (status pages): names and the owner's verdict
_LAZY.update(
    {
        "read_json": "watch.files",
        "HEARTBEAT_SECONDS": "watch.live",
        "FINISHING_SUFFIX": "watch.protocol",
        "is_candidate_name": "watch.scan",
    }
)
_LAZY.update(dict.fromkeys(("CHILDREN_FILE", "OWNER_FILE", "PROGRESS_FILE", "Owner", "judge"), "watch.owner"))


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'proxx_core' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "CATEGORIES",
    "CHILDREN_FILE",
    "CLIP_STALLED",
    "CONFIG_ENV",
    "ENGINE_CONTRACT_VERSION",
    "FAILED",
    "FINISHING_SUFFIX",
    "HEARTBEAT_SECONDS",
    "OWNER_FILE",
    "PROFILES",
    "PROGRESS_FILE",
    "WORKER_LOST",
    "AudioInfo",
    "Capabilities",
    "Check",
    "check_document",
    "chunk_job",
    "chunk_temp_path",
    "ChunkedPlan",
    "ChunkSource",
    "ChunkSpan",
    "check_job_file",
    "CheckedJob",
    "Claim",
    "ClipFailure",
    "ClipPlan",
    "ClipRequest",
    "ClipResult",
    "Command",
    "CommandRecord",
    "decisive_stderr_line",
    "derive_job_id",
    "dumps",
    "Engine",
    "EngineIdentity",
    "EngineSet",
    "environment",
    "expand_document",
    "fails_clip",
    "Failure",
    "finish_job",
    "FinishedJob",
    "FrameRate",
    "from_data",
    "hookimpl",
    "is_candidate_name",
    "job_gate",
    "JobFileError",
    "JobResult",
    "jobspec_sha256",
    "judge",
    "load_engines",
    "load_node_config",
    "map_document",
    "merged",
    "no_route_problem",
    "NodeConfig",
    "NoRoute",
    "now_rfc3339",
    "Owner",
    "PathMap",
    "policy_of",
    "PreparedClip",
    "Problem",
    "Profile",
    "ProgressEvent",
    "ProxxError",
    "ProxxEvent",
    "read_document",
    "read_json",
    "Refusal",
    "refused_clip",
    "route_source",
    "run_clip",
    "run_job",
    "run_together",
    "run_unit",
    "SourceInfo",
    "span_label",
    "SpecInvalid",
    "SourceRecord",
    "static_problems",
    "to_data",
    "TogetherPlan",
    "UnitOptions",
    "Verification",
    "VideoInfo",
    "work_units",
    # the fixed vocabularies (StrEnums: each member equals its JSON string)
    "Category",
    "ExistingOutputs",
    "FpsMode",
    "Layout",
    "Raster",
    "Status",
    "UnsupportedSources",
]
