"""The ``Look`` value an engine applies (``ClipRequest.look``, contract 1.2): the ASC CDL and the 3D LUT,
parsed and checked. Apart from ``look`` (the ``.cube`` and CDL parsers, the checks), so the engine
contract imports no parser."""

from __future__ import annotations

from typing import Any

import attrs

#: the order of operations (docs/jobspec.md "look"): the per-shot grade first, then the show LUT
ORDER = ("cdl", "lut")


@attrs.frozen(kw_only=True)
class CubeLut:
    path: str
    sha256: str
    size: int
    #: the file is already in the plain form (``write_plain_cube``) every cube reader parses alike;
    #: otherwise (a byte order mark, CR LF line ends, indented keywords) engines read a plain copy
    plain: bool = True


@attrs.frozen(kw_only=True)
class Cdl:
    slope: tuple[float, float, float]
    offset: tuple[float, float, float]
    power: tuple[float, float, float]
    saturation: float = 1.0
    #: the .cdl/.cc file the numbers came from (None: written inline in the JobSpec)
    path: str | None = None
    sha256: str | None = None
    #: the ColorCorrection's id attribute, if the file gives one
    id: str | None = None

    @property
    def is_identity(self) -> bool:
        return (
            self.slope == (1.0, 1.0, 1.0)
            and self.offset == (0.0, 0.0, 0.0)
            and self.power == (1.0, 1.0, 1.0)
            and self.saturation == 1.0
        )


@attrs.frozen(kw_only=True)
class Look:
    """What an engine applies: the CDL (if any) and then the LUT (if any), see ``ORDER``."""

    cdl: Cdl | None = None
    lut: CubeLut | None = None

    def record(self) -> dict[str, Any]:
        """The clip's ``look`` record in the result (docs/results.md)."""
        out: dict[str, Any] = {"order": [k for k in ORDER if getattr(self, k) is not None]}
        if self.cdl is not None:
            c = self.cdl
            out["cdl"] = {
                "slope": list(c.slope),
                "offset": list(c.offset),
                "power": list(c.power),
                "saturation": c.saturation,
                "path": c.path,
                "sha256": c.sha256,
                "id": c.id,
            }
        if self.lut is not None:
            out["lut"] = {"path": self.lut.path, "sha256": self.lut.sha256, "size": self.lut.size}
        return out
