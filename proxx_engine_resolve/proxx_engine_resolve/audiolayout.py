"""How the Resolve engine judges the audio Resolve writes.

No render-settings key controls the output's audio layout: for the same source Resolve writes one
multichannel stream on some builds and one mono stream per channel on others. The rule, applied in
place of :func:`proxx_core.verify.compare`'s per-stream audio checks:

* the total channel count must equal the source's (Resolve's ``Audio Ch``), summed over streams;
* the layout (check ``audio_streams``) must be one of: the source's own stream layout, one stream carrying every channel, or
  one mono stream per channel (anything else, e.g. 3+1 for a 4-channel source, fails);
* every stream must carry the profile's audio codec, at the profile's sample rate or, when the
  profile keeps the source's rate, the source's.
"""

from __future__ import annotations

from proxx_core.engine import Check


def describe_layout(channels: list[int]) -> str:
    if not channels:
        return "none"
    if len(set(channels)) == 1:
        width = "mono" if channels[0] == 1 else f"{channels[0]}ch"
        return f"{len(channels)} x {width}"
    return "streams of " + "+".join(str(c) for c in channels) + " channels"


def accepted_layouts(src_channels: list[int]) -> list[list[int]]:
    total = sum(src_channels)
    if total == 0:
        return [[]]
    layouts = [list(src_channels), [total], [1] * total]
    return [lay for i, lay in enumerate(layouts) if lay not in layouts[:i]]


def audio_checks(src_audio, out_audio, profile) -> tuple[Check, ...]:
    src_channels = [a.channels for a in src_audio]
    out_channels = [a.channels for a in out_audio]
    accepted = accepted_layouts(src_channels)
    checks = [
        Check(name="audio_channel_total", expected=sum(src_channels), actual=sum(out_channels),
              ok=sum(src_channels) == sum(out_channels)),
        Check(name="audio_streams", expected=" or ".join(describe_layout(lay) for lay in accepted),
              actual=describe_layout(out_channels), ok=out_channels in accepted),
    ]
    if out_audio:
        codecs = sorted({a.codec for a in out_audio})
        checks.append(Check(name="audio_codec", expected=profile.audio_codec, actual="/".join(codecs),
                            ok=codecs == [profile.audio_codec]))
        rate = profile.audio_sample_rate or (src_audio[0].sample_rate if src_audio else None)
        if rate:
            rates = sorted({a.sample_rate for a in out_audio})
            checks.append(Check(name="audio_sample_rate", expected=rate, actual="/".join(map(str, rates)),
                                ok=rates == [rate]))
    return tuple(checks)
