"""Deterministic routing: which engine makes each clip.

A pure function of the engines' claims (themselves pure functions of SourceInfo and profile) and
the optional ``engine`` pin. Claims are considered in engine-name order, never load order; the
highest specificity wins; a tie between engines is an error asking the operator to pin one.
"""

from __future__ import annotations

from collections.abc import Mapping

import attrs

from .engine import Claim, Refusal


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


def _candidate(name: str, outcome: Claim | Refusal) -> Candidate:
    if isinstance(outcome, Claim):
        return Candidate(engine=name, claimed=True, specificity=outcome.specificity, reason=outcome.reason)
    return Candidate(engine=name, claimed=False, specificity=None, reason=outcome.reason)


def route(outcomes: Mapping[str, Claim | Refusal], *, pin: str | None = None) -> Route | NoRoute:
    """Pick the engine for one clip from every installed engine's claim or refusal."""
    names = sorted(outcomes)
    candidates = tuple(_candidate(n, outcomes[n]) for n in names)
    refusals = [(n, outcomes[n]) for n in names if isinstance(outcomes[n], Refusal)]
    if pin is not None:
        if pin not in outcomes:
            installed = ", ".join(names) or "none"
            return NoRoute(message=f"engine {pin!r} (set in /engine) is not installed; installed engines: {installed}",
                           category="engine_unavailable", candidates=candidates)
        chosen = outcomes[pin]
        if isinstance(chosen, Refusal):
            return NoRoute(message=f"engine {pin!r} (set in /engine) cannot make this clip: {chosen.reason}",
                           category=chosen.category, candidates=candidates)
        return Route(engine=pin, specificity=chosen.specificity, reason=f"pinned by /engine; {chosen.reason}",
                     candidates=candidates)
    offers = [(n, outcomes[n]) for n in names if isinstance(outcomes[n], Claim)]
    if not offers:
        why = "; ".join(f"{n}: {r.reason}" for n, r in refusals) or "no engine is installed"
        category = "engine_unavailable" if any(r.category == "engine_unavailable" for _, r in refusals) else "unsupported_source"
        return NoRoute(message=f"no installed engine can make this clip ({why})", category=category,
                       candidates=candidates)
    best = max(c.specificity for _, c in offers)
    winners = [n for n, c in offers if c.specificity == best]
    if len(winners) > 1:
        return NoRoute(message=(f"engines {', '.join(winners)} claim this clip equally (specificity {best}); "
                                f"set /engine to one of them"), category="validation", candidates=candidates)
    name = winners[0]
    return Route(engine=name, specificity=best, reason=outcomes[name].reason, candidates=candidates)
