"""Building the result document, one builder per outcome; its values (JobResult, ClipResult) are the contract's.

Key names and order are a contract (docs/results.md). Everything volatile (clock times, durations,
host) lives under keys named ``timing``, so two runs compare equal after dropping every ``timing``.
"""

from __future__ import annotations

import os
import platform
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ..contract.engine import EngineIdentity
from ..contract.errors import Problem
from ..contract.profiles import PROFILES
from ..contract.results import (
    COMPLETED,
    EXIT_EXECUTION,
    EXIT_OK,
    EXIT_PARTIAL,
    EXIT_SYSTEM,
    EXIT_VALIDATION,
    FAILED,
    PARTIAL,
    RESULT_VERSION,
    SKIPPED,
    ClipResult,
    Failure,
    JobResult,
    OutputRecord,
    SourceRecord,
)
from ..contract.vocabulary import Category, Layout, Status
from ..features.layouts import DEFAULT_LAYOUT, output_paths
from ..io.clock import now_rfc3339
from ..rules.naming import temp_path_for
from ..support import pluginindex
from ..support.hints import known_distributions
from .document import derive_job_id, jobspec_sha256
from .renditions import single_document
from .serialization import to_data

if TYPE_CHECKING:
    from .planning import PreparedJob


def proxx_version() -> str:
    return pluginindex.version("proxx-core") or "0+unknown"


def environment(identities: list[EngineIdentity], engine_distributions: tuple[str, ...] = ()) -> dict[str, Any]:
    """Proxx's own distributions plus those of the engines used (third-party ones included)."""
    dists = {}
    for name in sorted({*known_distributions(), *engine_distributions}):
        found = pluginindex.version(name)
        if found is not None:
            dists[name] = found
    return {
        "proxx_distributions": dists,
        "engines": [to_data(i) for i in sorted(identities, key=lambda i: i.name)],
        "os": {"system": platform.system(), "release": platform.release(), "machine": platform.machine()},
        "python": platform.python_version(),
    }


def job_timing(started_at: str, started_monotonic: float, finished_monotonic: float) -> dict[str, Any]:
    return {
        "started_at": started_at,
        "finished_at": now_rfc3339(),
        "seconds": round(finished_monotonic - started_monotonic, 3),
        "host": platform.node(),  # gethostname(), without importing socket
        "argv": list(sys.argv),
    }


def status_for(clips: tuple[ClipResult, ...]) -> tuple[Status, int]:
    """COMPLETED (exit 0) when every clip is COMPLETED or SKIPPED (its verified proxy is there)."""
    ok = sum(c.status in (COMPLETED, SKIPPED) for c in clips)
    if clips and ok == len(clips):
        return COMPLETED, EXIT_OK
    failed = [c for c in clips if c.status not in (COMPLETED, SKIPPED)]
    system = any(c.failure and c.failure.category == Category.IO_ERROR for c in failed)
    status = PARTIAL if ok else FAILED
    if system:
        return status, EXIT_SYSTEM
    return status, (EXIT_PARTIAL if ok else EXIT_EXECUTION)


def finished(
    job: PreparedJob,
    clips: tuple[ClipResult, ...],
    *,
    identities: list[EngineIdentity],
    distributions: tuple[str, ...],
    started_at: str,
    started_monotonic: float,
    finished_monotonic: float,
    workers: dict[str, Any] | None = None,
) -> JobResult:
    """The result of a job that ran: status and exit code from its clips (in source order)."""
    status, exit_code = status_for(clips)
    timing = job_timing(started_at, started_monotonic, finished_monotonic)
    if workers is not None:
        timing["workers"] = workers
    return JobResult(
        result_version=RESULT_VERSION,
        proxx_version=proxx_version(),
        job_id=job.job_id,
        jobspec_sha256=job.jobspec_sha256,
        status=status,
        exit_code=exit_code,
        environment=environment(identities, distributions),
        user_metadata=job.spec.user_metadata,
        clips=clips,
        timing=timing,
        jobspec=job.document,
        source_folders=job.parsed.source_folders,
    )


