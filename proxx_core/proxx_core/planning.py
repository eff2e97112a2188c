"""Step 5 of the pipeline: from a ParsedJob to a fully planned job: probe, route, plan. No side effects.

``prepare`` is what `proxx validate`, `proxx plan`, `proxx run`, the watch folder and fleet workers
share, so what `plan` prints is exactly what `run` does.
"""

from __future__ import annotations

import os
from typing import Any

import attrs

from .builds import build_problems
from .deliverables import deliverable_problems
from .document import JobSpec, ParsedJob
from .engine import ClipPlan, ClipRequest
from .errors import Problem, ProxxError, SpecInvalid
from .hints import install_hint
from .media import SourceInfo
from .naming import output_names, temp_path_for
from .plugins import EngineSet
from .preflight import SourceStat
from .probe import ProbeVeto, probe_all
from .profiles import PROFILES, Profile, fit_raster
from .routing import NoRoute, Route, collect_claims, route
from .serialization import to_data


@attrs.frozen(kw_only=True)
class PreparedClip:
    index: int
    source: str
    source_info: SourceInfo
    route: Route
    plan: ClipPlan
    #: the file that was probed; the runner refuses to encode or publish if the path now names another
    source_stat: SourceStat | None = None


@attrs.frozen(kw_only=True)
class PreparedJob:
    parsed: ParsedJob
    clips: tuple[PreparedClip, ...]

    @property
    def spec(self) -> JobSpec:
        return self.parsed.spec

    @property
    def document(self) -> dict[str, Any]:
        return self.parsed.document

    @property
    def job_id(self) -> str:
        return self.parsed.job_id

    @property
    def jobspec_sha256(self) -> str:
        return self.parsed.jobspec_sha256


def _route_source(source: str, where: str, engines: EngineSet, profile: Profile,
                  pin: str | None) -> Problem | tuple[SourceStat | None, dict[str, SourceInfo], Route]:
    """Probe one source with every engine and route it: (stat, infos, Route) or the Problem."""
    before = SourceStat.of(source)
    try:
        infos, errors = probe_all(source, engines)
    except ProbeVeto as veto:
        return Problem(path=where, message=f"{source}: {veto}")
    if before is None or SourceStat.of(source) != before:
        return Problem(path=where, message=(
            f"{source}: changed or vanished while it was being probed; wait until it is fully copied, then retry"))
    decision = route(collect_claims(infos, errors, engines, profile), pin=pin)
    if isinstance(decision, NoRoute):
        hint = install_hint(source, engines.names)
        message = f"{source}: {decision.message}"
        category = decision.category
        if hint:
            message += f". Install {hint} on this node (pip install {hint})"
            category = "engine_unavailable"
        return Problem(path=where, message=message, category=category, install_hint=hint)
    return before, infos, decision

def route_problems(document: dict[str, Any], engines: EngineSet, skip: set[int]) -> list[Problem]:
    """For a spec already known to be invalid: why each source (except those in ``skip``, which
    have problems of their own) could not be routed, so every problem is reported in one pass.
    Needs only a known profile and a list of source paths; returns [] otherwise."""
    sources, pin = document.get("sources"), document.get("engine")
    profile = PROFILES.get(document.get("proxy_profile")) if isinstance(document.get("proxy_profile"), str) else None
    if profile is None or not isinstance(sources, list) or not all(isinstance(s, str) for s in sources):
        return []
    if pin is not None and (not isinstance(pin, str) or pin not in engines.names):
        return []
    problems = []
    for i, source in enumerate(sources):
        if i not in skip:
            routed = _route_source(source, f"/sources/{i}", engines, profile, pin)
            if isinstance(routed, Problem):
                problems.append(routed)
    return problems

def route_source(source: str, engines: EngineSet, profile: Profile, pin: str | None = None) -> Route | NoRoute:
    """How ``source`` is routed on this node, without planning (a fleet submitter picks the queue
    with it; ``NoRoute.needs`` names the engine a node lacking it would need)."""
    try:
        infos, errors = probe_all(source, engines)
    except ProbeVeto as veto:
        return NoRoute(message=str(veto), category="validation", candidates=())
    return route(collect_claims(infos, errors, engines, profile), pin=pin)

def prepare(parsed: ParsedJob, engines: EngineSet, *, only: int | None = None) -> PreparedJob:
    """Probe, route and plan every clip; raise SpecInvalid listing every clip that cannot be made.

    ``only`` (a 1-based clip index) prepares that one clip of the job, named and numbered exactly
    as in the whole job: a fleet worker runs one clip without probing the others."""
    spec = parsed.spec
    profile = PROFILES[spec.proxy_profile]
    names, name_problems = output_names(spec, parsed.job_id)
    if name_problems:
        raise SpecInvalid(name_problems)
    problems: list[Problem] = []
    clips: list[PreparedClip] = []
    if spec.engine is not None and spec.engine not in engines.names:
        problems.append(Problem(path="/engine", message=(
            f"engine {spec.engine!r} is not installed; installed engines: {', '.join(engines.names) or 'none'}. "
            f"Install proxx-engine-{spec.engine} or remove /engine"), category="engine_unavailable",
            install_hint=f"proxx-engine-{spec.engine}"))
        raise SpecInvalid(problems)
    for i, source in enumerate(spec.sources):
        if only is not None and i + 1 != only:
            continue
        where = f"/sources/{i}"
        routed = _route_source(source, where, engines, profile, spec.engine)
        if isinstance(routed, Problem):
            problems.append(routed)
            continue
        before, infos, decision = routed
        engine = engines.get(decision.engine)
        info = infos[decision.engine]
        width, height = fit_raster(info.video, profile)
        output_path = os.path.join(spec.output_dir, names[i])
        request = ClipRequest(index=i + 1, source=source, source_info=info, profile=profile,
                              output_path=output_path, temp_path=temp_path_for(output_path),
                              width=width, height=height)
        try:
            plan = engine.plan(request)
        except ProxxError as exc:
            problems.append(Problem(path=where, message=f"{source}: {exc.message}", category=exc.category))
            continue
        clips.append(PreparedClip(index=i + 1, source=source, source_info=info, route=decision, plan=plan,
                                  source_stat=before))
    problems += build_problems(spec.require_builds, engines, {c.plan.engine for c in clips}, whole_job=only is None)
    problems += deliverable_problems(parsed.document, engines, [to_data(c.source_info) for c in clips]) if only is None else []
    if problems:
        raise SpecInvalid(problems)
    return PreparedJob(parsed=parsed, clips=tuple(clips))
