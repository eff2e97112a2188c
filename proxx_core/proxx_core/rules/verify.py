"""Source-vs-proxy comparison: the properties editors' NLEs relink on.

The runner, not the engine, decides whether an output may be published: it asks the engine for a
probe of its output (:meth:`Engine.probe_output`) and runs :func:`verify_output`, the same rules for
every engine, plus the engine's own extra checks and every plugin's ``proxx_clip_checks``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import attrs

from ..contract.engine import Check, ClipPlan, ClipRequest, Engine, Verification
from ..contract.media import ZERO_TIMECODE, AudioInfo, SourceInfo
from ..contract.profiles import ASPECT_TOLERANCE, Profile, output_color_tags

#: containers whose proxies can carry a reel name an NLE reads (MOV tmcd, MXF package name)
REEL_CONTAINERS = _REEL_CONTAINERS = ("mov", "mxf")

#: display aspect may differ only by what rounding to even dimensions explains (profiles.py)
_ASPECT_TOLERANCE = ASPECT_TOLERANCE


#: audio layouts an engine may declare besides the source's own (Engine.audio_layouts)
AUDIO_LAYOUTS = ("source", "single_stream", "mono_per_channel")


def compare(
    request: ClipRequest,
    output: SourceInfo | None,
    *,
    container: str,
    strict_color: bool = False,
    audio_layouts: tuple[str, ...] = ("source",),
) -> Verification:
    """Compare the probed output with the probed source and the profile. ``strict_color``: the
    engine tags every proxy explicitly, so a missing colour tag fails too. ``audio_layouts``: the
    layouts the engine declares its outputs may have (see :func:`audio_checks`)."""
    src = request.source_info
    profile = request.profile
    checks: list[Check] = []
    notes: list[str] = []

    def check(name: str, expected: Any, actual: Any, ok: bool | None = None) -> None:
        checks.append(Check(name=name, expected=expected, actual=actual, ok=(expected == actual) if ok is None else ok))

    if output is None or output.video is None:
        check("readable_video", True, False)
        return Verification(ok=False, checks=checks, output_info=output)

    sv, ov = src.video, output.video
    check("container", profile.container, container)
    check("video_codec", profile.codec, _codec_family(ov.codec))
    check(
        "codec_profile",
        profile.codec_profile,
        ov.codec_profile,
        ok=(ov.codec_profile or "").casefold() == profile.codec_profile.casefold(),
    )
    check("pix_fmt", profile.pix_fmt, ov.pix_fmt)
    check("raster", f"{request.width}x{request.height}", f"{ov.width}x{ov.height}")
    if request.sample_aspect == "1:1":
        check("square_pixels", "1:1", ov.sample_aspect)
    else:  # raster "half"/"quarter" keep the source's pixel aspect
        check("sample_aspect", request.sample_aspect, ov.sample_aspect)
    if sv is not None:
        expected_tags = output_color_tags(sv, profile)
        actual_tags = (ov.color_primaries, ov.color_transfer, ov.color_space)
        # untagged reads as the same raster-based assumption in an NLE; an engine that promises
        # explicit tags (strict_color) is held to all three
        lenient = not strict_color and not profile.color_tags
        check(
            "color_tags",
            "/".join(expected_tags),
            "/".join(map(str, actual_tags)),
            ok=all(a == e or (lenient and a is None) for a, e in zip(actual_tags, expected_tags, strict=False)),
        )
        if sv.rotation or ov.rotation:
            check("rotation", sv.rotation, ov.rotation)
        check("frame_rate", str(sv.frame_rate), str(ov.frame_rate))
        if sv.frame_count is not None and ov.frame_count is not None:
            check("frame_count", sv.frame_count, ov.frame_count)
        else:
            exp, act = src.duration_seconds, output.duration_seconds
            one_frame = float(1 / sv.frame_rate.fraction)
            check("duration_seconds", exp, act, ok=exp is not None and act is not None and abs(exp - act) <= one_frame)
        src_dar, out_dar = sv.display_aspect, ov.display_aspect
        check(
            "display_aspect",
            f"{float(src_dar):.4f}",
            f"{float(out_dar):.4f}",
            ok=abs(out_dar - src_dar) / src_dar <= _ASPECT_TOLERANCE,
        )
        if sv.field_dominance != "unknown":
            # as displayed: libav's codes differ per container (media.displayed_field_order)
            check("field_dominance", sv.field_dominance, ov.field_dominance)
    if src.start_timecode is None:
        notes.append(f"the source has no timecode: the proxy starts at {ZERO_TIMECODE}, as NLEs read such a file")
    # effective start timecodes: every NLE reads a file without timecode as starting at 00:00:00:00,
    # so for a source without one, a proxy without one and a proxy at 00:00:00:00 are the same
    # (an engine written to the 1.0 guide that cannot write a timecode track relies on it)
    check("start_timecode", src.start_timecode or ZERO_TIMECODE, output.start_timecode or ZERO_TIMECODE)
    if src.reel_name and profile.container in _REEL_CONTAINERS:
        check("reel_name", src.reel_name, output.reel_name)
    elif src.reel_name:
        notes.append(
            f"reel name {src.reel_name!r} cannot be carried by {profile.container.upper()}: relink by file "
            f"name and timecode, or choose a ProRes or DNxHR profile to keep it"
        )
    checks.extend(audio_checks(src.audio, output.audio, profile, audio_layouts))
    return Verification(ok=all(c.ok for c in checks), checks=checks, output_info=output, notes=tuple(notes))


def _layout_words(channels: list[int]) -> str:
    if not channels:
        return "none"
    if len(set(channels)) == 1:
        return f"{len(channels)} x " + ("mono" if channels[0] == 1 else f"{channels[0]}ch")
    return "streams of " + "+".join(str(c) for c in channels) + " channels"


def audio_checks(
    src_audio: Sequence[AudioInfo],
    out_audio: Sequence[AudioInfo],
    profile: Profile,
    layouts: tuple[str, ...] = ("source",),
) -> list[Check]:
    """The audio rule. Every output keeps the source's channel count in total. Its stream layout
    must be the source's own, or one the engine declares it cannot avoid: ``single_stream`` (one
    stream carrying every channel) or ``mono_per_channel`` (one mono stream per channel), as
    DaVinci Resolve writes depending on its build. Every stream carries the profile's codec, at the
    profile's sample rate (or the source's, for profiles that keep it)."""
    src_channels = [a.channels for a in src_audio]
    out_channels = [a.channels for a in out_audio]
    total = sum(src_channels)
    if layouts == ("source",):
        checks = [
            Check(
                name="audio_streams",
                expected=len(src_channels),
                actual=len(out_channels),
                ok=len(src_channels) == len(out_channels),
            ),
            Check(name="audio_channels", expected=src_channels, actual=out_channels, ok=src_channels == out_channels),
        ]
        codecs: list[object] = [a.codec for a in out_audio]
        checks.append(
            Check(
                name="audio_codec",
                expected=[profile.audio_codec] * len(src_channels),
                actual=codecs,
                ok=codecs == [profile.audio_codec] * len(src_channels),
            )
        )
        if profile.audio_sample_rate:
            rates = [a.sample_rate for a in out_audio]
            want = [profile.audio_sample_rate] * len(src_channels)
            checks.append(Check(name="audio_sample_rate", expected=want, actual=rates, ok=rates == want))
        return checks
    accepted = [src_channels]
    if "single_stream" in layouts and total:
        accepted.append([total])
    if "mono_per_channel" in layouts:
        accepted.append([1] * total)
    accepted = [lay for i, lay in enumerate(accepted) if lay not in accepted[:i]]
    checks = [
        Check(name="audio_channel_total", expected=total, actual=sum(out_channels), ok=total == sum(out_channels)),
        Check(
            name="audio_streams",
            expected=" or ".join(_layout_words(lay) for lay in accepted),
            actual=_layout_words(out_channels),
            ok=out_channels in accepted,
        ),
    ]
    if out_audio:
        names = sorted({a.codec for a in out_audio})
        checks.append(
            Check(
                name="audio_codec",
                expected=profile.audio_codec,
                actual="/".join(names),
                ok=names == [profile.audio_codec],
            )
        )
        rate = profile.audio_sample_rate or (src_audio[0].sample_rate if src_audio else None)
        if rate:
            rates = sorted({a.sample_rate for a in out_audio})
            checks.append(
                Check(name="audio_sample_rate", expected=rate, actual="/".join(map(str, rates)), ok=rates == [rate])
            )
    return checks


def verify_output(
    plan: ClipPlan,
    output: SourceInfo | None,
    engine: Engine,
    extra: tuple[Check, ...] = (),
    *,
    audio_layouts: tuple[str, ...] | None = None,
) -> Verification:
    """The core's verdict on one clip's temp output: :func:`compare` under the rules the engine
    declares (``tags_color_explicitly``, ``audio_layouts``), then the engine's ``output_checks``
    and ``extra`` (the plugins' ``proxx_clip_checks``). An engine check that raises fails."""
    verdict = compare(
        plan.request,
        output,
        container=output.container if output else "unreadable",
        strict_color=engine.tags_color_explicitly,
        audio_layouts=audio_layouts or tuple(engine.audio_layouts),
    )
    checks = list(verdict.checks)
    if output is not None:
        try:
            checks.extend(engine.output_checks(plan, output))
        except Exception as exc:  # an engine bug must fail the clip, not publish it
            checks.append(
                Check(
                    name=f"engine:{engine.name}",
                    expected="no error",
                    actual=f"output_checks raised {type(exc).__name__}: {exc}",
                    ok=False,
                )
            )
    checks.extend(extra)
    return attrs.evolve(verdict, ok=all(c.ok for c in checks), checks=tuple(checks))


def _codec_family(codec: str) -> str:
    """Map a probed codec name to the profile's codec word (dnxhd carries DNxHR)."""
    return {"dnxhd": "dnxhr", "h264": "h264", "prores": "prores"}.get(codec, codec)
