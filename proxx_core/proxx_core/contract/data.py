"""How a contract value becomes JSON data and back (cattrs, built on first use): the one converter of
results, plans and fleet records. Key names and order are a contract (docs/results.md): attrs classes
unstructure in declaration order, ``FrameRate`` as "num/den", vocabulary members as plain strings."""

from __future__ import annotations

from functools import cache
from typing import Any, TypeVar

from .errors import Problem
from .media import FrameRate
from .vocabulary import VOCABULARIES

T = TypeVar("T")


@cache
def _converter() -> Any:
    """Built on first use: cattrs costs ~15 ms to import, which `proxx validate` does not need."""
    import cattrs
    from cattrs.gen import make_dict_unstructure_fn, override

    out = cattrs.Converter()
    out.register_unstructure_hook(FrameRate, str)
    # a vocabulary member (StrEnum) as its plain JSON string: cattrs would pass a str subclass through
    for vocabulary in VOCABULARIES:
        out.register_unstructure_hook(vocabulary, str)
    # a problem's source index is for the steps; the result keeps the documented keys
    out.register_unstructure_hook(Problem, make_dict_unstructure_fn(Problem, out, source_index=override(omit=True)))
    out.register_structure_hook(FrameRate, lambda value, _type: FrameRate.parse(value))
    return out


def to_data(obj: Any) -> Any:
    return _converter().unstructure(obj)


def from_data(cls: type[T], data: Any) -> T:
    """The typed value of ``data`` written by :func:`to_data` (a fleet node's clip result read back
    from Redis); ``to_data(from_data(cls, d)) == d``."""
    value: T = _converter().structure(data, cls)
    return value
