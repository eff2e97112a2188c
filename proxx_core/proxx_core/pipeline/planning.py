"""Step 5 of the pipeline: from a ParsedJob to a fully planned job: probe, route, plan. No side effects.

``prepare`` is what `proxx validate`, `proxx plan`, `proxx run`, the watch folder and fleet workers
share, so what `plan` prints is exactly what `run` does.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import attrs

from ..contract.engine import ClipPlan, ClipRequest, Engine, TogetherPlan
from ..contract.errors import Problem, ProxxError, SpecInvalid
from ..contract.media import SourceInfo, VideoInfo
from ..contract.profiles import PROFILES, Profile
from ..contract.targets import Target
from ..contract.vocabulary import Category, Layout, UnsupportedSources
from ..features.burnin import resolve as resolve_burn_in
from ..features.chunking import ChunkedPlan, chunk_seconds, plan_chunked
from ..features.deliverables import deliverable_problems
from ..features.layouts import clip_raster, folders_to_create, job_write_gate, op_atom_targets, output_paths
from ..features.look import look_problems
from ..features.relink import ProxyFacts, promised_output
from ..features.relink import warnings as relink_warnings
from ..io.writegate import WriteGate
from ..rules.naming import temp_path_for
from ..support.builds import build_problems
from ..support.hints import distribution_for, install_command, install_hint
from ..support.plugins import EngineSet
from ..support.specvalues import DraftSpec, Invalid
from .document import JobSpec, ParsedJob
from .preflight import SourceStat
from .probe import ProbeVeto, probe_all
from .renditions import collision_problems, remapped, single_spec, unique
from .routing import NoRoute, Route, collect_claims, features_needed, route
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
    #: folders the runner may create before the clip's temp files, outermost first (proxx_core.features.layouts)
    folders: tuple[str, ...] = ()
    #: NLEs that will not link the planned proxy, and why (proxx_core.features.relink.warnings): what validate warns
    warnings: tuple[str, ...] = ()
    #: JobSpec 1.2 ``renditions``: the rendition's name (None: a single-rendition job)
    rendition: str | None = None
    #: a long all-intra clip's chunks and join (proxx_core.features.chunking); None: one pass, ``plan`` alone
    chunked: ChunkedPlan | None = None


@attrs.frozen(kw_only=True)
class RefusedClip:
    """A clip refused at validation that, under ``"unsupported_sources": "fail_clip"``, does not
    refuse the job: it is reported FAILED with the problem's category and reason, the rest run."""

    index: int
    source: str
    problem: Problem
    #: JobSpec 1.2 ``renditions``: the rendition refused, and its profile (None: a single-rendition job)
    rendition: str | None = None
    profile: str | None = None


#: problem categories ``fail_clip`` turns into a failed clip; the rest still refuse the job (a node
#: lacking an engine is the node's problem, not the source's: another node may make the clip)
FAIL_CLIP_CATEGORIES = (Category.UNSUPPORTED_SOURCE, Category.VALIDATION)


@attrs.frozen(kw_only=True)
class PreparedJob:
    parsed: ParsedJob
    clips: tuple[PreparedClip, ...]
    #: clips refused under ``"unsupported_sources": "fail_clip"``, in source order
    refused: tuple[RefusedClip, ...] = ()
    #: JobSpec 1.2 ``renditions``: runs that make several renditions of one source from one decode
    #: (``Engine.plan_together``); each member is also one of ``clips``
    together: tuple[TogetherPlan, ...] = ()

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


