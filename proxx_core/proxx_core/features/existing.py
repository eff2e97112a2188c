"""What a run does with a file already under a clip's final name (JobSpec 1.1 ``existing_outputs``).

* ``fail`` (default, as in 1.0): the clip fails as ``output_exists``; the file is left untouched.
* ``skip_verified``: the file is kept if it passes the full relink verification against this clip's
  source, exactly as a fresh output would (the routed engine's ``probe_output`` of the final file,
  :func:`proxx_core.rules.verify.verify_output`, every plugin's ``proxx_clip_checks``); the clip is then
  ``SKIPPED`` with the file's probe, size and SHA-256. A file that does not pass is never replaced:
  the clip fails as ``output_exists`` naming the failed checks. A clip with no file is made.
* ``overwrite``: the file is replaced by a new, verified output (the 1.0 ``"overwrite": true``).

Nothing here writes: the only side effect of judging a file is reading it.
"""

from __future__ import annotations

import os
import stat
from typing import Any

import attrs

from ..contract.engine import ClipPlan, Verification
from ..contract.errors import cut
from ..contract.policies import FAIL, OVERWRITE, POLICIES
from ..contract.vocabulary import ExistingOutputs
from ..io.digests import file_sha256
from ..io.safeopen import open_regular
from ..rules.verify import verify_output
from ..support.specvalues import DraftSpec, Invalid


def policy_of(spec: Any) -> ExistingOutputs:
    """The policy a JobSpec asks for: ``existing_outputs`` if set, else 1.0's ``overwrite`` flag."""
    chosen = getattr(spec, "existing_outputs", None)
    if chosen:
        return ExistingOutputs(chosen)
    return OVERWRITE if getattr(spec, "overwrite", False) else FAIL


def document_policy(doc: Any) -> ExistingOutputs:
    """:func:`policy_of` for a JobSpec document (a dict), e.g. the result's ``jobspec``."""
    doc = doc if isinstance(doc, dict) else {}
    chosen = doc.get("existing_outputs")
    if chosen in POLICIES:
        return ExistingOutputs(chosen)
    return OVERWRITE if doc.get("overwrite") is True else FAIL


def rerun_hint(doc: Any) -> str:
    """What to set so a rerun keeps or replaces what an earlier run wrote, in the spec's own
    vocabulary. Keeping what still verifies is named first: it is what a rerun after an interrupted
    night wants. A spec that sets ``existing_outputs`` (or is JobSpec 1.1 without ``overwrite``)
    cannot also set the 1.0 key ``overwrite`` (refused together)."""
    doc = doc if isinstance(doc, dict) else {}
    version = str(doc.get("jobspec_version") or "1.0.0")
    keep = '"existing_outputs": "skip_verified" keeps the files that still verify and makes the rest'
    if "existing_outputs" in doc or ("overwrite" not in doc and not version.startswith("1.0")):
        return f'set {keep}, or "existing_outputs": "overwrite" replaces them'
    return (
        f'with "jobspec_version": "1.1.0", {keep} ("overwrite" replaces them); in a 1.0 spec, '
        f'"overwrite": true replaces them'
    )


def policy_problem(draft: DraftSpec) -> str | None:
    """Why a document's ``overwrite`` and ``existing_outputs`` cannot both stand, or None. Setting
    both is refused even when they agree: one key says it, so a reader never has to reconcile two."""
    if "existing_outputs" in draft.given and "overwrite" in draft.given:
        overwrite = draft.overwrite.raw if isinstance(draft.overwrite, Invalid) else draft.overwrite
        want = ExistingOutputs.OVERWRITE if overwrite is True else ExistingOutputs.FAIL
        return (
            f"set either /existing_outputs or the 1.0 key /overwrite, not both; remove /overwrite "
            f'("overwrite": {shown_json(overwrite)} is "existing_outputs": "{want}")'
        )
    return None


def shown_json(value: Any) -> str:
    """A spec value as JSON, cut (errors.cut): ``true``, not Python's ``True``, and never 70,000 characters."""
    import json

    return cut(json.dumps(value, ensure_ascii=False))


@attrs.frozen(kw_only=True)
class ExistingVerdict:
    """The judgement of one existing final file: keep it (``ok``) or fail the clip."""

    ok: bool
    #: why the clip fails (not ok), naming the failed checks
    message: str | None = None
    verification: Verification | None = None
    size: int | None = None
    sha256: str | None = None


