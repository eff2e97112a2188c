"""A JobSpec document as typed values, built in one pass, before anyone knows it is valid.

Why: validation reports every problem at once, so checks run on documents that are partly wrong.
Instead of each check reading the raw dict with its own ``isinstance`` guesses, :func:`draft_of`
builds every key once into its typed value, or an :class:`Invalid` marker when the value is not of
its type (or a required key is missing); ``DraftSpec.flawed`` names the keys that already have a
problem. Checks take the ``DraftSpec`` (or the final ``document.JobSpec``), never the dict.

The spec-level values of the 1.1 keys (``look``, ``burn_in``, ``watermark``, ``require_builds``)
live here too: ``look.Look`` and ``burnin.BurnIn`` are built from them per job and per clip.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any, TypeVar

import attrs

from ..contract.errors import Problem
from ..contract.profiles import PROFILES
from ..contract.vocabulary import ExistingOutputs, FpsMode, Layout, Raster, UnsupportedSources

T = TypeVar("T")

#: text height of a burn-in element / the watermark, as a fraction of the frame height, when not given
DEFAULT_SIZE = 0.04
DEFAULT_WATERMARK_SIZE = 0.08
#: JobSpec 1.2 ``priority`` (fleets only)
PRIORITIES = ("high", "normal", "low")


@attrs.frozen
class Invalid:
    """A key that is present with a value not of its type, or a required key that is missing
    (``raw`` None): the checks that need the key skip it, its problem is already reported."""

    raw: Any = None


def valid(value: T | Invalid) -> T:
    """``value``, known not to be Invalid (a spec with no problems)."""
    if isinstance(value, Invalid):
        raise ValueError(f"a JobSpec value with a problem was used as valid: {value.raw!r}")
    return value


@attrs.frozen(kw_only=True)
class InlineCdl:
    """An ASC CDL written as numbers in the JobSpec (``look.cdl`` as an object)."""

    slope: tuple[float, float, float]
    offset: tuple[float, float, float]
    power: tuple[float, float, float]
    saturation: float = 1.0


@attrs.frozen(kw_only=True)
class LookSpec:
    """JobSpec ``look``: the paths (or inline numbers) given; ``look.Look`` is what reading them gives."""

    lut: str | None = None
    cdl: str | InlineCdl | None = None


@attrs.frozen(kw_only=True)
class BurnInText:
    """One JobSpec ``burn_in`` element."""

    text: str
    position: str
    size: float = DEFAULT_SIZE


@attrs.frozen(kw_only=True)
class WatermarkText:
    """JobSpec ``watermark``."""

    text: str
    opacity: float
    size: float = DEFAULT_WATERMARK_SIZE


@attrs.frozen(kw_only=True)
class PartialText:
    """A ``burn_in`` element or the ``watermark`` of a spec not yet known valid: each member None
    when absent or not of its type (the schema reports it); the checks take what is there."""

    text: str | None = None
    position: str | None = None
    size: float | None = None
    opacity: float | None = None


@attrs.frozen
class RequiredBuilds:
    """JobSpec ``require_builds``: engine name -> the build's ``binary_sha256`` (sorted by name)."""

    pins: tuple[tuple[str, str], ...]

    @classmethod
    def of(cls, mapping: Mapping[str, str]) -> RequiredBuilds:
        return cls(tuple(sorted(mapping.items())))

    def get(self, name: str) -> str | None:
        return dict(self.pins).get(name)

    def __iter__(self) -> Iterator[str]:
        return iter(name for name, _ in self.pins)

    def __len__(self) -> int:
        return len(self.pins)


#: a rendition's own keys: each replaces the job-level key of the same name for that rendition
RENDITION_KEYS = ("proxy_profile", "output_dir", "output_name_template", "layout", "raster")


@attrs.frozen(kw_only=True)
class Rendition:
    """One proxy made of every source (JobSpec 1.2 ``renditions[k]``)."""

    name: str
    proxy_profile: str
    #: None: the job's ``output_dir``
    output_dir: str | None = None
    output_name_template: str | None = None
    layout: Layout = attrs.field(default=Layout.OUTPUT_DIR, converter=Layout)
    raster: Raster = attrs.field(default=Raster.FIT, converter=Raster)