def _route_source(
    source: str,
    i: int,
    engines: EngineSet,
    profile: Profile,
    pin: str | None,
    needs: tuple[str, ...] = (),
) -> Problem | tuple[SourceStat | None, dict[str, SourceInfo], Route]:
    """Probe source ``i`` with every engine and route it: (stat, infos, Route) or the Problem."""
    before = SourceStat.of(source)
    try:
        infos, errors = probe_all(source, engines)
    except ProbeVeto as veto:
        return Problem.about_source(i, f"{source}: {veto}")
    if before is None or SourceStat.of(source) != before:
        return Problem.about_source(
            i, (f"{source}: changed or vanished while it was being probed; wait until it is fully copied, then retry")
        )
    decision = route(collect_claims(infos, errors, engines, profile, needs), pin=pin)
    if isinstance(decision, NoRoute):
        return attrs.evolve(no_route_problem(source, f"/sources/{i}", decision, engines), source_index=i)
    return before, infos, decision


def no_route_problem(source: str, where: str, decision: NoRoute, engines: EngineSet) -> Problem:
    """The problem of a source no engine here can make, naming the distribution to install when a
    known one would make it (then the node lacks an engine: ``engine_unavailable``)."""
    hint = install_hint(source, engines.names)
    message = f"{source}: {decision.message}"
    category = decision.category
    if hint:
        message += f". Install {hint} on this node: {install_command(hint)}"
        category = Category.ENGINE_UNAVAILABLE
    return Problem(path=where, message=message, category=category, install_hint=hint)


def fails_clip(spec: JobSpec, problem: Problem) -> bool:
    """Whether ``"unsupported_sources": "fail_clip"`` makes this problem one FAILED clip (the job
    runs the others) rather than a refusal of the whole job."""
    return spec.unsupported_sources is UnsupportedSources.FAIL_CLIP and problem.category in FAIL_CLIP_CATEGORIES


def route_problems(draft: DraftSpec, engines: EngineSet, skip: set[int]) -> list[Problem]:
    """For a spec already known to be invalid: why each source (except those in ``skip``, which
    have problems of their own) could not be routed, so every problem is reported in one pass.
    Needs only a known profile, a list of source paths and a usable (or no) engine pin; returns [] otherwise."""
    sources, pin = draft.sources, draft.engine
    if not isinstance(draft.proxy_profile, str) or isinstance(sources, Invalid):
        return []
    if pin is not None and (isinstance(pin, Invalid) or "engine" in draft.flawed or pin not in engines.names):
        return []
    profile = PROFILES[draft.proxy_profile]
    problems = []
    for i, source in enumerate(sources):
        if i not in skip:
            routed = _route_source(source, i, engines, profile, pin, features_needed(draft))
            if isinstance(routed, Problem):
                problems.append(routed)
    return problems


def route_source(
    source: str, engines: EngineSet, profile: Profile, pin: str | None = None, needs: tuple[str, ...] = ()
) -> Route | NoRoute:
    """How ``source`` is routed on this node, without planning (a fleet submitter picks the queue
    with it; ``NoRoute.needs`` names the engine a node lacking it would need)."""
    try:
        infos, errors = probe_all(source, engines)
    except ProbeVeto as veto:
        return NoRoute(message=str(veto), category=Category.VALIDATION, candidates=())
    return route(collect_claims(infos, errors, engines, profile, needs), pin=pin)


def _gate_problems(gate: WriteGate, paths: Iterable[tuple[str, str]], source: int | None) -> list[Problem]:
    """The write gate's refusals of a clip's files (final, temporary) at validate, never after the encode;
    about the source ``source`` (its folder is the output's: proxy_subfolder), else about the template."""
    fix = (
        "rename or move that source"
        if source is not None
        else "choose another output_name_template or output_dir, or rename that source"
    )
    problems = []
    for final, temp in paths:
        why = gate.refusal(final) or gate.temp_refusal(temp)
        if why:
            message = f"{why}; a source is never replaced: {fix}"
            problems.append(
                Problem.about_source(source, message)
                if source is not None
                else Problem(path="/output_name_template", message=message)
            )
    return problems


