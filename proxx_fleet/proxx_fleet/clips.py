"""Clip results for what happens outside the runner: refused on a node, cancelled, worker lost.

``index`` here is the fleet's clip number (units.py): a source, or a source's rendition."""

from __future__ import annotations

from typing import Any

from proxx_core import FAILED, ClipResult, Failure, SourceRecord, now_rfc3339, to_data

from .units import slot, source_of


def node_record(name: str | None, document: dict, index: int, mapped: dict | None = None) -> dict[str, Any]:
    """``node`` of a clip result: who ran it, and its paths as submitted and as that node saw them."""
    submitted = {"source": source_of(document, index), "output_dir": document.get("output_dir")}
    return {"name": name, "submitted": submitted, "mapped": mapped}


def failed_clip(
    document: dict, index: int, engine: str | None, category: str, message: str, node: dict[str, Any]
) -> dict[str, Any]:
    now = now_rfc3339()
    source = (node.get("mapped") or node["submitted"])["source"]
    clip = slot(document, index)
    result = ClipResult(
        index=clip.index,
        source=SourceRecord(path=source, size=None),
        engine=engine,
        profile=clip.profile,
        output=None,
        commands=(),
        status=FAILED,
        failure=Failure(category=category, message=message),
        timing={"started_at": now, "finished_at": now, "seconds": 0.0},
        route=None,
        node=node,
        rendition=clip.rendition,
    )
    return to_data(result)


def lost_message(node: str | None) -> str:
    return (
        f"worker {node} stopped sending heartbeats while running this clip (killed, crashed or cut off "
        f"from Redis). It is not re-run: check that node, delete any hidden temporary output "
        f"(.<name>.proxx-partial) it left in the output folder, and submit again with a new job_id"
    )


def lost_payload(job: dict, index: int, node: str | None, by: str | None = None) -> dict[str, Any]:
    """What a clip whose worker stopped heartbeating is recorded as (``worker_lost``): its ``node``
    record says when the fleet recorded the loss and who did (a worker's reaper, `proxx status`, `proxx wait`)."""
    document = job["document"]
    record = {**node_record(node, document, index), "lost": {"at": now_rfc3339(), "recorded_by": by}}
    return {
        "clip": failed_clip(document, index, job["engines"][index - 1], "worker_lost", lost_message(node), record),
        "environment": None,
    }


def lost_of(clip: dict[str, Any] | None) -> dict[str, Any] | None:
    """``{"worker", "at", "recorded_by"}`` of a clip result lost with its worker, else None. A clip
    recorded before ``node.lost`` existed gives the time its result was written and no recorder."""
    if not clip or (clip.get("failure") or {}).get("category") != "worker_lost":
        return None
    node = clip.get("node") or {}
    lost = node.get("lost") or {}
    return {
        "worker": node.get("name"),
        "at": lost.get("at") or (clip.get("timing") or {}).get("finished_at"),
        "recorded_by": lost.get("recorded_by"),
    }