@attrs.frozen(kw_only=True)
class DraftSpec:
    """Every JobSpec key as its typed value, its default when absent, or ``Invalid``."""

    #: the keys the document gives
    given: frozenset[str]
    #: the keys with a problem at or under them so far (schema, then the document's own checks)
    flawed: frozenset[str] = frozenset()
    jobspec_version: str | Invalid
    sources: tuple[str, ...] | Invalid
    output_dir: str | Invalid | None
    output_name_template: str | Invalid | None
    #: the name of a known profile (an unknown name is Invalid)
    proxy_profile: str | Invalid
    codec: str | Invalid
    container: str | Invalid
    fps_mode: FpsMode | Invalid
    created_at: str | Invalid | None
    job_id: str | Invalid | None
    engine: str | Invalid | None
    overwrite: bool | Invalid
    user_metadata: dict[str, Any] | Invalid | None
    require_builds: RequiredBuilds | Invalid | None
    layout: Layout | Invalid
    raster: Raster | Invalid
    look: LookSpec | Invalid | None
    burn_in: tuple[PartialText, ...] | Invalid | None
    watermark: PartialText | Invalid | None
    existing_outputs: ExistingOutputs | Invalid | None
    unsupported_sources: UnsupportedSources | Invalid
    deliverables: tuple[str, ...] | Invalid
    notify: tuple[str, ...] | Invalid
    priority: str | Invalid
    #: JobSpec 1.2; with renditions, the single-rendition keys above are the first rendition's
    renditions: tuple[Rendition, ...] | Invalid = ()

    def usable(self, key: str) -> bool:
        """Whether ``key`` holds a typed value with no problem found so far."""
        return key not in self.flawed and not isinstance(getattr(self, key), Invalid)

    def with_problems(self, problems: Iterable[Problem]) -> DraftSpec:
        """This draft with the keys of ``problems`` marked flawed too."""
        return attrs.evolve(self, flawed=self.flawed | flawed_keys(problems))


def flawed_keys(problems: Iterable[Problem]) -> frozenset[str]:
    """The top-level JobSpec keys the problems are about (their pointer's first part)."""
    return frozenset(p.path.split("/")[1] for p in problems if p.path.startswith("/"))


_ABSENT: Any = object()


def _text(value: Any, default: Any = None) -> Any:
    if value is _ABSENT:
        return default
    return value if isinstance(value, str) else Invalid(value)


def _texts(value: Any) -> tuple[str, ...] | Invalid:
    if value is _ABSENT:
        return ()
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return tuple(value)
    return Invalid(value)


def _choice(value: Any, kind: Any, default: Any = None) -> Any:
    if value is _ABSENT:
        return default
    return kind(value) if isinstance(value, str) and value in set(kind) else Invalid(value)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, int | float) and not isinstance(value, bool) else None


def _triple(value: Any) -> tuple[float, float, float] | None:
    if not isinstance(value, list) or len(value) != 3:
        return None
    numbers = [_number(v) for v in value]
    return (numbers[0], numbers[1], numbers[2]) if None not in numbers else None  # type: ignore[return-value]


def _look(value: Any) -> LookSpec | Invalid | None:
    if value is _ABSENT:
        return None
    if not isinstance(value, dict):
        return Invalid(value)
    lut = value.get("lut") if isinstance(value.get("lut"), str) else None
    cdl: str | InlineCdl | None = None
    raw = value.get("cdl")
    if isinstance(raw, str):
        cdl = raw
    elif isinstance(raw, dict):
        slope, offset, power = (_triple(raw.get(k)) for k in ("slope", "offset", "power"))
        saturation = _number(raw.get("saturation", 1.0))
        if slope and offset and power and saturation is not None:
            cdl = InlineCdl(slope=slope, offset=offset, power=power, saturation=saturation)
    return LookSpec(lut=lut, cdl=cdl)


def _partial(value: Any) -> PartialText:
    if not isinstance(value, dict):
        return PartialText()
    text, position = value.get("text"), value.get("position")
    return PartialText(
        text=text if isinstance(text, str) else None,
        position=position if isinstance(position, str) else None,
        size=_number(value.get("size")),
        opacity=_number(value.get("opacity")),
    )


def _builds(value: Any) -> RequiredBuilds | Invalid | None:
    if value is _ABSENT:
        return None
    if isinstance(value, dict) and all(isinstance(v, str) for v in value.values()):
        return RequiredBuilds.of(value)
    return Invalid(value)