def _pinned_engine_missing(name: str | None, engines: EngineSet) -> Problem | None:
    """The JobSpec's ``engine`` names one that is not installed: what to install."""
    if name is None or name in engines.names:
        return None
    return Problem(
        path="/engine",
        message=(
            f"engine {name!r} is not installed; installed engines: {', '.join(engines.names) or 'none'}. "
            f"Install {distribution_for(name)} ({install_command(distribution_for(name))}) "
            f"or remove /engine"
        ),
        category=Category.ENGINE_UNAVAILABLE,
        install_hint=distribution_for(name),
    )


def _raster_for(
    engine: Engine, video: VideoInfo, profile: Profile, raster: str, layout: str, i: int, source: str
) -> tuple[int, int, str] | Problem:
    """(width, height, pixel aspect) of the clip's proxy, or why the routed engine cannot make it."""
    made = clip_raster(video, profile, raster)
    if isinstance(made, str):
        return Problem(path="/raster", message=f"for /sources/{i} ({source}): {made}")
    if layout not in engine.layouts:
        return Problem(
            path="/layout",
            message=(
                f"for /sources/{i}: engine {engine.name!r} cannot write layout {str(layout)!r} (it writes "
                f'{", ".join(engine.layouts)}); pin an engine that can ("engine": "ffmpeg")'
            ),
        )
    aspect = made[2]
    if aspect != "1:1" and not engine.keeps_pixel_aspect:
        return Problem(
            path="/raster",
            message=(
                f"for /sources/{i}: raster {str(raster)!r} keeps the source's pixel aspect {aspect}, which engine "
                f'{engine.name!r} cannot write; use raster "fit" or pin "engine": "ffmpeg"'
            ),
        )
    return made


def _targets(output_path: str, layout: str, info: SourceInfo) -> tuple[str, tuple[Target, ...]]:
    """The clip's video file and its other files (OP-Atom: one file per audio channel, temp names set)."""
    if layout != Layout.AVID_MXF:
        return output_path, ()
    targets = op_atom_targets(output_path, [a.channels for a in info.audio])
    return targets[0].path, tuple(attrs.evolve(t, temp_path=temp_path_for(t.path)) for t in targets[1:])


