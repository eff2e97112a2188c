"""The H.264 orientation scan (proxx_core/io/h264sei.py) and the probe that uses it: an H.264 file
with no display-orientation SEI is probed without decoding a frame; one with such a SEI is decoded
and gets the rotation the decoder gives; malformed bytes never raise and never claim "no SEI"."""

from __future__ import annotations

from pathlib import Path

import av
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxx_core.contract import avprobe
from proxx_core.io import avfacts
from proxx_core.io.h264sei import has_display_orientation
from proxx_engine_ffmpeg.testmedia import make_source

ORIENTATION_SEI = ("-bsf:v", "h264_metadata=display_orientation=insert:rotate=90")


def _first_packet(path: Path) -> tuple[bytes, bytes | None]:
    with av.open(str(path)) as c:
        s = c.streams.video[0]
        first = next(p for p in c.demux(s) if p.size)
        return bytes(first), s.codec_context.extradata


def _decoder_rotation(path: Path) -> int:
    with av.open(str(path)) as c:
        frame = next(c.decode(video=0))
        return int(frame.rotation or 0) % 360


@pytest.fixture
def no_decoding(monkeypatch):
    def refuse(packets):
        raise AssertionError("the probe decoded a frame")

    monkeypatch.setattr(avfacts, "_decoded_rotation", refuse)


@pytest.mark.parametrize("suffix", [".mp4", ".mov"])
def test_h264_without_orientation_is_probed_without_decoding(tmp_path: Path, suffix: str, no_decoding) -> None:
    src = make_source(tmp_path / f"plain{suffix}", video="h264", size="160x90", frames=6, timecode=None, audio=())
    assert has_display_orientation(*_first_packet(src)) is False
    assert avprobe.probe_file(src, probed_by="test").video.rotation == 0
    assert _decoder_rotation(src) == 0  # what decoding would have said


def test_h264_with_an_orientation_sei_is_decoded_and_gets_the_decoders_rotation(tmp_path: Path) -> None:
    src = make_source(
        tmp_path / "sei.mp4", video="h264", size="160x90", frames=6, timecode=None, audio=(), extra=ORIENTATION_SEI
    )
    assert has_display_orientation(*_first_packet(src)) is True
    expected = _decoder_rotation(src)
    assert expected != 0  # the SEI is there and the decoder applies it
    assert avprobe.probe_file(src, probed_by="test").video.rotation == expected


def test_a_rotated_matrix_still_decodes(tmp_path: Path) -> None:
    src = make_source(
        tmp_path / "phone.mp4", video="h264", size="160x90", frames=6, timecode=None, audio=(), rotation=90
    )
    assert avprobe.probe_file(src, probed_by="test").video.rotation == _decoder_rotation(src) != 0


@pytest.mark.parametrize("sei", [False, True])
def test_annex_b_streams_are_scanned_too(tmp_path: Path, sei: bool) -> None:
    src = make_source(
        tmp_path / "raw.h264",
        video="h264",
        size="160x90",
        frames=6,
        timecode=None,
        audio=(),
        extra=ORIENTATION_SEI if sei else (),
    )
    data, extradata = _first_packet(src)
    assert data.startswith((b"\x00\x00\x01", b"\x00\x00\x00\x01"))
    assert has_display_orientation(data, extradata) is sei


def _nal(kind: int, rbsp: bytes) -> bytes:
    """A NAL unit with emulation prevention applied to ``rbsp``."""
    out, zeros = bytearray([0x60 | kind]), 0
    for byte in rbsp:
        if zeros >= 2 and byte <= 3:
            out.append(3)
            zeros = 0
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _sei_message(kind: int, payload: bytes) -> bytes:
    def coded(n: int) -> bytes:
        return b"\xff" * (n // 255) + bytes([n % 255])

    return coded(kind) + coded(len(payload)) + payload


def _annex_b(*nals: bytes) -> bytes:
    return b"".join(b"\x00\x00\x00\x01" + n for n in nals)


SLICE = _nal(5, b"\x88\x84\x00\x33\xff")


def test_a_display_orientation_after_a_long_message_with_emulation_prevention_is_found() -> None:
    long_user_data = bytes(16) + b"\x00\x00\x00\x01\x02\x03" * 60  # > 255 bytes, zeros needing escapes
    sei = _nal(6, _sei_message(5, long_user_data) + _sei_message(47, b"\x20\x00\x80") + b"\x80")
    assert has_display_orientation(_annex_b(sei, SLICE), None) is True
    plain = _nal(6, _sei_message(5, long_user_data) + b"\x80")
    assert has_display_orientation(_annex_b(plain, SLICE), None) is False


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\x00\x00\x01",
        _annex_b(_nal(6, _sei_message(5, b"abc") + b"\x80")),  # no slice: cannot tell
        _annex_b(_nal(6, _sei_message(5, b"abcdef")[:4]), SLICE),  # truncated SEI
        _annex_b(b"\x85" + SLICE[1:]),  # forbidden bit
    ],
)
def test_what_cannot_be_told_is_none(data: bytes) -> None:
    assert has_display_orientation(data, None) is None


def test_length_prefixed_framing_that_overruns_is_none() -> None:
    avcc = bytes([1, 0x64, 0, 0x1F, 0xFF])  # 4-byte lengths
    assert has_display_orientation(b"\x00\x00\x01\x00" + SLICE, avcc) is None
    framed = len(SLICE).to_bytes(4, "big") + SLICE
    assert has_display_orientation(framed, avcc) is False


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=600), st.sampled_from([None, bytes([1, 0x64, 0, 0x1F, 0xFF]), bytes([1, 0, 0, 0, 0xFC])]))
def test_arbitrary_bytes_never_raise(data: bytes, extradata: bytes | None) -> None:
    assert has_display_orientation(data, extradata) in (True, False, None)


@settings(max_examples=200, deadline=None)
@given(st.data())
def test_a_damaged_orientation_sei_is_never_read_as_none_present(data) -> None:
    """Cutting or corrupting the bytes of an access unit whose SEI holds an orientation never makes the
    scan answer False (no orientation): at worst it cannot tell, and the probe decodes."""
    sei = _nal(6, _sei_message(5, b"x264 settings") + _sei_message(47, b"\x20\x00\x80") + b"\x80")
    au = bytearray(_annex_b(sei, SLICE))
    cut = data.draw(st.integers(min_value=1, max_value=len(au)))
    damaged = bytes(au[:cut])
    answer = has_display_orientation(damaged, None)
    if answer is False:
        # only possible when the cut removed the SEI message entirely... it is first, so never
        raise AssertionError(f"a cut access unit {damaged!r} was read as having no orientation")
