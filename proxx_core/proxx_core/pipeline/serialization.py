"""Values as JSON documents: results, plans and the shipped JSON Schemas (values become data in
``contract.data``, whose ``to_data``/``from_data`` this module re-exports).

Key names and order are a contract (docs/results.md): attrs classes unstructure in declaration
order, ``FrameRate`` as "num/den", and documents are UTF-8 JSON without ``\\u`` escapes.
"""

from __future__ import annotations

import json
import os
from typing import TYPE_CHECKING, Any

from ..contract.data import from_data, to_data

if TYPE_CHECKING:
    from ..contract.engine import EngineIdentity
    from ..contract.results import JobResult
    from .planning import PreparedJob

__all__ = ["from_data", "to_data"]  # re-exported: every step that makes data imports them from here

#: schema files shipped in proxx_core/schemas (printed by `proxx schema [--result|--plan]`)
JOBSPEC_SCHEMA, RESULT_SCHEMA, PLAN_SCHEMA = "jobspec-1.0.json", "result-1.0.json", "plan-1.0.json"
PLAN_VERSION = "1.0.0"
_PACKAGE_DIR = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_schema(name: str = JOBSPEC_SCHEMA) -> dict[str, Any]:
    """A schema shipped in proxx_core/schemas: read beside this package (~2 ms of every command's
    start-up less than importlib.resources' readers and zipfile), or through importlib.resources when
    the package is not a folder of files (a zip)."""
    try:
        with open(os.path.join(_PACKAGE_DIR, "schemas", name), encoding="utf-8") as fh:
            text = fh.read()
    except (FileNotFoundError, NotADirectoryError):
        from importlib import resources  # a zipped install only

        text = resources.files("proxx_core").joinpath("schemas", name).read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


def dumps(result: JobResult) -> str:
    """One UTF-8 JSON document, stable key order (declaration order), no ``\\u`` escapes."""
    return json.dumps(to_data(result), ensure_ascii=False, indent=2) + "\n"


def plan_document(job: PreparedJob, identities: list[EngineIdentity]) -> dict[str, Any]:
    """What `proxx plan` prints (schema: plan-1.0.json): routing and the exact commands of every
    clip, and the exact engine builds that would run (copy one into /require_builds to pin it)."""
    return {
        "plan_version": PLAN_VERSION,
        "job_id": job.job_id,
        "jobspec_sha256": job.jobspec_sha256,
        "profile": job.spec.proxy_profile,
        "engines": [to_data(i) for i in sorted(identities, key=lambda i: i.name)],
        "clips": [
            {
                "index": c.index,
                "source": c.source,
                "engine": c.plan.engine,
                "route": to_data(c.route),
                "output_path": c.plan.request.output_path,
                "temp_path": c.plan.request.temp_path,
                "raster": f"{c.plan.request.width}x{c.plan.request.height}",
                "commands": [to_data(cmd) for cmd in c.plan.commands],
                "settings": c.plan.settings,
                "source_info": to_data(c.source_info),
                **(
                    {
                        "extra_outputs": [
                            {"kind": t.kind, "path": t.path, "temp_path": t.temp_path}
                            for t in c.plan.request.extra_outputs
                        ]
                    }
                    if c.plan.request.extra_outputs
                    else {}
                ),
                **({"chunks": _chunks_data(c.chunked)} if c.chunked is not None else {}),
                "warnings": list(c.warnings),
                **({"rendition": c.rendition} if c.rendition is not None else {}),
            }
            for c in job.clips
        ],
        "layout": job.spec.layout,
        "folders": written_folders(job),
        **({"together": together_document(job)} if job.together else {}),
    }


def together_document(job: PreparedJob) -> list[dict[str, Any]]:
    """The runs that make several renditions of one source from one decode (JobSpec 1.2)."""
    rendition = {c.plan.request.output_path: c.rendition for c in job.clips}
    return [
        {
            "index": t.request.index,
            "engine": t.engine,
            "renditions": [rendition[m.request.output_path] for m in t.members],
            "commands": [to_data(cmd) for cmd in t.commands],
            "settings": t.settings,
        }
        for t in job.together
    ]


def _chunks_data(chunked: Any) -> dict[str, Any]:
    """A chunked clip's plan (proxx_core.features.chunking.ChunkedPlan): its spans, each chunk's commands, the join."""
    return {
        **chunked.record(),
        "chunks": [
            {"temp_path": p.request.temp_path, "commands": [to_data(cmd) for cmd in p.commands]} for p in chunked.chunks
        ],
        "join": {"commands": [to_data(cmd) for cmd in chunked.join.commands]},
    }


def written_folders(job: PreparedJob) -> list[str]:
    """Every folder the job writes into, sorted (JobSpec 1.1 layouts; `validate` and `plan` list it)."""
    return sorted({os.path.dirname(c.plan.request.output_path) for c in job.clips})


def strip_timing(data: Any) -> Any:
    """The comparable part of a result: every ``timing`` key removed, recursively."""
    if isinstance(data, dict):
        return {k: strip_timing(v) for k, v in data.items() if k != "timing"}
    if isinstance(data, list):
        return [strip_timing(v) for v in data]
    return data