# one loop over the sources, each refusal a `continue` that keeps every problem for one report (C901: 16)
def prepare(parsed: ParsedJob, engines: EngineSet, *, only: int | None = None) -> PreparedJob:  # noqa: C901
    """Probe, route and plan every clip; raise SpecInvalid listing every clip that cannot be made.

    ``only`` (a 1-based clip index) prepares that one clip of the job, named and numbered exactly
    as in the whole job: a fleet worker runs one clip without probing the others."""
    spec = parsed.spec
    if spec.renditions:
        return _prepare_renditions(parsed, engines, only=only)
    profile = PROFILES[spec.proxy_profile]
    paths, name_problems = output_paths(
        spec.sources,
        layout=spec.layout,
        output_dir=spec.output_dir,
        template=spec.output_name_template,
        job_id=parsed.job_id,
        profile=profile,
    )
    if name_problems:
        raise SpecInvalid(name_problems)
    problems: list[Problem] = []
    clips: list[PreparedClip] = []
    refused: list[RefusedClip] = []

    def refuse(i: int, source: str, problem: Problem) -> None:
        if fails_clip(spec, problem):
            refused.append(RefusedClip(index=i + 1, source=source, problem=problem))
        else:
            problems.append(problem)

    missing = _pinned_engine_missing(spec.engine, engines)
    if missing:
        raise SpecInvalid([missing])
    needs = features_needed(spec)
    seconds = chunk_seconds()  # read once: every clip of the job cut alike
    gate = job_write_gate(spec.sources, layout=spec.layout, output_dir=spec.output_dir)
    look, look_errors = look_problems(spec.look) if spec.look is not None else (None, [])
    if look_errors:  # the file changed since the document was checked
        raise SpecInvalid(look_errors)
    for i, source in enumerate(spec.sources):
        if only is not None and i + 1 != only:
            continue
        routed = _route_source(source, i, engines, profile, spec.engine, needs)
        if isinstance(routed, Problem):
            refuse(i, source, routed)
            continue
        before, infos, decision = routed
        engine = engines.get(decision.engine)
        assert engine is not None  # routing chose one of these engines
        info = infos[decision.engine]
        video = info.video
        assert video is not None  # routing refuses a source without video
        raster = _raster_for(engine, video, profile, spec.raster, spec.layout, i, source)
        if isinstance(raster, Problem):
            problems.append(raster)
            continue
        width, height, aspect = raster
        output_path, extra = _targets(paths[i], spec.layout, info)
        files = ((output_path, temp_path_for(output_path)), *((t.path, t.temp_path) for t in extra))
        gated = _gate_problems(gate, files, i if spec.layout is Layout.PROXY_SUBFOLDER else None)
        if gated:  # OP-Atom audio files and temporary names are known only now (after the probe)
            problems += gated
            continue
        request = ClipRequest(
            index=i + 1,
            source=source,
            source_info=info,
            profile=profile,
            output_path=output_path,
            temp_path=temp_path_for(output_path),
            width=width,
            height=height,
            sample_aspect=aspect,
            layout=spec.layout,
            extra_outputs=extra,
            look=look,
            burn_in=resolve_burn_in(
                spec.burn_in,
                spec.watermark,
                source=source,
                reel=info.reel_name,
                job_id=parsed.job_id,
                start_timecode=info.start_timecode,
                frame_rate=video.frame_rate,
            )
            if needs
            else None,
        )
        try:
            plan = engine.plan(request)
            chunked = plan_chunked(engine, plan, seconds)
        except ProxxError as exc:
            refuse(i, source, Problem.about_source(i, f"{source}: {exc.message}", category=exc.category))
            continue
        except Exception as exc:  # an engine bug: a validation problem naming it, never a traceback
            problems.append(
                Problem.about_source(
                    i,
                    category=Category.ENGINE_FAILED,
                    message=(
                        f"{source}: engine {engine.name!r} could not plan this clip: plan() raised "
                        f"{type(exc).__name__}: {exc}; report it to the engine's authors, or pin another engine"
                    ),
                )
            )
            continue
        facts = ProxyFacts(
            source_path=source,
            output_path=output_path,
            layout=spec.layout,
            op_atom=bool(spec.layout is Layout.AVID_MXF),
        )
        warned = tuple(m for _nle, m in relink_warnings(info, promised_output(request), facts))
        clips.append(
            PreparedClip(
                index=i + 1,
                source=source,
                source_info=info,
                route=decision,
                plan=plan,
                source_stat=before,
                folders=folders_to_create(spec.layout, source, spec.output_dir),
                warnings=warned,
                chunked=chunked,
            )
        )
    problems += build_problems(spec.require_builds, engines, {c.plan.engine for c in clips}, whole_job=only is None)
    if only is None and spec.deliverables:  # the sinks get the probed sources, as data
        problems += deliverable_problems(
            parsed.document, engines, [to_data(c.source_info) for c in clips], job_id=parsed.job_id
        )
    if spec.notify:
        problems += notify_problems(spec.notify, engines)
    if problems:
        raise SpecInvalid(problems)
    return PreparedJob(parsed=parsed, clips=tuple(clips), refused=tuple(refused))


#: the plugin (entry-point name) that tells a JobSpec's ``notify`` targets; its distribution
NOTIFY_PLUGIN, NOTIFY_DISTRIBUTION = "notify", "proxx-notify"


