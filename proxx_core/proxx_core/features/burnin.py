"""JobSpec 1.1 ``burn_in`` and ``watermark``: text drawn into every frame of the proxy.

Why in the core: what a token means ({timecode} running and drop-frame aware, {reel}, ...) is part
of the JobSpec contract, not of one engine. The core checks the text at validate and resolves the
per-clip tokens ({source_name}, {reel}, {job_id}) into literal text, leaving engines only the two
tokens that change per frame: {timecode} and {frame}. ``frames_to_timecode`` is the reference
for what {timecode} shows.

Text syntax: literal characters, tokens ``{name}``, and ``{{`` / ``}}`` for a literal brace. Any
other brace, an unknown token or a control character is a validation error.
"""

from __future__ import annotations

import re
import unicodedata
from pathlib import Path

from ..contract.burnin import BurnIn, Overlay, Segment, timecode_base
from ..contract.errors import Problem, cut
from ..contract.media import ZERO_TIMECODE, FrameRate
from ..support.specvalues import BurnInText, Invalid, PartialText, WatermarkText

POSITIONS = ("top_left", "top_center", "top_right", "bottom_left", "bottom_center", "bottom_right")
TOKENS = ("timecode", "source_name", "reel", "frame", "job_id")
#: tokens that change per frame; the rest are resolved per clip by the core
DYNAMIC_TOKENS = ("timecode", "frame")
MAX_ELEMENTS = len(POSITIONS)
MAX_TEXT_CHARS = 200

_PIECE = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]|[^{}]+")


def split_text(text: str) -> tuple[list[tuple[str, str]], list[str]]:
    """``text`` as (kind, value) pieces, kind "text" or "token", plus the problems found."""
    pieces: list[tuple[str, str]] = []
    problems: list[str] = []
    for m in _PIECE.finditer(text):
        piece = m.group(0)
        if piece in ("{{", "}}"):
            pieces.append(("text", piece[0]))
        elif m.group(1) is not None:
            name = m.group(1)
            if name in TOKENS:
                pieces.append(("token", name))
            else:
                problems.append(
                    f"unknown token {{{_short(name)}}}; tokens are "
                    f"{', '.join('{' + t + '}' for t in TOKENS)} (write {{{{ or }}}} for a brace)"
                )
        elif piece in ("{", "}"):
            problems.append(f"a lone {piece!r}; write {piece * 2} for a literal brace")
        else:
            pieces.append(("text", piece))
    bad = sorted({f"U+{ord(ch):04X}" for ch in text if unicodedata.category(ch) in ("Cc", "Cs")})
    if bad:
        problems.append(f"contains control characters ({', '.join(bad)}); burn-in text is one line of printable text")
    return pieces, problems


def _short(text: str) -> str:
    return cut(text, 40)


def text_problems(text: str) -> list[str]:
    return split_text(text)[1]


def burn_in_problems(
    elements: tuple[PartialText, ...] | Invalid | None, watermark: PartialText | Invalid | None
) -> list[Problem]:
    """Semantic checks of ``burn_in`` and ``watermark`` beyond the schema's shapes."""
    problems: list[Problem] = []
    if isinstance(elements, tuple):
        seen: dict[str, int] = {}
        for i, el in enumerate(elements):
            if el.text is not None:
                problems += [Problem(path=f"/burn_in/{i}/text", message=m) for m in text_problems(el.text)]
            pos = el.position
            if pos is not None:
                if pos in seen:
                    problems.append(
                        Problem(
                            path=f"/burn_in/{i}/position",
                            message=(
                                f"{pos} is already used by /burn_in/{seen[pos]}; two texts there would overlap: put "
                                "both "
                                f"in one text"
                            ),
                        )
                    )
                seen.setdefault(pos, i)
    if isinstance(watermark, PartialText) and watermark.text is not None:
        problems += [Problem(path="/watermark/text", message=m) for m in text_problems(watermark.text)]
    return problems


def _segments(text: str, values: dict[str, str]) -> tuple[Segment, ...]:
    out: list[Segment] = []
    for kind, value in split_text(text)[0]:
        if kind == "token" and value in DYNAMIC_TOKENS:
            out.append(Segment(kind=value))
            continue
        literal = values[value] if kind == "token" else value
        if out and out[-1].kind == "text":
            out[-1] = Segment(kind="text", text=out[-1].text + literal)
        elif literal:
            out.append(Segment(kind="text", text=literal))
    return tuple(out)


def resolve(
    elements: tuple[BurnInText, ...] | None,
    watermark: WatermarkText | None,
    *,
    source: str,
    reel: str | None,
    job_id: str,
    start_timecode: str | None,
    frame_rate: FrameRate,
) -> BurnIn | None:
    """The clip's BurnIn from a valid JobSpec's ``burn_in`` and ``watermark``, or None when it draws nothing. Pure."""
    if not elements and not watermark:
        return None
    values = {"source_name": Path(source).stem, "reel": _printable(reel or ""), "job_id": job_id}
    overlays = tuple(
        Overlay(segments=_segments(e.text, values), position=e.position, size=e.size) for e in elements or ()
    )
    drawn = None
    if watermark:
        drawn = Overlay(
            segments=_segments(watermark.text, values),
            position="center",
            size=watermark.size,
            opacity=watermark.opacity,
            boxed=False,
        )
    return BurnIn(
        elements=overlays, watermark=drawn, start_timecode=start_timecode or ZERO_TIMECODE, frame_rate=frame_rate
    )


def _printable(text: str) -> str:
    """A reel name from a file's metadata, with control characters dropped (one line of text)."""
    return "".join(ch for ch in text if unicodedata.category(ch) not in ("Cc", "Cs"))


# ------------------------------------------------------------------------------------- timecode


def timecode_to_frames(tc: str, rate: FrameRate) -> int:
    """Frame count of a HH:MM:SS:FF (or ;FF drop-frame) timecode at ``rate``."""
    hh, mm, ss, ff = (int(x) for x in re.split(r"[:;.,]", tc))
    fps, drop = timecode_base(rate)
    frames = ((hh * 60 + mm) * 60 + ss) * fps + ff
    if ";" in tc and drop:
        minutes = hh * 60 + mm
        frames -= drop * (minutes - minutes // 10)
    return frames


def frames_to_timecode(frames: int, rate: FrameRate, drop_frame: bool) -> str:
    """The timecode shown on frame count ``frames`` (wraps at 24 h), drop-frame when asked and the
    rate has one (29.97, 59.94): the reference the engines' burn-ins must match."""
    fps, drop = timecode_base(rate)
    drop = drop if drop_frame else 0
    if drop:
        per_ten = fps * 600 - 9 * drop
        per_minute = fps * 60 - drop
        tens, rem = divmod(frames, per_ten)
        frames += 9 * drop * tens + drop * max(0, (rem - drop) // per_minute)
    ff = frames % fps
    ss = frames // fps % 60
    mm = frames // (fps * 60) % 60
    hh = frames // (fps * 3600) % 24
    return f"{hh:02d}:{mm:02d}:{ss:02d}{';' if drop else ':'}{ff:02d}"
