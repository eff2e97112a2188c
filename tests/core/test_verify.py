"""The core's audio rule for engines that declare alternative layouts (Resolve): the channel total
always, and the source's own layout, one stream, or one mono stream per channel."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from proxx_core.contract.media import AudioInfo
from proxx_core.contract.profiles import PROFILES
from proxx_core.rules.verify import audio_checks

LAYOUTS = ("source", "single_stream", "mono_per_channel")

PRORES = PROFILES["offline_prores_proxy_1920x1080"]
DNX = PROFILES["offline_dnxhr_lb_1920x1080"]


def streams(channels, codec="pcm_s24le", rate=48000):
    return tuple(AudioInfo(index=i, codec=codec, channels=c, sample_rate=rate) for i, c in enumerate(channels))


def verdict(src, out, profile=PRORES):
    return {c.name: c.ok for c in audio_checks(streams(src), out, profile, LAYOUTS)}


@given(st.lists(st.integers(1, 8), min_size=1, max_size=4))
def test_any_source_layout_accepts_its_own_one_stream_and_all_mono(src):
    total = sum(src)
    for out in (src, [total], [1] * total):
        assert all(verdict(src, streams(out)).values()), (src, out)


@given(st.lists(st.integers(1, 8), min_size=1, max_size=4), st.integers(-3, 3).filter(bool))
def test_a_wrong_channel_total_always_fails(src, delta):
    total = sum(src) + delta
    if total < 1:
        return
    for out in ([total], [1] * total):
        v = verdict(src, streams(out))
        assert not v["audio_channel_total"] and not v["audio_streams"]


def test_other_splits_codecs_and_rates_fail():
    assert not verdict([4], streams([3, 1]))["audio_streams"]  # total right, layout not one Resolve writes
    assert not verdict([2], streams([1, 1], codec="aac"))["audio_codec"]
    assert not verdict([2], streams([2], rate=44100))["audio_sample_rate"]  # ProRes keeps the source's rate
    assert not verdict([2], streams([2], rate=44100), DNX)["audio_sample_rate"]
    assert verdict([], ()) == {"audio_channel_total": True, "audio_streams": True}
    assert not all(verdict([], streams([2])).values())  # audio where the source has none
