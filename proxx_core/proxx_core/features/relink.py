"""Will each NLE link this proxy to its original? Pure verdicts from what the files hold.

Verification (verify.py) asks "is this proxy a faithful copy of its source?"; this module asks the
editor's question: "will Resolve / Premiere / Avid / Final Cut attach it?". Each NLE compares
different things (docs/nle/*.md, from ../shared/reference/nle-relink.md); a requirement that fails
names itself, so an operator knows which one and why. The same functions judge a finished proxy
(the result's per-clip ``relink``) and, from the proxy the plan promises, warn at ``validate``.
"""

from __future__ import annotations

import os
import unicodedata
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import attrs

from ..contract.media import ZERO_TIMECODE, SourceInfo
from ..rules.verify import REEL_CONTAINERS

if TYPE_CHECKING:
    from ..contract.engine import ClipRequest

NLES = ("resolve", "premiere", "avid", "fcp")

#: containers whose timecode is a QuickTime ``tmcd`` track, the only timecode Resolve and FCP read
TMCD_CONTAINERS = ("mov", "mp4", "m4v")
#: containers NLEs take as still images or image sequences (Premiere attaches no proxy to them)
STILL_CONTAINERS = ("image", "image2", "png_pipe", "jpeg_pipe", "dpx_pipe", "exr_pipe", "tiff_pipe")


@attrs.frozen(kw_only=True)
class Requirement:
    """One thing an NLE compares. ``required`` False: only matters under a setting the editor
    chooses (Resolve's "Assist using reel names"); it never makes the verdict fail."""

    name: str
    expected: object
    actual: object
    ok: bool
    required: bool = True
    why: str = ""


@attrs.frozen(kw_only=True)
class NleVerdict:
    ok: bool
    #: names of the required requirements that fail, in check order
    failed: tuple[str, ...]
    checks: tuple[Requirement, ...]


@attrs.frozen(kw_only=True)
class ProxyFacts:
    """Where the proxy sits and how it is packaged, besides what its probe says."""

    source_path: str
    #: the proxy's final path (for OP-Atom: the video file's)
    output_path: str
    #: "output_dir", "proxy_subfolder" or "avid_mxf"
    layout: str = "output_dir"
    #: True when the proxy is MXF OP-Atom, one file per track (the avid_mxf layout)
    op_atom: bool = False


def _stem(path: str) -> str:
    return unicodedata.normalize("NFC", os.path.splitext(os.path.basename(path))[0])


def _tc(info: SourceInfo) -> str:
    return info.start_timecode or ZERO_TIMECODE


def _frames(info: SourceInfo) -> int | None:
    return info.video.frame_count if info.video is not None else None


def _rate(info: SourceInfo) -> str | None:
    return str(info.video.frame_rate) if info.video is not None else None


def _aspect(info: SourceInfo) -> Fraction | None:
    return info.video.display_aspect if info.video is not None else None


def _channels(info: SourceInfo) -> list[int]:
    return [a.channels for a in info.audio]


def _req(
    name: str, expected: Any, actual: Any, *, ok: bool | None = None, required: bool = True, why: str = ""
) -> Requirement:
    return Requirement(
        name=name,
        expected=expected,
        actual=actual,
        ok=(expected == actual) if ok is None else ok,
        required=required,
        why=why,
    )


def _common(src: SourceInfo, out: SourceInfo) -> list[Requirement]:
    return [
        _req("start_timecode", _tc(src), out.start_timecode or ZERO_TIMECODE),
        _req("frame_rate", _rate(src), _rate(out)),
    ]


def _frame_count(src: SourceInfo, out: SourceInfo, *, longer_ok: bool = False) -> Requirement:
    want, got = _frames(src), _frames(out)
    ok = want is not None and got is not None and (got >= want if longer_ok else got == want)
    return _req("frame_count", want, got, ok=ok)


