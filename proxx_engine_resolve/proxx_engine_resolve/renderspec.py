"""What the Resolve engine renders for each profile, and how source properties map to Resolve's.

Resolve's ``SetCurrentRenderFormatAndCodec`` takes *ids* (``GetRenderFormats()`` values and
``GetRenderCodecs(fmt)`` values), never the labels shown in the UI; the worker checks that the id
is offered by this Resolve before using it, so a build that names a codec differently fails with
the list of what it does offer.
"""

from __future__ import annotations

from fractions import Fraction

import attrs


@attrs.frozen(kw_only=True)
class RenderTarget:
    profile: str
    #: render format id (also the file extension Resolve writes for it, except MXF)
    format_id: str
    codec_id: str
    #: extension of the file Resolve writes
    extension: str
    audio_bit_depth: int = 24
    #: None keeps the source's rate
    audio_sample_rate: int | None = None


TARGETS: dict[str, RenderTarget] = {
    t.profile: t
    for t in (
        RenderTarget(
            profile="offline_prores_proxy_1920x1080", format_id="mov", codec_id="ProRes422Proxy", extension="mov"
        ),
        RenderTarget(profile="offline_prores_lt_1920x1080", format_id="mov", codec_id="ProRes422LT", extension="mov"),
        RenderTarget(
            profile="offline_dnxhr_lb_1920x1080",
            format_id="mxf_op1a",
            codec_id="DNxHRLB",
            extension="mxf",
            audio_sample_rate=48000,
        ),
    )
}

#: Resolve's project frame-rate strings (project setting ``timelineFrameRate``)
_RESOLVE_RATES = {
    Fraction(24000, 1001): "23.976",
    Fraction(30000, 1001): "29.97",
    Fraction(48000, 1001): "47.952",
    Fraction(60000, 1001): "59.94",
    Fraction(120000, 1001): "119.88",
}


def resolve_rate_string(rate: Fraction, drop_frame: bool = False) -> str:
    s = _RESOLVE_RATES.get(rate) or (str(rate.numerator) if rate.denominator == 1 else f"{float(rate):.3f}")
    return f"{s} DF" if drop_frame else s


def exact_rate(fps: float | str) -> Fraction:
    """Resolve reports ``FPS`` as a float (23.976...); turn it back into the exact rational."""
    f = float(fps)
    for exact in _RESOLVE_RATES:
        if abs(f - float(exact)) < 0.002:
            return exact
    if abs(f - round(f)) < 0.002:
        return Fraction(round(f))
    return Fraction(f).limit_denominator(1001)
