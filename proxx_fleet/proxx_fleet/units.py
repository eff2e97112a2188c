"""What a fleet job's clip numbers stand for, and which clips one task makes.

The fleet keeps one clip record per entry of the result (store.py's ``clip:<id>:<n>``): a source, or
with JobSpec 1.2 ``renditions`` a source's rendition, numbered in the result's order (source by source,
renditions in the spec's order). That number is a pure function of the document, so every node,
`proxx status` and the end of job agree on it without storing a table. A task makes one WORK UNIT: the
renditions of a source routed to one engine that can make them in one run (one decode, as `proxx run`
does with ``runner.work_units``), or one clip.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import attrs


@attrs.frozen
class Slot:
    """Clip ``number`` (1-based) of a fleet job: the source ``index`` (1-based, as in the result) and
    the ``rendition`` (None: a single-rendition job) with its profile."""

    number: int
    index: int
    rendition: str | None
    profile: str

    def label(self) -> str:
        """How a person reads this clip: ``clip 2`` or ``clip 2 (rendition 'review')``."""
        return f"clip {self.index}" + (f" (rendition {self.rendition!r})" if self.rendition else "")


def renditions_of(document: Mapping[str, Any]) -> list[dict[str, Any]]:
    found = document.get("renditions")
    return list(found) if isinstance(found, list) else []


def slots(document: Mapping[str, Any]) -> list[Slot]:
    """Every clip of the job, in result order."""
    sources = document["sources"]
    renditions = renditions_of(document)
    if not renditions:
        return [Slot(i + 1, i + 1, None, document["proxy_profile"]) for i in range(len(sources))]
    return [
        Slot(i * len(renditions) + k + 1, i + 1, r["name"], r["proxy_profile"])
        for i in range(len(sources))
        for k, r in enumerate(renditions)
    ]


def slot(document: Mapping[str, Any], number: int) -> Slot:
    """Clip ``number`` of the job (the arithmetic of :func:`slots`, without listing them)."""
    renditions = renditions_of(document)
    if not renditions:
        return Slot(number, number, None, document["proxy_profile"])
    i, k = divmod(number - 1, len(renditions))
    return Slot(number, i + 1, renditions[k]["name"], renditions[k]["proxy_profile"])


def clip_label(document: Mapping[str, Any], number: int) -> str:
    return slot(document, number).label()


def source_of(document: Mapping[str, Any], number: int) -> str:
    return str(document["sources"][slot(document, number).index - 1])


def tasks(
    document: Mapping[str, Any], engines: Sequence[str | None], together: Callable[[str], bool]
) -> list[tuple[int, ...]]:
    """The clip numbers each task makes, in result order: a source's renditions routed to one engine
    that ``together(engine)`` says can make several renditions in one run share a task; every other
    clip is a task alone. ``engines``: each clip's engine (None: refused at submission, no task)."""
    groups: dict[tuple[int, str] | int, list[int]] = {}  # (source, engine) of shared renditions, else the clip
    for s, engine in zip(slots(document), engines, strict=True):
        if engine is not None:
            key = (s.index, engine) if s.rendition is not None and together(engine) else s.number
            groups.setdefault(key, []).append(s.number)
    return sorted(tuple(numbers) for numbers in groups.values())