def resolve(src: SourceInfo, out: SourceInfo, facts: ProxyFacts) -> NleVerdict:
    """Resolve links a proxy with the same base name, start timecode (read from ``tmcd`` only),
    frame rate and number of audio tracks; the reel name matters with "Assist using reel names"."""
    checks = [
        _req(
            "name",
            _stem(facts.source_path),
            _stem(facts.output_path),
            why="Resolve matches the proxy's base name to the original's",
        )
    ]
    checks += _common(src, out)
    checks.append(
        _req(
            "timecode_track",
            "QuickTime tmcd (mov/mp4)",
            out.container,
            ok=out.container in TMCD_CONTAINERS,
            why="Resolve reads proxy timecode only from a QuickTime tmcd track",
        )
    )
    checks.append(_req("audio_tracks", len(src.audio), len(out.audio)))
    if src.reel_name:
        checks.append(
            _req(
                "reel_name",
                src.reel_name,
                out.reel_name,
                required=False,
                why="only with Resolve's 'Assist using reel names'",
            )
        )
    return _verdict(checks)


def premiere(src: SourceInfo, out: SourceInfo, facts: ProxyFacts) -> NleVerdict:
    """Premiere attaches a proxy with the same frame rate, duration, fielding, audio channel
    configuration and aspect ratio (exactly: Adobe's rasters divide the original evenly), to
    video clips only."""
    checks = [
        _req(
            "attachable",
            "a video clip",
            "still or image sequence" if src.container in STILL_CONTAINERS else "a video clip",
            why="Premiere attaches no proxy to stills or image sequences",
        )
    ]
    checks += _common(src, out)
    checks.append(_frame_count(src, out))
    sv, ov = src.video, out.video
    if sv is not None and sv.field_dominance != "unknown":
        checks.append(_req("fielding", sv.field_dominance, ov.field_dominance if ov else None))
    checks.append(
        _req(
            "audio_channels",
            _channels(src),
            _channels(out),
            why="Premiere refuses a proxy whose audio channel configuration differs",
        )
    )
    sa, oa = _aspect(src), _aspect(out)
    checks.append(
        _req(
            "aspect_ratio",
            _ratio(sa),
            _ratio(oa),
            ok=sa is not None and sa == oa,
            why="Premiere attaches proxies of exactly the original's aspect ratio; "
            'raster "half" or "quarter" guarantees it',
        )
    )
    return _verdict(checks)


def avid(src: SourceInfo, out: SourceInfo, facts: ProxyFacts) -> NleVerdict:
    """Media Composer relinks managed media (MXF OP-Atom in ``Avid MediaFiles/MXF/<n>``) on tape
    name, start and end timecode and channels."""
    checks = [
        _req(
            "managed_media",
            "MXF OP-Atom in Avid MediaFiles/MXF (layout avid_mxf)",
            "MXF OP-Atom" if facts.op_atom else f"{out.container.upper()} ({facts.layout})",
            ok=facts.op_atom,
            why="Media Composer indexes and relinks only MXF in its MediaFiles folders",
        )
    ]
    checks.append(
        _req(
            "tape_name",
            src.reel_name or "a tape/reel name",
            out.reel_name,
            ok=bool(src.reel_name) and src.reel_name == out.reel_name,
            why="Avid relinks on tape/source name; the source has none"
            if not src.reel_name
            else "Avid relinks on tape/source name",
        )
    )
    checks += _common(src, out)
    checks.append(_frame_count(src, out))
    checks.append(_req("audio_channels", sum(_channels(src)), sum(_channels(out))))
    return _verdict(checks)


def fcp(src: SourceInfo, out: SourceInfo, facts: ProxyFacts) -> NleVerdict:
    """Final Cut Pro relinks a file with the same number of audio channels, the same start
    timecode (from ``tmcd`` only) and the same length or longer."""
    checks = [
        _req("start_timecode", _tc(src), out.start_timecode or ZERO_TIMECODE),
        _req(
            "timecode_track",
            "QuickTime tmcd (mov/mp4)",
            out.container,
            ok=out.container in TMCD_CONTAINERS,
            why="Final Cut Pro reads timecode only from a QuickTime tmcd track",
        ),
        _req("frame_rate", _rate(src), _rate(out)),
        _frame_count(src, out, longer_ok=True),
        _req("audio_channels", sum(_channels(src)), sum(_channels(out))),
    ]
    return _verdict(checks)


