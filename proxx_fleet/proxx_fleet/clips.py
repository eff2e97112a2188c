"""Clip results for what happens outside the runner: refused on a node, cancelled, worker lost."""

from __future__ import annotations

from typing import Any

from proxx_core import FAILED, ClipResult, Failure, SourceRecord, now_rfc3339, to_data


def node_record(name: str | None, document: dict, index: int, mapped: dict | None = None) -> dict[str, Any]:
    """``node`` of a clip result: who ran it, and its paths as submitted and as that node saw them."""
    submitted = {"source": document["sources"][index - 1], "output_dir": document.get("output_dir")}
    return {"name": name, "submitted": submitted, "mapped": mapped}


def failed_clip(document: dict, index: int, engine: str | None, category: str, message: str,
                node: dict[str, Any]) -> dict[str, Any]:
    now = now_rfc3339()
    source = (node.get("mapped") or node["submitted"])["source"]
    result = ClipResult(index=index, source=SourceRecord(path=source, size=None), engine=engine,
                        profile=document["proxy_profile"], output=None, commands=(), status=FAILED,
                        failure=Failure(category=category, message=message),
                        timing={"started_at": now, "finished_at": now, "seconds": 0.0}, route=None, node=node)
    return to_data(result)


def lost_message(node: str | None) -> str:
    return (f"worker {node} stopped sending heartbeats while running this clip (killed, crashed or cut off "
            f"from Redis). It is not re-run: check that node, delete any hidden temporary output "
            f"(.<name>.proxx-partial) it left in the output folder, and submit again with a new job_id")


def lost_payload(job: dict, index: int, node: str | None) -> dict[str, Any]:
    """What a clip whose worker stopped heartbeating is recorded as (``worker_lost``)."""
    document = job["document"]
    return {"clip": failed_clip(document, index, job["engines"][index - 1], "worker_lost", lost_message(node),
                                node_record(node, document, index)), "environment": None}
