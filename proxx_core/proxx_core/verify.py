"""Source-vs-proxy comparison: the properties editors' NLEs relink on.

Engines probe their output and call :func:`compare`; the rules live here so every engine is held
to the same standard.
"""

from __future__ import annotations

from fractions import Fraction

from .engine import Check, ClipRequest, Verification
from .media import ZERO_TIMECODE, SourceInfo
from .profiles import output_color_tags

#: containers whose proxies can carry a reel name an NLE reads (MOV tmcd, MXF package name)
_REEL_CONTAINERS = ("mov", "mxf")

#: display aspect may differ only by what rounding to even dimensions explains
_ASPECT_TOLERANCE = Fraction(1, 100)


def compare(request: ClipRequest, output: SourceInfo | None, *, container: str,
            strict_color: bool = False) -> Verification:
    """Compare the probed output with the probed source and the profile. ``strict_color``: the
    engine tags every proxy explicitly, so a missing colour tag fails too."""
    src = request.source_info
    profile = request.profile
    checks: list[Check] = []
    notes: list[str] = []

    def check(name, expected, actual, ok=None):
        checks.append(Check(name=name, expected=expected, actual=actual,
                            ok=(expected == actual) if ok is None else ok))

    if output is None or output.video is None:
        check("readable_video", True, False)
        return Verification(ok=False, checks=checks, output_info=output)

    sv, ov = src.video, output.video
    check("container", profile.container, container)
    check("video_codec", profile.codec, _codec_family(ov.codec))
    check("pix_fmt", profile.pix_fmt, ov.pix_fmt)
    check("raster", f"{request.width}x{request.height}", f"{ov.width}x{ov.height}")
    check("square_pixels", "1:1", ov.sample_aspect)
    if sv is not None:
        expected_tags = output_color_tags(sv, profile)
        actual_tags = (ov.color_primaries, ov.color_transfer, ov.color_space)
        # untagged reads as the same raster-based assumption in an NLE; an engine that promises
        # explicit tags (strict_color) is held to all three
        lenient = not strict_color and not profile.color_tags
        check("color_tags", "/".join(expected_tags), "/".join(map(str, actual_tags)),
              ok=all(a == e or (lenient and a is None) for a, e in zip(actual_tags, expected_tags)))
        if sv.rotation or ov.rotation:
            check("rotation", sv.rotation, ov.rotation)
        check("frame_rate", str(sv.frame_rate), str(ov.frame_rate))
        if sv.frame_count is not None and ov.frame_count is not None:
            check("frame_count", sv.frame_count, ov.frame_count)
        else:
            exp, act = src.duration_seconds, output.duration_seconds
            one_frame = float(1 / sv.frame_rate.fraction)
            check("duration_seconds", exp, act,
                  ok=exp is not None and act is not None and abs(exp - act) <= one_frame)
        src_dar, out_dar = sv.display_aspect, ov.display_aspect
        check("display_aspect", f"{float(src_dar):.4f}", f"{float(out_dar):.4f}",
              ok=abs(out_dar - src_dar) / src_dar <= _ASPECT_TOLERANCE)
        if sv.field_dominance != "unknown":
            # as displayed: libav's codes differ per container (media.displayed_field_order)
            check("field_dominance", sv.field_dominance, ov.field_dominance)
    if src.start_timecode is None:
        notes.append(f"the source has no timecode: the proxy starts at {ZERO_TIMECODE}, as NLEs read such a file")
    check("start_timecode", src.start_timecode or ZERO_TIMECODE, output.start_timecode)
    if src.reel_name and profile.container in _REEL_CONTAINERS:
        check("reel_name", src.reel_name, output.reel_name)
    elif src.reel_name:
        notes.append(f"reel name {src.reel_name!r} cannot be carried by {profile.container.upper()}: relink by file "
                     f"name and timecode, or choose a ProRes or DNxHR profile to keep it")
    check("audio_streams", len(src.audio), len(output.audio))
    check("audio_channels", [a.channels for a in src.audio], [a.channels for a in output.audio])
    check("audio_codec", [profile.audio_codec] * len(src.audio), [a.codec for a in output.audio])
    if profile.audio_sample_rate:
        check("audio_sample_rate", [profile.audio_sample_rate] * len(src.audio),
              [a.sample_rate for a in output.audio])
    return Verification(ok=all(c.ok for c in checks), checks=checks, output_info=output, notes=tuple(notes))


def _codec_family(codec: str) -> str:
    """Map a probed codec name to the profile's codec word (dnxhd carries DNxHR)."""
    return {"dnxhd": "dnxhr", "h264": "h264", "prores": "prores"}.get(codec, codec)


def probe_and_compare(request: ClipRequest, *, probed_by: str, strict_color: bool = False) -> Verification:
    """Probe the temp output with PyAV (``proxx-core[probe]``) and :func:`compare` it; an
    unreadable output fails as ``readable_video``."""
    from .avprobe import probe_file
    from .errors import ProxxError

    try:
        out = probe_file(request.temp_path, probed_by=probed_by)
    except ProxxError:
        out = None
    return compare(request, out, container=out.container if out else "unreadable", strict_color=strict_color)