def notify_problems(names: tuple[str, ...], engines: EngineSet) -> list[Problem]:
    """A JobSpec's ``notify`` names targets this node's config defines, and a plugin is here to tell them:
    refused at validate, never found missing when the job ends."""
    from .pathmap import load_node_config  # only jobs that ask for notifications read the node config

    if NOTIFY_PLUGIN not in engines.plugin_names:
        return [
            Problem(
                path="/notify",
                category=Category.ENGINE_UNAVAILABLE,
                install_hint=NOTIFY_DISTRIBUTION,
                message=f"notifications are sent by {NOTIFY_DISTRIBUTION}, which is not installed here: "
                f"{install_command(NOTIFY_DISTRIBUTION)}",
            )
        ]
    try:
        config = load_node_config()
    except ProxxError as exc:
        return [Problem(path="/notify", message=exc.message)]
    where = config.path or "no node config (set PROXX_CONFIG)"
    known = ", ".join(sorted(config.notify_targets)) or "none"
    return [
        Problem(
            path=f"/notify/{i}",
            message=(
                f"no notification target {name!r} in {where} (targets: {known}); define it under [notify.targets] "
                f"in the node config: a JobSpec names targets, it never holds their URLs or secrets"
            ),
        )
        for i, name in enumerate(names)
        if name not in config.notify_targets
    ]


def _prepare_renditions(parsed: ParsedJob, engines: EngineSet, *, only: int | None) -> PreparedJob:
    """JobSpec 1.2 ``renditions``: each rendition prepared as the single-rendition job it stands for
    (the same routing, names, gate and plans), then the runs that share one decode of a source."""
    problems: list[Problem] = []
    clips: list[PreparedClip] = []
    refused: list[RefusedClip] = []
    for k, rendition in enumerate(parsed.spec.renditions):
        try:
            job = prepare(attrs.evolve(parsed, spec=single_spec(parsed.spec, rendition)), engines, only=only)
        except SpecInvalid as exc:
            problems += remapped(exc.problems, k, own_dir=rendition.output_dir is not None, name=rendition.name)
            continue
        clips += (
            attrs.evolve(
                c, rendition=rendition.name, warnings=tuple(f"rendition {rendition.name!r}: {w}" for w in c.warnings)
            )
            for c in job.clips
        )
        refused += (attrs.evolve(r, rendition=rendition.name, profile=rendition.proxy_profile) for r in job.refused)
    order = {r.name: k for k, r in enumerate(parsed.spec.renditions)}
    clips.sort(key=lambda c: (c.index, order[c.rendition or ""]))
    refused.sort(key=lambda r: (r.index, order[r.rendition or ""]))
    problems += collision_problems(
        [
            (order[c.rendition or ""], path, f"/sources/{c.index - 1}")
            for c in clips
            for path in _clip_files(c.plan.request)
        ]
    )
    together, plan_problems = _together(clips, engines)
    problems += plan_problems
    if problems:
        raise SpecInvalid(unique(problems))
    return PreparedJob(parsed=parsed, clips=tuple(clips), refused=tuple(refused), together=together)


def _clip_files(req: ClipRequest) -> tuple[str, ...]:
    """Every file a clip writes, final and temporary."""
    return (req.output_path, req.temp_path, *(p for t in req.extra_outputs for p in (t.path, t.temp_path)))


def _together(clips: list[PreparedClip], engines: EngineSet) -> tuple[tuple[TogetherPlan, ...], list[Problem]]:
    """The renditions of each source routed to one engine, as one run where the engine offers it."""
    groups: dict[tuple[int, str], list[PreparedClip]] = {}
    for clip in clips:
        groups.setdefault((clip.index, clip.plan.engine), []).append(clip)
    together, problems = [], []
    for (index, name), group in groups.items():
        engine = engines.get(name)
        if len(group) < 2 or engine is None:
            continue
        try:
            plan = engine.plan_together(tuple(c.plan for c in group))
        except Exception as exc:  # an engine bug: a validation problem naming it, never a traceback
            problems.append(
                Problem(
                    path=f"/sources/{index - 1}",
                    category="engine_failed",
                    message=(
                        f"{group[0].source}: engine {name!r} could not plan its renditions together: plan_together() "
                        f"raised {type(exc).__name__}: {exc}; report it to the engine's authors"
                    ),
                )
            )
            continue
        if plan is not None:
            together.append(plan)
    return tuple(together), problems
