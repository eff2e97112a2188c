"""One task on a node: the clips it was handed (one clip, or a source's renditions that one engine run
makes), checked and planned as this node sees them, then run with the core's own steps: each work unit
(``work_units``) by ``run_unit``, as `proxx run` runs it: a lone clip (a long intra clip chunked across
the fleet, chunks.py), or a source's renditions from one decode (each judged and published on its
own). Every clip of the task gets its own result, refused ones included."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

import attrs

from proxx_core import (
    CheckedJob,
    PreparedClip,
    ProgressEvent,
    UnitOptions,
    check_document,
    environment,
    job_gate,
    map_document,
    policy_of,
    run_unit,
    to_data,
    work_units,
)

from .chunks import FleetChunks
from .clips import failed_clip, node_record
from .policy import clip_reads_and_writes, planned_writes, refusals
from .units import slot

if TYPE_CHECKING:
    from .worker import Node

#: the fix for a node that routes, groups or plans a task's clips otherwise than the submitter did
SAME_ENGINES = "install the same engine distributions on the submitting machine and every node"

#: clip number -> {"clip": result data, "environment": ...}, as the store records a clip
Results = dict[int, dict[str, Any]]


class _Refused(Exception):
    """Every clip of the task fails with ``category`` and ``message`` before anything runs."""

    def __init__(self, category: str, message: str):
        super().__init__(message)
        self.category, self.message = category, message


def run_task(node: Node, payload: dict[str, Any], numbers: list[int], cancel: threading.Event) -> Results:
    """The result of every clip ``numbers`` names; never a clip without one."""
    document, engine = payload["document"], payload["engine"]
    mapped_doc, _paths = map_document(document, node.config.path_map)
    index = slot(document, numbers[0]).index  # one source per task
    where = {"source": mapped_doc["sources"][index - 1], "output_dir": mapped_doc.get("output_dir")}
    info = {n: node_record(node.name, document, n, where) for n in numbers}

    def failed(n: int, category: str, message: str) -> dict[str, Any]:
        return {"clip": failed_clip(document, n, engine, category, message, info[n]), "environment": None}

    try:
        checks = [c for n in numbers for c in clip_reads_and_writes(mapped_doc, n)]
        refused = refusals(dict.fromkeys(checks), node.config)  # before anything opens a file
        if refused:
            raise _Refused("validation", policy_message(node, refused))
        checked = check_document(mapped_doc, node.engines, only=index)
        if checked.job is None:
            raise _Refused(*_check_failure(node, document, mapped_doc, index, checked))
        wanted = {slot(document, n).rendition: n for n in numbers}
        results: Results = {}
        for r in checked.job.refused:  # "unsupported_sources": "fail_clip" refused it at validation here
            if r.rendition in wanted:
                results[wanted[r.rendition]] = failed(
                    wanted[r.rendition], r.problem.category, f"refused at validation: {r.problem.message}"
                )
        units = _units(node, checked, wanted, engine)
    except _Refused as stop:
        return {n: failed(n, stop.category, stop.message) for n in numbers}
    spec = checked.job.spec
    gate = job_gate(checked.job)
    label = node.engines.loaded[engine].distribution
    env = environment([node.engines.identity(engine)], (label.rsplit(" ", 1)[0],) if label else ())

    def on_event(event: ProgressEvent) -> None:  # kept here, sent to Redis with the next heartbeat
        if event.event == "progress":
            sample = {"percent": event.percent, "eta_seconds": event.eta_seconds, "speed": event.speed}
            with node.lock:  # the task's clips share one source and one run: one progress for all
                for n in numbers:
                    node.progress[(payload["job_id"], n)] = sample

    options = UnitOptions(
        overwrite=spec.overwrite, cancel=cancel, existing_outputs=policy_of(spec), events=on_event, gate=gate
    )
    for unit in units:
        clips = unit[1]
        chunks = FleetChunks(node, {**payload, "index": wanted[clips[0].rendition]})  # a lone clip's chunks
        made = run_unit(unit, node.engines, options, slots=chunks)
        for clip, result in zip(clips, made, strict=True):
            n = wanted[clip.rendition]
            results[n] = {"clip": to_data(attrs.evolve(result, node=info[n])), "environment": env}
    for n in numbers:  # planned by the submitter, not by this node: never a clip without a result
        if n not in results:
            results[n] = failed(
                n, "engine_unavailable", f"node {node.name} did not plan {slot(document, n).label()}; {SAME_ENGINES}"
            )
    return results


def _units(
    node: Node, checked: CheckedJob, wanted: dict[str | None, int], engine: str
) -> list[tuple[Any, tuple[PreparedClip, ...]]]:
    """The work units (``runner.work_units``) that make the task's clips, and only those; refused when
    this node routes or groups them otherwise than the submitter, or its policy refuses a file."""
    assert checked.job is not None
    units = [u for u in work_units(checked.job) if any(c.rendition in wanted for c in u[1])]
    for _plan, clips in units:
        for clip in clips:
            if clip.rendition not in wanted or clip.plan.engine != engine:
                raise _Refused(
                    "engine_unavailable",
                    f"node {node.name} routes {_named(clip)} to {clip.plan.engine!r} but the submitter routed "
                    f"{'it' if clip.rendition in wanted else 'this task'} to {engine!r}; {SAME_ENGINES}",
                )
            refused = refusals(planned_writes(clip), node.config)
            if refused:
                raise _Refused("validation", policy_message(node, refused))
    return units


def _named(clip: PreparedClip) -> str:
    return f"rendition {clip.rendition!r} of this source" if clip.rendition else "this clip"


def _check_failure(
    node: Node, document: dict[str, Any], mapped_doc: dict[str, Any], index: int, checked: CheckedJob
) -> tuple[str, str]:
    """(category, message) of a task this node's validation refused, naming each path as submitted
    and as mapped here."""
    categories = {p.category for p in checked.problems}
    category = categories.pop() if len(categories) == 1 else "validation"
    submitted_src, mapped_src = document["sources"][index - 1], mapped_doc["sources"][index - 1]
    lines = []
    for p in checked.problems:
        text = p.message
        if p.path == f"/sources/{index - 1}" or p.path == "/output_dir":
            is_source = p.path.startswith("/sources")
            text = (
                f"{text} [submitted path {submitted_src if is_source else document['output_dir']}"
                f", mapped on node {node.name} to {mapped_src if is_source else mapped_doc['output_dir']}"
                f"{' by ' + node.config.path if node.config.path else ' (no path map)'}]"
            )
        lines.append(f"{p.path or '/'}: {text}")
    return category, "; ".join(lines)


def policy_message(node: Node, refused: list[str]) -> str:
    return f"refused by node {node.name}'s [allow] policy, not run: " + "; ".join(refused)