def merged_environment(environments: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """One ``environment`` for a job whose clips ran on several nodes: the first node's
    distributions, OS and Python, and every engine build any node used, once each."""
    merged = dict(environments[0]) if environments else environment([])
    seen, engines = set(), []
    for env in environments:
        for engine in env["engines"]:
            key = (engine["name"], engine.get("binary_sha256"), engine.get("version"))
            if key not in seen:
                seen.add(key)
                engines.append(engine)
    merged["engines"] = sorted(engines, key=lambda e: (e["name"], e.get("binary_sha256") or ""))
    return merged


def merged(
    document: dict[str, Any],
    clips: tuple[ClipResult, ...],
    *,
    job_id: str,
    jobspec_sha256: str,
    environments: Sequence[Mapping[str, Any]],
    timing: dict[str, Any],
) -> JobResult:
    """The result of a job whose clips ran on several nodes (a fleet), in `proxx run`'s schema:
    status and exit code from the clips (in source order), as :func:`finished` decides them."""
    status, exit_code = status_for(clips)
    return JobResult(
        result_version=RESULT_VERSION,
        proxx_version=proxx_version(),
        job_id=job_id,
        jobspec_sha256=jobspec_sha256,
        status=status,
        exit_code=exit_code,
        environment=merged_environment(environments),
        user_metadata=document.get("user_metadata"),
        clips=clips,
        timing=timing,
        jobspec=document,
    )


def refused_clip(index: int, source: str, problem: Problem, profile: str, rendition: str | None = None) -> ClipResult:
    """The FAILED result of a clip refused at validation under ``"unsupported_sources": "fail_clip"``:
    nothing ran for it; its failure carries the problem's category and reason."""
    import os

    try:
        size: int | None = os.path.getsize(source)
    except OSError:
        size = None
    now = now_rfc3339()
    return ClipResult(
        index=index,
        source=SourceRecord(path=source, size=size),
        engine=None,
        profile=profile,
        output=None,
        status=FAILED,
        failure=Failure(category=problem.category, message=f"refused at validation: {problem.message}"),
        timing={"started_at": now, "finished_at": now, "seconds": 0.0},
        rendition=rendition,
    )


def refused(
    problems: tuple[Problem, ...] | list[Problem],
    *,
    document: Any = None,
    job_id: str | None = None,
    jobspec_sha256: str | None = None,
    exit_code: int = EXIT_VALIDATION,
) -> JobResult:
    """A result for a job refused before any work (invalid spec, unreadable file)."""
    user_metadata = document.get("user_metadata") if isinstance(document, dict) else None
    return JobResult(
        result_version=RESULT_VERSION,
        proxx_version=proxx_version(),
        job_id=job_id,
        jobspec_sha256=jobspec_sha256,
        status=FAILED,
        exit_code=exit_code,
        environment=environment([]),
        user_metadata=user_metadata,
        clips=(),
        timing=job_timing(now_rfc3339(), 0.0, 0.0),
        problems=tuple(problems),
        jobspec=document,
    )


def _final_paths(doc: dict[str, Any], sources: list[str], profile: Any) -> list[str | None]:
    """Each source's final output path as the spec names it, for every layout (None where the spec
    cannot name it: recovery reports what it can, never raises)."""
    template, out_dir, layout = (
        doc.get("output_name_template"),
        doc.get("output_dir"),
        doc.get("layout", DEFAULT_LAYOUT),
    )
    none: list[str | None] = [None] * len(sources)
    if profile is None or not isinstance(layout, str):
        return none
    if layout != Layout.PROXY_SUBFOLDER and not isinstance(out_dir, str):
        return none  # every other layout writes under output_dir
    if layout == DEFAULT_LAYOUT and not isinstance(template, str):
        return none
    try:
        paths, _ = output_paths(
            tuple(sources),
            layout=layout,
            output_dir=out_dir if isinstance(out_dir, str) else None,
            template=template if isinstance(template, str) else None,
            job_id=derive_job_id(doc),
            profile=profile,
        )
        return list(paths)
    except Exception:
        return none


def _clip_files(final: str, *, op_atom: bool) -> list[str]:
    """The clip's final files: one, or for an OP-Atom clip (``avid_mxf``) its V1 file and every
    ``A<k>`` file already in the folder (the channel count is known only after probing)."""
    import os
    import re

    if not op_atom:
        return [final]
    stem = final.removesuffix(".mxf")
    folder, base = os.path.split(stem)
    audio = re.compile(re.escape(base) + r"\.A([0-9]+)\.mxf(\.proxx-partial)?")
    try:
        names = os.listdir(folder)
    except OSError:
        names = []
    channels = sorted({int(m.group(1)) for n in names for m in [audio.fullmatch(n.removeprefix("."))] if m})
    return [f"{stem}.V1.mxf"] + [f"{stem}.A{k}.mxf" for k in channels]


def _single_documents(doc: dict[str, Any]) -> list[tuple[dict[str, Any], str | None]]:
    """The spec as single-rendition specs, each with its rendition's name (JobSpec 1.2 renditions)."""
    renditions = doc.get("renditions")
    if not (isinstance(renditions, list) and renditions and all(isinstance(r, dict) for r in renditions)):
        return [(doc, None)]
    name = [r.get("name") for r in renditions]
    return [(single_document(doc, k), name[k] if isinstance(name[k], str) else None) for k in range(len(renditions))]


def _interrupted_clips(
    doc: dict[str, Any], sources: list[str], message: str, rendition: str | None
) -> list[ClipResult]:
    """Every source's ``interrupted`` clip under one (single-rendition) spec."""
    clips = []
    profile_name = doc.get("proxy_profile")
    profile = PROFILES.get(profile_name) if isinstance(profile_name, str) else None
    finals = _final_paths(doc, sources, profile)
    for i, src in enumerate(sources):
        final = finals[i]
        notes = [message]
        output = None
        if final:
            files = _clip_files(final, op_atom=doc.get("layout") == Layout.AVID_MXF)
            kept = None
            for path in files:
                temp = temp_path_for(path)
                if os.path.lexists(path):
                    notes.append(
                        f"a file exists at {path}; this result cannot vouch for it: check or delete it "
                        f"before running the job again"
                    )
                if os.path.lexists(temp):
                    kept = kept or temp
                    notes.append(f"an unfinished output was left at {temp}; delete it before running the job again")
            output = OutputRecord(path=files[0], size=None, sha256=None, verification=None, kept_temp_path=kept)
        try:
            size: int | None = os.path.getsize(src)
        except OSError:
            size = None
        clips.append(
            ClipResult(
                index=i + 1,
                source=SourceRecord(path=src, size=size),
                engine=None,
                profile=profile_name if isinstance(profile_name, str) else "",
                output=output,
                status=FAILED,
                failure=Failure(category=Category.INTERRUPTED, message="; ".join(notes)),
                rendition=rendition,
            )
        )
    return clips


def interrupted(document: Any, message: str, *, timing_extra: dict[str, Any] | None = None) -> JobResult:
    """A FAILED result for a job whose process died mid-run (watch-folder recovery): every clip
    ``interrupted``. Built from the spec alone (no probing): sources, profile and output names where
    the spec allows, with a note when a file exists under a clip's final or temporary output name."""
    doc = document if isinstance(document, dict) else None
    clips: list[ClipResult] = []
    problems: tuple[Problem, ...] = ()
    sources = doc.get("sources") if doc else None
    if doc is not None and isinstance(sources, list) and all(isinstance(s, str) for s in sources):
        for single, rendition in _single_documents(doc):
            clips += _interrupted_clips(single, sources, message, rendition)
        clips.sort(key=lambda c: c.index)  # source order, then the spec's order of renditions (a stable sort)
    else:
        problems = (Problem(path="", message=message, category=Category.INTERRUPTED),)
    job_id = None
    if doc is not None and isinstance(doc.get("job_id", ""), str):
        job_id = derive_job_id(doc)
    timing = {"started_at": None, "finished_at": now_rfc3339(), "seconds": None, **(timing_extra or {})}
    return JobResult(
        result_version=RESULT_VERSION,
        proxx_version=proxx_version(),
        job_id=job_id,
        jobspec_sha256=jobspec_sha256(doc) if doc is not None else None,
        status=FAILED,
        exit_code=EXIT_EXECUTION,
        environment=environment([]),
        user_metadata=doc.get("user_metadata") if doc is not None else None,
        clips=tuple(clips),
        timing=timing,
        problems=problems,
        jobspec=document,
    )
