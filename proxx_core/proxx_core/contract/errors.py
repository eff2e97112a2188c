"""One small exception hierarchy; every error carries a failure category from the result contract."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

import attrs

from .vocabulary import Category

if TYPE_CHECKING:
    from .engine import CommandRecord, Verification

#: The fixed, documented failure categories of the result contract (docs/results.md), in their order.
CATEGORIES: tuple[Category, ...] = tuple(Category)


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
    category: str = Category.VALIDATION
    #: distribution an operator could install to fix it (engine_unavailable problems only)
    install_hint: str | None = None
    #: the index of the source (``/sources/N``) the problem is about, so steps never parse the pointer
    #: back; not part of the result (serialization leaves it out) nor of equality
    source_index: int | None = attrs.field(default=None, eq=False)

    @classmethod
    def about_source(
        cls, index: int, message: str, *, category: str = Category.VALIDATION, install_hint: str | None = None
    ) -> Problem:
        """A problem at ``/sources/<index>``: the pointer is made here, the index kept as an int."""
        return cls(
            path=f"/sources/{index}", message=message, category=category, install_hint=install_hint, source_index=index
        )

    def __str__(self) -> str:
        return f"{self.path or '/'}: {self.message}"


class ProxxError(Exception):
    """Base of every error Proxx raises on purpose."""

    category: str = Category.VALIDATION

    def __init__(self, message: str, *, category: str | None = None):
        super().__init__(message)
        self.message = message
        if category is not None:
            if category not in CATEGORIES:
                raise ValueError(f"unknown failure category {category!r}")
            self.category = Category(category)


class SpecInvalid(ProxxError):
    """A JobSpec has one or more problems; all of them are listed, not only the first."""

    def __init__(self, problems: list[Problem] | tuple[Problem, ...]):
        self.problems = tuple(problems)
        super().__init__("\n".join(str(p) for p in self.problems), category="validation")

    @property
    def only_missing_engines(self) -> bool:
        """True when every problem would go away on a node with more engines installed."""
        return bool(self.problems) and all(p.category == Category.ENGINE_UNAVAILABLE for p in self.problems)


class JobFileError(ProxxError):
    """The job file itself cannot be read (missing, permissions): a system error, exit 4."""

    category = Category.IO_ERROR


class ClipFailure(ProxxError):
    """A clip failed while executing or verifying; carries the command records made so far."""

    def __init__(
        self,
        message: str,
        *,
        category: str,
        records: Iterable[CommandRecord] = (),
        verification: Verification | None = None,
    ):
        super().__init__(message, category=category)
        self.records = tuple(records)
        self.verification = verification


class PluginContractError(ProxxError):
    """An engine plugin does not honour the contract (wrong major version, duplicate name...)."""

    category = Category.ENGINE_UNAVAILABLE
