"""From a validated JobSpec to a fully planned job: probe, route, plan. No side effects.

``prepare`` is what `proxx validate`, `proxx plan`, `proxx run` and the watch folder share, so
what `plan` prints is exactly what `run` does.
"""

from __future__ import annotations

import os
from pathlib import Path

import attrs

from .builds import build_problems
from .engine import Claim, ClipPlan, ClipRequest, Refusal
from .errors import Problem, ProxxError, SpecInvalid
from .hints import install_hint
from .media import SourceInfo
from .plugins import EngineSet
from .profiles import PROFILES, fit_raster, representability_problems
from .routing import NoRoute, Route, route
from .spec import JobSpec, derive_job_id, jobspec_sha256, output_names

TEMP_PREFIX = "."
TEMP_SUFFIX = ".proxx-partial"


@attrs.frozen(kw_only=True)
class SourceStat:
    """Which file a source path named when it was probed: its size and probe are of this file."""

    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str) -> SourceStat | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return cls(dev=st.st_dev, ino=st.st_ino, size=st.st_size, mtime_ns=st.st_mtime_ns)


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
    document: dict
    spec: JobSpec
    job_id: str
    jobspec_sha256: str
    clips: tuple[PreparedClip, ...]


def temp_path_for(output_path: str) -> str:
    """Hidden sibling of the final output: same directory, so the final rename is atomic."""
    head, tail = os.path.split(output_path)
    return os.path.join(head, f"{TEMP_PREFIX}{tail}{TEMP_SUFFIX}")


class _ProbeVeto(Exception):
    """An engine recognised the source as its own and found it invalid: no other engine may take it."""


def _probe_all(source: str, engines: EngineSet) -> tuple[dict[str, SourceInfo], dict[str, Refusal]]:
    infos: dict[str, SourceInfo] = {}
    errors: dict[str, Refusal] = {}
    for name in engines.names:
        try:
            info = engines.get(name).probe(Path(source))
        except ProxxError as exc:
            if exc.category == "validation":
                raise _ProbeVeto(f"{name}: {exc.message}") from None
            # engine_unavailable: it recognised the source but cannot read it on this node, which
            # routing must not let a less specific engine paper over
            errors[name] = Refusal(reason=exc.message, category="engine_unavailable" if exc.category ==
                                   "engine_unavailable" else "unsupported_source")
            continue
        except Exception as exc:  # an engine bug must not hide the other engines' answers
            errors[name] = Refusal(reason=f"probe raised {type(exc).__name__}: {exc}")
            continue
        if info is not None:
            infos[name] = info
    return infos, errors


def _outcomes(infos: dict[str, SourceInfo], errors: dict[str, Refusal], engines: EngineSet, profile) -> dict:
    outcomes: dict[str, Claim | Refusal] = {}
    for name in engines.names:
        if name in errors:
            outcomes[name] = errors[name]
        elif name not in infos:
            outcomes[name] = Refusal(reason="does not read this format")
        else:
            try:
                outcome = engines.get(name).claim(infos[name], profile)
            except Exception as exc:
                outcome = Refusal(reason=f"claim raised {type(exc).__name__}: {exc}")
            # the engine's own refusal (e.g. "Resolve is not running") says more than ours would
            why = representability_problems(infos[name].video, profile) if isinstance(outcome, Claim) else []
            outcomes[name] = Refusal(reason="; ".join(why)) if why else outcome
    return outcomes


def _route_source(source: str, where: str, engines: EngineSet, profile, pin: str | None):
    """Probe one source with every engine and route it: (stat, infos, Route) or the Problem."""
    before = SourceStat.of(source)
    try:
        infos, errors = _probe_all(source, engines)
    except _ProbeVeto as veto:
        return Problem(path=where, message=f"{source}: {veto}")
    if before is None or SourceStat.of(source) != before:
        return Problem(path=where, message=(
            f"{source}: changed or vanished while it was being probed; wait until it is fully copied, then retry"))
    decision = route(_outcomes(infos, errors, engines, profile), pin=pin)
    if isinstance(decision, NoRoute):
        hint = install_hint(source, engines.names)
        message = f"{source}: {decision.message}"
        category = decision.category
        if hint:
            message += f". Install {hint} on this node (pip install {hint})"
            category = "engine_unavailable"
        return Problem(path=where, message=message, category=category, install_hint=hint)
    return before, infos, decision


def route_problems(document: dict, engines: EngineSet, skip: set[int]) -> list[Problem]:
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


def route_source(source: str, engines: EngineSet, profile, pin: str | None = None) -> Route | NoRoute:
    """How ``source`` is routed on this node, without planning (a fleet submitter picks the queue
    with it; ``NoRoute.needs`` names the engine a node lacking it would need)."""
    try:
        infos, errors = _probe_all(source, engines)
    except _ProbeVeto as veto:
        return NoRoute(message=str(veto), category="validation", candidates=())
    return route(_outcomes(infos, errors, engines, profile), pin=pin)


def prepare(document: dict, spec: JobSpec, engines: EngineSet, *, only: int | None = None) -> PreparedJob:
    """Probe, route and plan every clip; raise SpecInvalid listing every clip that cannot be made.

    ``only`` (a 1-based clip index) prepares that one clip of the job, named and numbered exactly
    as in the whole job: a fleet worker runs one clip without probing the others."""
    profile = PROFILES[spec.proxy_profile]
    job_id = derive_job_id(document)
    names, name_problems = output_names(spec, job_id)
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
    if problems:
        raise SpecInvalid(problems)
    return PreparedJob(document=document, spec=spec, job_id=job_id,
                       jobspec_sha256=jobspec_sha256(document), clips=tuple(clips))