def draft_of(doc: dict[str, Any], problems: Iterable[Problem] = ()) -> DraftSpec:
    """Every key of ``doc`` as its typed value (one pass); ``problems`` found so far mark keys flawed."""
    get = doc.get
    burn_in, watermark = get("burn_in", _ABSENT), get("watermark", _ABSENT)
    metadata = get("user_metadata", _ABSENT)
    overwrite = get("overwrite", False)
    given = frozenset(doc)
    renditions = _renditions(get("renditions", _ABSENT))
    profile = get("proxy_profile", None)
    return DraftSpec(
        given=given,
        flawed=flawed_keys(problems),
        jobspec_version=_text(get("jobspec_version", None)),
        sources=_texts(get("sources", None)),
        output_dir=_text(get("output_dir", _ABSENT)),
        output_name_template=_text(get("output_name_template", _ABSENT)),
        proxy_profile=profile if isinstance(profile, str) and profile in PROFILES else Invalid(profile),
        codec=_text(get("codec", None)),
        container=_text(get("container", None)),
        fps_mode=_choice(get("fps_mode", None), FpsMode),
        created_at=_text(get("created_at", _ABSENT)),
        job_id=_text(get("job_id", _ABSENT)),
        engine=_text(get("engine", _ABSENT)),
        overwrite=overwrite if isinstance(overwrite, bool) else Invalid(overwrite),
        user_metadata=None if metadata is _ABSENT else metadata if isinstance(metadata, dict) else Invalid(metadata),
        require_builds=_builds(get("require_builds", _ABSENT)),
        layout=_choice(get("layout", _ABSENT), Layout, Layout.OUTPUT_DIR),
        raster=_choice(get("raster", _ABSENT), Raster, Raster.FIT),
        look=_look(get("look", _ABSENT)),
        burn_in=(
            None
            if burn_in is _ABSENT
            else tuple(map(_partial, burn_in))
            if isinstance(burn_in, list)
            else Invalid(burn_in)
        ),
        watermark=(
            None if watermark is _ABSENT else _partial(watermark) if isinstance(watermark, dict) else Invalid(watermark)
        ),
        existing_outputs=_choice(get("existing_outputs", _ABSENT), ExistingOutputs),
        unsupported_sources=_choice(
            get("unsupported_sources", _ABSENT), UnsupportedSources, UnsupportedSources.REFUSE_JOB
        ),
        deliverables=_texts(get("deliverables", _ABSENT)),
        notify=_texts(get("notify", _ABSENT)),
        priority=_choice_text(get("priority", _ABSENT), PRIORITIES, "normal"),
        renditions=renditions,
    )


def with_first_rendition(draft: DraftSpec) -> DraftSpec:
    """A spec with ``renditions``: the single-rendition keys taken from the first rendition, for front ends
    that show one profile (every step that makes files takes each rendition's own)."""
    if isinstance(draft.renditions, Invalid) or not draft.renditions:
        return draft
    first = draft.renditions[0]
    profile = PROFILES[first.proxy_profile]
    fps_mode = draft.fps_mode if "fps_mode" in draft.given else FpsMode.PRESERVE_SOURCE
    return attrs.evolve(
        draft,
        proxy_profile=first.proxy_profile,
        codec=profile.codec,
        container=profile.container,
        layout=first.layout,
        raster=first.raster,
        output_name_template=first.output_name_template,
        fps_mode=fps_mode,
    )


def _renditions(value: Any) -> tuple[Rendition, ...] | Invalid:
    """Each rendition typed (its layout and raster as enums), or Invalid when one is not (the schema says why)."""
    if value is _ABSENT:
        return ()
    if not isinstance(value, list) or not value:
        return Invalid(value)
    typed = []
    for item in value:
        if not isinstance(item, dict) or not isinstance(item.get("name"), str) or set(item) - {"name", *RENDITION_KEYS}:
            return Invalid(value)
        profile, layout = item.get("proxy_profile"), _choice(item.get("layout", _ABSENT), Layout, Layout.OUTPUT_DIR)
        raster = _choice(item.get("raster", _ABSENT), Raster, Raster.FIT)
        folder, template = _text(item.get("output_dir", _ABSENT)), _text(item.get("output_name_template", _ABSENT))
        if not (isinstance(profile, str) and profile in PROFILES) or any(
            isinstance(v, Invalid) for v in (layout, raster, folder, template)
        ):
            return Invalid(value)
        typed.append(
            Rendition(
                name=item["name"],
                proxy_profile=profile,
                output_dir=folder,
                output_name_template=template,
                layout=layout,
                raster=raster,
            )
        )
    return tuple(typed)


def _choice_text(value: Any, allowed: tuple[str, ...], default: str) -> str | Invalid:
    if value is _ABSENT:
        return default
    return value if isinstance(value, str) and value in allowed else Invalid(value)