def _ratio(value: Fraction | None) -> str | None:
    return None if value is None else f"{value.numerator}:{value.denominator}"


def _verdict(checks: list[Requirement]) -> NleVerdict:
    failed = tuple(c.name for c in checks if c.required and not c.ok)
    return NleVerdict(ok=not failed, failed=failed, checks=tuple(checks))


_JUDGES = {"resolve": resolve, "premiere": premiere, "avid": avid, "fcp": fcp}


def verdicts(src: SourceInfo, out: SourceInfo | None, facts: ProxyFacts) -> dict[str, NleVerdict] | None:
    """Every NLE's verdict on one proxy (None when there is no readable proxy to judge)."""
    if out is None or out.video is None:
        return None
    return {nle: _JUDGES[nle](src, out, facts) for nle in NLES}


#: the NLEs each layout delivers for, the only ones `validate` judges it for: a folder of files
#: (``output_dir``, ``proxy_subfolder``) is for the NLEs that attach files by name and timecode;
#: Avid OP-Atom is for Media Composer only (Resolve and Premiere do not link OP-Atom, by design)
LAYOUT_NLES: dict[str, tuple[str, ...]] = {
    "output_dir": ("resolve", "premiere", "fcp"),
    "proxy_subfolder": ("resolve", "premiere", "fcp"),
    "avid_mxf": ("avid",),
}

#: what to change in the job when a requirement will fail, per (NLE, requirement)
FIXES = {
    ("resolve", "name"): 'set "output_name_template": "{source_name}" (or "layout": "proxy_subfolder")',
    ("resolve", "timecode_track"): "choose a ProRes (MOV) or H.264 (MP4) proxy_profile",
    ("fcp", "timecode_track"): "choose a ProRes (MOV) or H.264 (MP4) proxy_profile",
}


def warnings(src: SourceInfo, promised: SourceInfo, facts: ProxyFacts) -> list[tuple[str, str]]:
    """(nle, message) for every requirement the planned proxy will fail, what `validate` warns,
    judged only for the NLEs the layout delivers for (LAYOUT_NLES); a message names the NLE, the
    requirement and, where one exists, the fix."""
    found = []
    meant_for = LAYOUT_NLES.get(facts.layout, NLES)
    for nle, verdict in (verdicts(src, promised, facts) or {}).items():
        if nle not in meant_for:
            continue
        for c in verdict.checks:
            if c.required and not c.ok:
                why = f" ({c.why})" if c.why else ""
                fix = f"; {FIXES[nle, c.name]}" if (nle, c.name) in FIXES else ""
                message = (
                    f"{nle} will not link this proxy: {c.name} expected {c.expected!r}, "
                    f"the proxy will have {c.actual!r}{why}{fix}"
                )
                found.append((nle, message))
    return found


def to_data(result: dict[str, NleVerdict] | None) -> dict[str, Any] | None:
    """The result's ``relink`` object."""
    if result is None:
        return None
    return {
        nle: {"ok": v.ok, "failed": list(v.failed), "checks": [attrs.asdict(c) for c in v.checks]}
        for nle, v in result.items()
    }


def promised_output(request: ClipRequest) -> SourceInfo:
    """The proxy a plan promises (what verification will demand): what `validate` judges."""
    src = request.source_info
    profile = request.profile
    video = None
    if src.video is not None:
        video = attrs.evolve(
            src.video,
            codec=profile.codec,
            width=request.width,
            height=request.height,
            sample_aspect=request.sample_aspect,
            pix_fmt=profile.pix_fmt,
        )
    if request.extra_outputs:  # OP-Atom: one mono file per channel
        audio = tuple(attrs.evolve(src.audio[0], index=k, channels=1) for k in range(len(request.extra_outputs)))
    else:
        audio = src.audio
    carried = src.reel_name if profile.container in REEL_CONTAINERS else None
    return SourceInfo(
        container=profile.container,
        video=video,
        audio=audio,
        start_timecode=src.start_timecode or ZERO_TIMECODE,
        reel_name=carried,
        duration_seconds=src.duration_seconds,
        probed_by="plan",
    )