def judge_existing(
    plan: ClipPlan, engine: Any, clip_checks: Any = None, *, source_ids: frozenset[tuple[int, int]] = frozenset()
) -> ExistingVerdict:
    """Verify the file at ``plan.request.output_path`` as if the engine had just made it.

    ``clip_checks(plan, output_info)``: the plugins' extra checks (EngineSet.clip_checks).
    ``source_ids``: (st_dev, st_ino) of the job's sources; a final name that is a source is never
    kept as its own proxy."""
    path = plan.request.output_path
    before = _lstat(path)
    if before is None:
        return ExistingVerdict(ok=False, message=f"{path} vanished while it was being checked")
    if not stat.S_ISREG(before.st_mode):
        what = "a symbolic link" if stat.S_ISLNK(before.st_mode) else "not a regular file"
        return ExistingVerdict(ok=False, message=f"{path} exists and is {what}; it was left untouched")
    if (before.st_dev, before.st_ino) in source_ids:
        return ExistingVerdict(
            ok=False,
            message=f"{path} is a source of this job (the same file under another name); it was left untouched",
        )
    # the engine probes "its output" at request.temp_path: point that at the final file
    at_final = attrs.evolve(plan, request=attrs.evolve(plan.request, temp_path=path))
    output_info = engine.probe_output(at_final)
    extra = tuple(clip_checks(at_final, output_info)) if clip_checks is not None else ()
    verification = verify_output(at_final, output_info, engine, extra)
    if not verification.ok:
        bad = ", ".join(f"{c.name} expected {c.expected!r} got {c.actual!r}" for c in verification.failed_checks())
        return ExistingVerdict(
            ok=False,
            verification=verification,
            message=(
                f"{path} already exists and does not verify against its source ({bad}); it was left untouched: "
                f'delete it to have it made again, or set "existing_outputs": "overwrite"'
            ),
        )
    try:
        digest, size, ident = _sha256(path)
    except OSError as exc:
        return ExistingVerdict(
            ok=False, verification=verification, message=f"{path}: cannot read it to hash it ({exc.strerror or exc})"
        )
    if ident != (before.st_dev, before.st_ino) or size != before.st_size:
        return ExistingVerdict(
            ok=False,
            verification=verification,
            message=(f"{path} changed while it was being checked; it was left untouched. Run the job again"),
        )
    return ExistingVerdict(ok=True, verification=verification, size=size, sha256=digest)


def _lstat(path: str) -> os.stat_result | None:
    try:
        return os.lstat(path)
    except OSError:
        return None


def _sha256(path: str, chunk: int = 4 * 1024 * 1024) -> tuple[str, int, tuple[int, int]]:
    """SHA-256, size and identity of the file read (opened once, never following a symlink)."""
    h = file_sha256()
    fh = open_regular(path, follow_symlinks=False)  # a FIFO swapped in is refused (NotAFile), never waited on
    fd = fh.fileno()
    try:
        st = os.fstat(fd)
        size = 0
        while True:
            data = os.read(fd, chunk)
            if not data:
                break
            h.update(data)
            size += len(data)
    finally:
        fh.close()
    return h.hexdigest(), size, (st.st_dev, st.st_ino)


def existing_output_warning(spec: Any, finals: list[str]) -> str | None:
    """What ``validate`` says when some of a job's final outputs already exist under ``fail``: the
    run would fail those clips as ``output_exists``, and the policy that does what the operator most
    likely wants (keep verified proxies, make the rest) is named with the version it needs."""
    if policy_of(spec) != FAIL:
        return None
    there = [p for p in finals if os.path.lexists(p)]
    if not there:
        return None
    version = str(getattr(spec, "jobspec_version", "1.0.0"))
    bump = "" if not version.startswith("1.0.") else ' (with "jobspec_version": "1.1.0")'
    return (
        f"{len(there)} of {len(finals)} output file(s) already exist (e.g. {there[0]}); a run would fail "
        f"their clips as output_exists and leave them untouched. To keep the ones that verify and make the "
        f'rest, set "existing_outputs": "skip_verified"{bump}; to replace them, "existing_outputs": '
        f'"overwrite"'
    )
