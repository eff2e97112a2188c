"""The pipeline, in order, from a job file to a prepared job or a refusal with every problem.

document  -> read and parse (schema, versions, identity)        proxx_core.pipeline.document
preflight -> sources and output folder on disk                    proxx_core.pipeline.preflight
naming    -> output names, never a source, portable                proxx_core.rules.naming
planning  -> probe, route and plan every clip                     proxx_core.pipeline.planning
(then runner.run_job -> results -> serialization.dumps)

engines = load_engines()
checked = check_job_file(path, engines)      # never raises for a bad spec
if checked.job is None: emit(checked.refusal)  # exit 1 (or 4 for an unreadable file)
else: result = run_job(checked.job, engines, max_workers=N)
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import attrs

from ..contract.errors import JobFileError, Problem, SpecInvalid
from ..contract.profiles import PROFILES
from ..contract.results import EXIT_SYSTEM, EXIT_VALIDATION
from ..contract.vocabulary import Category, Layout
from ..features.layouts import layout_problems
from ..rules.naming import name_problems
from ..support.plugins import EngineSet
from ..support.specvalues import DraftSpec
from .cards import expand_document
from .document import (
    JobSpec,
    ParsedJob,
    derive_job_id,
    document_problems,
    job_id_usable,
    jobspec_sha256,
    read_document,
    read_spec,
    with_profile_defaults,
)
from .planning import PreparedJob, prepare, route_problems
from .preflight import disk_problems
from .renditions import form_problems, remapped, single_document, unique

if TYPE_CHECKING:
    from ..contract.results import JobResult


@attrs.frozen(kw_only=True)
class CheckedJob:
    document: Any
    job: PreparedJob | None
    problems: tuple[Problem, ...]
    #: 0 valid, 1 invalid, 4 the file could not be read
    exit_code: int
    #: the result document for a refused job (None when valid)
    refusal: JobResult | None

    @property
    def only_missing_engines(self) -> bool:
        return bool(self.problems) and all(p.category == Category.ENGINE_UNAVAILABLE for p in self.problems)


def static_problems(doc: Any) -> tuple[ParsedJob | None, list[Problem]]:
    """Every problem found without engines, in one pass: the document, the disk, the names."""
    draft, problems = _static(doc)
    return (None, problems) if problems or draft is None else (ParsedJob.of(doc, JobSpec.of(draft)), [])


def _static(doc: Any) -> tuple[DraftSpec | None, list[Problem]]:
    """The document's typed values (its flawed keys marked) and every problem found without engines."""
    if isinstance(doc, dict) and isinstance(doc.get("renditions"), list):  # each rendition checked on its own
        problems = rendition_problems(doc)
        draft = read_spec(doc)[0]
        return (None if draft is None else draft.with_problems(problems)), problems
    draft, problems = read_spec(doc)
    if draft is None:
        return None, problems
    problems += disk_problems(draft)
    draft = draft.with_problems(problems)
    job_id = derive_job_id(doc) if job_id_usable(draft) else None
    if draft.layout != Layout.OUTPUT_DIR:  # names and folders per layout
        if "output_name_template" not in draft.flawed and "layout" not in draft.flawed:
            problems += layout_problems(draft, job_id)
    elif "output_name_template" not in draft.flawed:
        problems += name_problems(draft, job_id=job_id)
    return draft.with_problems(problems), problems


def rendition_problems(doc: dict[str, Any]) -> list[Problem]:
    """A JobSpec 1.2 spec with ``renditions``: the document's own problems, then every rendition checked
    as the single-rendition spec it stands for, its own keys named under ``/renditions/<k>``."""
    problems = document_problems(doc) + form_problems(doc)
    for k, rendition in enumerate(doc["renditions"]):
        profile = rendition.get("proxy_profile") if isinstance(rendition, dict) else None
        if (
            not isinstance(profile, str)
            or profile not in PROFILES
            or any(p.path == f"/renditions/{k}" or p.path.startswith(f"/renditions/{k}/") for p in problems)
        ):
            continue  # the schema's wording already says what is wrong with it
        problems += remapped(static_problems(single_document(doc, k))[1], k, own_dir="output_dir" in rendition)
    return unique(problems)


def check_document(
    document: Any, engines: EngineSet, *, only: int | None = None, input_problems: tuple[Problem, ...] = ()
) -> CheckedJob:
    """Validate and prepare a decoded JobSpec; ``only`` (1-based) checks and prepares that one clip,
    ignoring problems of the job's other sources (a fleet node may not see them). ``input_problems``:
    what was wrong with the inputs the document was built from (a folder that could not be listed,
    a P2 card); they refuse the job, reported with the document's own problems."""
    document, folders, folder_problems = expand_document(with_profile_defaults(document))
    problems = [*input_problems, *(Problem.about_source(i, m) for i, m in folder_problems)]
    checked = _check_document(document, engines, only=only)
    if problems:
        return _refuse(document, [*problems, *checked.problems])
    if folders and checked.job is not None:  # the result records what each folder source gave
        job = attrs.evolve(checked.job, parsed=attrs.evolve(checked.job.parsed, source_folders=folders))
        return attrs.evolve(checked, job=job)
    return checked


def _check_document(document: Any, engines: EngineSet, *, only: int | None) -> CheckedJob:
    draft, problems = _static(document)
    parsed = ParsedJob.of(document, JobSpec.of(draft)) if draft is not None and not problems else None
    if only is not None and problems and draft is not None:
        mine = [p for p in problems if p.source_index in (None, only - 1)]
        try:  # the problems of other sources are another node's; a value with no type refuses the job still
            parsed, problems = (ParsedJob.of(document, JobSpec.of(draft)), []) if not mine else (None, mine)
        except ValueError:
            pass
    if problems or parsed is None:
        # report the sources that cannot be routed too, so the operator fixes everything in one round
        if draft is not None and "renditions" not in draft.given:  # renditions: routed one by one at prepare
            skip = {p.source_index for p in problems if p.source_index is not None}
            problems = problems + route_problems(draft, engines, skip)
        return _refuse(document, problems)
    try:
        job = prepare(parsed, engines, only=only)
    except SpecInvalid as exc:
        return _refuse(document, list(exc.problems))
    return CheckedJob(document=document, job=job, problems=(), exit_code=0, refusal=None)


def check_job_file(path: Path | str, engines: EngineSet) -> CheckedJob:
    """Read, validate, probe, route and plan a job file; collect every problem."""
    try:
        document = read_document(path)
    except JobFileError as exc:
        return _refuse(None, [Problem(path="", message=exc.message, category="io_error")], unreadable=True)
    except SpecInvalid as exc:
        return _refuse(None, list(exc.problems))
    return check_document(document, engines)


def _refuse(document: Any, problems: list[Problem], *, unreadable: bool = False) -> CheckedJob:
    """The refusal of a job: exit 4 when the file could not be read, else 1 (an invalid spec)."""
    from .results import refused  # only a refusal needs the result builders

    exit_code = EXIT_SYSTEM if unreadable else EXIT_VALIDATION
    ok_doc = isinstance(document, dict)
    job_id = derive_job_id(document) if ok_doc and isinstance(document.get("job_id", ""), str) else None
    sha = jobspec_sha256(document) if ok_doc else None
    result = refused(problems, document=document, job_id=job_id, jobspec_sha256=sha, exit_code=exit_code)
    return CheckedJob(document=document, job=None, problems=tuple(problems), exit_code=exit_code, refusal=result)
