"""Deterministic routing: which engine makes each clip.

A pure function of the engines' claims (themselves pure functions of SourceInfo and profile) and
the optional ``engine`` pin. Claims are considered in engine-name order, never load order; the
highest specificity wins; a tie between engines is an error asking the operator to pin one.

Mixed fleets: an engine that recognised the source but is unusable on this node
(``engine_unavailable``) blocks every claim it would not lose to, so a node missing a specialist
never quietly hands the clip to a generic engine (different bytes per node). Its refusal's
``specificity`` says what it would claim; unknown (None) blocks every claim.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import attrs

from ..contract.engine import Claim, Refusal
from ..contract.media import SourceInfo
from ..contract.profiles import Profile, representability_problems
from ..contract.vocabulary import Category
from ..support.plugins import EngineSet
from ..support.specvalues import DraftSpec, Invalid, LookSpec, PartialText

if TYPE_CHECKING:
    from .document import JobSpec


@attrs.frozen(kw_only=True)
class Candidate:
    engine: str
    claimed: bool
    specificity: int | None
    reason: str


@attrs.frozen(kw_only=True)
class Route:
    engine: str
    specificity: int
    reason: str
    candidates: tuple[Candidate, ...]


@attrs.frozen(kw_only=True)
class NoRoute:
    message: str
    #: "unsupported_source" when no engine could ever do it, "engine_unavailable" when an engine
    #: this node lacks (or cannot use) would be needed
    category: str
    candidates: tuple[Candidate, ...]
    #: engines that would make this clip on a node where they are usable (most specific first)
    needs: tuple[str, ...] = ()


def _candidate(name: str, outcome: Claim | Refusal) -> Candidate:
    if isinstance(outcome, Claim):
        return Candidate(engine=name, claimed=True, specificity=outcome.specificity, reason=outcome.reason)
    return Candidate(engine=name, claimed=False, specificity=outcome.specificity, reason=outcome.reason)


def _unavailable_first(refusals: list[tuple[str, Refusal]], best: int | None) -> list[tuple[str, Refusal]]:
    """The engine_unavailable refusals that outrank ``best`` (or any, when nothing claimed),
    most specific first; an unknown specificity counts as outranking everything."""
    blocking = [
        (n, r)
        for n, r in refusals
        if r.category == Category.ENGINE_UNAVAILABLE
        and (best is None or r.specificity is None or r.specificity >= best)
    ]
    return sorted(blocking, key=lambda nr: (-(nr[1].specificity if nr[1].specificity is not None else 1 << 30), nr[0]))


def route(outcomes: Mapping[str, Claim | Refusal], *, pin: str | None = None) -> Route | NoRoute:
    """Pick the engine for one clip from every installed engine's claim or refusal."""
    names = sorted(outcomes)
    candidates = tuple(_candidate(n, outcomes[n]) for n in names)
    refusals = [(n, o) for n, o in sorted(outcomes.items()) if isinstance(o, Refusal)]
    if pin is not None:
        if pin not in outcomes:
            installed = ", ".join(names) or "none"
            return NoRoute(
                message=f"engine {pin!r} (set in /engine) is not installed; installed engines: {installed}",
                category=Category.ENGINE_UNAVAILABLE,
                candidates=candidates,
            )
        chosen = outcomes[pin]
        if isinstance(chosen, Refusal):
            return NoRoute(
                message=f"engine {pin!r} (set in /engine) cannot make this clip: {chosen.reason}",
                category=chosen.category,
                candidates=candidates,
            )
        return Route(
            engine=pin,
            specificity=chosen.specificity,
            reason=f"pinned by /engine; {chosen.reason}",
            candidates=candidates,
        )
    offers = [(n, o) for n, o in sorted(outcomes.items()) if isinstance(o, Claim)]
    if not offers:
        why = "; ".join(f"{n}: {r.reason}" for n, r in refusals) or "no engine is installed"
        category = (
            "engine_unavailable"
            if any(r.category == Category.ENGINE_UNAVAILABLE for _, r in refusals)
            else "unsupported_source"
        )
        return NoRoute(
            message=f"no installed engine can make this clip ({why})",
            category=category,
            candidates=candidates,
            needs=tuple(n for n, _ in _unavailable_first(refusals, None)),
        )
    best = max(c.specificity for _, c in offers)
    blocking = _unavailable_first(refusals, best)
    if blocking:
        top = max(offers, key=lambda nc: (nc[1].specificity, nc[0]))[0]
        why = "; ".join(f"{n}: {r.reason}" for n, r in blocking)
        return NoRoute(
            message=(
                f"{', '.join(n for n, _ in blocking)} would make this clip but cannot on this node ({why}); Proxx does "
                f"not fall back to {top} (specificity {best}), so that every node makes the same bytes. Run the job "
                f"on a node where {blocking[0][0]} is usable, or set /engine to {top!r} to use {top} on every node"
            ),
            category=Category.ENGINE_UNAVAILABLE,
            candidates=candidates,
            needs=tuple(n for n, _ in blocking),
        )
    winners = [n for n, c in offers if c.specificity == best]
    if len(winners) > 1:
        return NoRoute(
            message=(
                f"engines {', '.join(winners)} claim this clip equally (specificity {best}); set /engine to one of them"
            ),
            category=Category.VALIDATION,
            candidates=candidates,
        )
    name = winners[0]
    return Route(engine=name, specificity=best, reason=outcomes[name].reason, candidates=candidates)


