"""One small exception hierarchy; every error carries a failure category from the result contract."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

if TYPE_CHECKING:
    from .engine import CommandRecord, Verification

#: The fixed, documented failure categories of the result contract (docs/results.md).
CATEGORIES = (
    "validation",
    "unsupported_source",
    "engine_unavailable",
    "engine_failed",
    "timeout",
    "verification_failed",
    "output_exists",
    "io_error",
    "interrupted",
    # a fleet worker stopped heartbeating while running the clip (killed, crashed, cut off); never re-run
    "worker_lost",
)


#: the most characters of a user's value any message echoes (a spec may hold 10 MB strings)
ECHO_LIMIT = 80


def cut(text: str, limit: int = ECHO_LIMIT) -> str:
    """``text``, cut to ``limit`` characters (an ellipsis marks the cut): how messages quote long text."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


def shown(value: object, limit: int = ECHO_LIMIT) -> str:
    """``repr`` of a user's value, cut: every message that echoes a value from a spec, a config or a
    file uses this, so no message echoes a huge or hostile value in full."""
    return cut(repr(value), limit)


@attrs.frozen(kw_only=True)
class Problem:
    """One thing wrong with a JobSpec: where (JSON pointer), what, and how to fix it."""

    path: str
    message: str
    category: str = "validation"
    #: distribution an operator could install to fix it (engine_unavailable problems only)
    install_hint: str | None = None

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


class ProxxError(Exception):
    """Base of every error Proxx raises on purpose."""

    category = "validation"

    def __init__(self, message: str, *, category: str | None = None):
        super().__init__(message)
        self.message = message
        if category is not None:
            if category not in CATEGORIES:
                raise ValueError(f"unknown failure category {category!r}")
            self.category = category


class SpecInvalid(ProxxError):
    """A JobSpec has one or more problems; all of them are listed, not only the first."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems), category="validation")

    @property
    def only_missing_engines(self) -> bool:
        """True when every problem would go away on a node with more engines installed."""
        return bool(self.problems) and all(p.category == "engine_unavailable" for p in self.problems)


class JobFileError(ProxxError):
    """The job file itself cannot be read (missing, permissions): a system error, exit 4."""

    category = "io_error"


class ClipFailure(ProxxError):
    """A clip failed while executing or verifying; carries the command records made so far."""

    def __init__(self, message: str, *, category: str, records: Iterable[CommandRecord] = (),
                 verification: Verification | None = None):
        super().__init__(message, category=category)
        self.records = tuple(records)
        self.verification = verification


class PluginContractError(ProxxError):
    """An engine plugin does not honour the contract (wrong major version, duplicate name...)."""

    category = "engine_unavailable"
