"""``require_builds`` (JobSpec 1.1): a job names the engine builds every node must run.

"Same bytes on any node" depends on the engine build as much as on the spec, so a job can pin the
builds; a node whose build differs refuses the job (``engine_unavailable``: another node may match)
instead of quietly making different bytes.
"""

from __future__ import annotations

from collections.abc import Iterable

from ..contract.errors import Problem, shown
from ..contract.vocabulary import Category
from .hints import distribution_for, install_command
from .plugins import EngineSet
from .specvalues import RequiredBuilds

#: how an operator points an engine at another build, for the message
_HOW_TO_SWITCH = {"ffmpeg": "point PROXX_FFMPEG at the required ffmpeg binary"}


def build_problems(
    required: RequiredBuilds | None, engines: EngineSet, used: Iterable[str], *, whole_job: bool
) -> list[Problem]:
    """Problems for every engine the clips use whose build is not the required one; with
    ``whole_job`` also for required engines not installed here (so a misspelt name is caught)."""
    problems: list[Problem] = []
    used = set(used)
    for name, want in required.pins if required is not None else ():
        where = f"/require_builds/{name}"
        if name not in engines.names:
            if whole_job:
                dist = distribution_for(name)
                problems.append(
                    Problem(
                        path=where,
                        category=Category.ENGINE_UNAVAILABLE,
                        install_hint=dist,
                        message=(
                            f"engine {shown(name)} is not installed on this node (installed: "
                            f"{', '.join(engines.names) or 'none'}); install "
                            f"{dist} ({install_command(dist)}) or fix the engine name"
                        ),
                    )
                )
            continue
        if name not in used:
            continue
        ident = engines.identity(name)
        if ident.binary_sha256 == want:
            continue
        have = (
            f"build {ident.binary_sha256} ({ident.binary})"
            if ident.binary_sha256
            else "no build fingerprint (binary_sha256)"
        )
        fix = _HOW_TO_SWITCH.get(name, "install the required build")
        problems.append(
            Problem(
                path=where,
                category=Category.ENGINE_UNAVAILABLE,
                message=(
                    f"this node's {name} has {have}; the job requires build {want}. Run it on a node with that "
                    f"build, or {fix}"
                ),
            )
        )
    return problems