def collect_claims(
    infos: dict[str, SourceInfo],
    errors: dict[str, Refusal],
    engines: EngineSet,
    profile: Profile,
    needs: tuple[str, ...] = (),
) -> dict[str, Claim | Refusal]:
    """Every installed engine's claim or refusal for one probed source (engine-name order); a claim
    the profile cannot represent (frame rate, raster, interlace...) becomes a refusal saying why, and
    so does a claim by an engine lacking a feature the spec ``needs`` ("look", "burn_in")."""
    outcomes: dict[str, Claim | Refusal] = {}
    for name in engines.names:
        if name in errors:
            outcomes[name] = errors[name]
        elif name not in infos:
            outcomes[name] = Refusal(reason="does not read this format")
        else:
            try:
                outcome = engines.get(name).claim(infos[name], profile)  # type: ignore[union-attr]  # name is in engines.names
            except Exception as exc:
                outcome = Refusal(reason=f"claim raised {type(exc).__name__}: {exc}")
            # the engine's own refusal (e.g. "Resolve is not running") says more than ours would
            why = representability_problems(infos[name].video, profile) if isinstance(outcome, Claim) else []
            if isinstance(outcome, Claim) and not why:
                why = feature_problems(engines.get(name), needs)
            outcomes[name] = Refusal(reason="; ".join(why)) if why else outcome
    return outcomes


#: JobSpec keys -> the Capabilities feature an engine needs to honour them
FEATURE_OF_KEY = {"look": "look", "burn_in": "burn_in", "watermark": "burn_in"}


def features_needed(spec: JobSpec | DraftSpec) -> tuple[str, ...]:
    """The engine features a JobSpec needs (sorted), from the keys it sets."""
    return tuple(sorted({f for k, f in FEATURE_OF_KEY.items() if _sets(getattr(spec, k))}))


def _sets(value: object) -> bool:
    """Whether a look/burn_in/watermark value asks for something (an Invalid one: if its raw value is not empty)."""
    if isinstance(value, Invalid):
        return bool(value.raw)
    if isinstance(value, LookSpec):
        return value.lut is not None or value.cdl is not None
    if isinstance(value, PartialText):
        return value != PartialText()
    return bool(value) if isinstance(value, tuple) else value is not None


def feature_problems(engine: Any, needs: tuple[str, ...]) -> list[str]:
    """Why ``engine`` cannot honour the spec's features, or []: an engine that cannot apply the look
    or draw the burn-in never makes the clip without them."""
    if not needs:
        return []
    try:
        have = set(engine.capabilities().features)
    except Exception as exc:  # an engine bug is a refusal, not a crash of routing
        return [f"capabilities() raised {type(exc).__name__}: {exc}"]
    missing = [f for f in needs if f not in have]
    if not missing:
        return []
    keys = ", ".join(f"/{k}" for k, f in FEATURE_OF_KEY.items() if f in missing)
    return [
        f"cannot apply {keys}: engine {engine.name!r} does not support {' or '.join(missing)} "
        f"(its Capabilities.features: {', '.join(sorted(have)) or 'none'}); remove {keys} or use an engine "
        f"that supports it"
    ]
