"""Display rotation without decoding (proxx_core.io.movmatrix): same answer as libav's decoded frame,
decodes only when it must, and hostile or huge files cost a few bounded reads, never an exception."""

from __future__ import annotations

import os
import struct
import subprocess
from pathlib import Path

import av
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxx_core.contract import avprobe
from proxx_core.io import avfacts
from proxx_core.io.movmatrix import IDENTITY, MAX_BOXES, identity_matrices
from proxx_engine_ffmpeg.binary import inspect_binary


def _ffmpeg(*args: str) -> None:
    subprocess.run([inspect_binary().path, "-v", "error", "-y", *args], check=True, timeout=60)


@pytest.fixture(scope="module")
def clips(tmp_path_factory) -> dict[str, Path]:
    """ProRes (MOV) and H.264 (MP4, moov first and last), each unrotated and display-rotated."""
    d = tmp_path_factory.mktemp("rot")
    made = {}
    for codec, ext, extra in (
        ("prores_ks", "mov", []),
        ("libx264", "mp4", []),
        ("libx264", "mp4", ["-movflags", "+faststart"]),
    ):
        name = f"{codec}-{ext}{'-faststart' if extra else ''}"
        base = d / f"{name}.{ext}"
        _ffmpeg("-f", "lavfi", "-i", "testsrc=s=96x54:d=0.2", "-c:v", codec, *extra, str(base))
        made[f"{name}-0"] = base
        for degrees in ("90", "180", "-90"):
            rotated = d / f"{name}-{degrees}.{ext}"
            _ffmpeg("-display_rotation", degrees, "-i", str(base), "-c", "copy", *extra, str(rotated))
            made[f"{name}-{degrees}"] = rotated
    return made


def _decoded(path: Path) -> int:
    with av.open(str(path)) as c:
        for frame in c.decode(c.streams.video[0]):
            return int(frame.rotation or 0) % 360
    raise AssertionError("no frame")


def test_the_matrices_agree_with_libav_on_every_clip(clips):
    for name, path in clips.items():
        rotation = _decoded(path)
        assert identity_matrices(path) is (rotation == 0), name
        assert (rotation == 0) == name.endswith("-0"), name


def test_probe_reports_libavs_rotation_and_decodes_only_when_it_must(clips, monkeypatch):
    decoded = []
    real = avfacts._decoded_rotation
    monkeypatch.setattr(avfacts, "_decoded_rotation", lambda packets: (decoded.append(1), real(packets))[1])
    for name, path in clips.items():
        decoded.clear()
        info = avprobe.probe_file(path, probed_by="test")
        assert info.video.rotation == _decoded(path), name
        must_decode = not name.endswith("-0")  # a rotation (H.264 without an orientation SEI: scanned, test_h264sei)
        assert bool(decoded) == must_decode, name


def test_the_descriptor_offset_is_untouched(clips):
    with open(clips["prores_ks-mov-0"], "rb") as fh:
        fh.seek(5)
        before = os.lseek(fh.fileno(), 0, os.SEEK_CUR)
        assert identity_matrices(fh.fileno()) is True
        assert os.lseek(fh.fileno(), 0, os.SEEK_CUR) == before


def _box(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I4s", 8 + len(payload), kind) + payload


def _mvhd(matrix=IDENTITY) -> bytes:
    return _box(b"mvhd", b"\0" * 36 + struct.pack(">9I", *matrix) + b"\0" * 28)


def _trak(matrix=IDENTITY) -> bytes:
    return _box(b"trak", _box(b"tkhd", b"\0" * 40 + struct.pack(">9I", *matrix) + b"\0" * 8))


@pytest.mark.parametrize(
    ("name", "data", "expected"),
    [
        ("identity", _box(b"ftyp", b"qt  ") + _box(b"moov", _mvhd() + _trak()), True),
        ("rotated track", _box(b"moov", _mvhd() + _trak((0, 0x10000, 0, 0xFFFF0000, 0, 0, 0, 0, 0x40000000))), False),
        ("scaled movie", _box(b"moov", _mvhd((0x20000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)) + _trak()), False),
        ("no moov", _box(b"ftyp", b"qt  ") + _box(b"mdat", b"x" * 64), None),
        ("no track", _box(b"moov", _mvhd()), None),
        ("compressed moov", _box(b"moov", _box(b"cmov", b"\0" * 16)), None),
        ("box larger than file", struct.pack(">I4s", 10_000, b"moov") + _mvhd(), None),
        ("box smaller than its header", struct.pack(">I4s", 4, b"moov") + b"\0" * 64, None),
        ("truncated large size", struct.pack(">I4s", 1, b"mdat") + b"\0\0", None),
        ("tkhd too short", _box(b"moov", _mvhd() + _box(b"trak", _box(b"tkhd", b"\0" * 20))), None),
        ("unknown tkhd version", _box(b"moov", _mvhd() + _box(b"trak", _box(b"tkhd", b"\x07" + b"\0" * 120))), None),
        ("box storm", _box(b"moov", b"".join(_box(b"free", b"") for _ in range(MAX_BOXES + 1))), None),
        ("empty file", b"", None),
    ],
)
def test_synthetic_files(tmp_path, name, data, expected):
    path = tmp_path / "f.mov"
    path.write_bytes(data)
    assert identity_matrices(path) is expected, name


def test_a_huge_sparse_file_costs_a_few_reads(tmp_path):
    """A 64-bit mdat of 6 GB before the moov (a long camera clip without faststart)."""
    path = tmp_path / "long.mov"
    mdat_size = 6 * 1024**3
    with open(path, "wb") as fh:
        fh.write(_box(b"ftyp", b"qt  "))
        fh.write(struct.pack(">I4sQ", 1, b"mdat", mdat_size))
        fh.seek(len(_box(b"ftyp", b"qt  ")) + mdat_size)
        fh.write(_box(b"moov", _mvhd() + _trak()))
    assert identity_matrices(path) is True


def test_a_fifo_is_not_waited_on(tmp_path):
    fifo = tmp_path / "pipe.mov"
    os.mkfifo(fifo)
    assert identity_matrices(fifo) is None


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.data())
def test_damaged_headers_never_raise_and_never_claim_identity_wrongly(clips, tmp_path, data):
    original = clips[data.draw(st.sampled_from(["prores_ks-mov-0", "prores_ks-mov-90"]))].read_bytes()
    damaged = bytearray(original)
    for _ in range(data.draw(st.integers(1, 6))):
        damaged[data.draw(st.integers(0, len(damaged) - 1))] = data.draw(st.integers(0, 255))
    path = tmp_path / "damaged.mov"
    path.write_bytes(bytes(damaged))
    verdict = identity_matrices(path)
    assert verdict in (True, False, None)
    if verdict is True:  # then libav, where it can decode, sees no rotation either
        try:
            rotation = _decoded(path)
        except (av.FFmpegError, AssertionError, StopIteration, ValueError, IndexError):
            return
        assert rotation == 0
