"""mxfklv: header metadata rewritten in place on real FFmpeg OP-Atom files, essence untouched."""

from __future__ import annotations

import os
import subprocess

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxx_engine_ffmpeg.binary import inspect_binary
from proxx_engine_ffmpeg.mxfklv import (
    LocalSet,
    MxfLayoutError,
    is_partition,
    iter_klvs,
    read_header,
    write_header,
)


@pytest.fixture(scope="module")
def opatom_audio(tmp_path_factory):
    path = tmp_path_factory.mktemp("klv") / "a.mxf"
    subprocess.run(
        [
            inspect_binary().path,
            "-nostdin",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000:duration=0.2",
            "-c:a",
            "pcm_s24le",
            "-ac",
            "1",
            "-fflags",
            "+bitexact",
            "-f",
            "mxf_opatom",
            str(path),
        ],
        check=True,
    )
    return path.read_bytes()


def _essence_and_partitions(path) -> tuple[bytes, list[int]]:
    """The essence KLV's value and each partition pack's (ThisPartition == position) offsets."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        essence, parts = b"", []
        for pos, key, vpos, n in iter_klvs(fh, 0, size):
            fh.seek(vpos)
            if is_partition(key):
                value = fh.read(16)
                assert int.from_bytes(value[8:16], "big") == pos
                parts.append(pos)
            elif key[4:6] == b"\x01\x02":  # an essence element
                essence = fh.read(n)
    return essence, parts


def test_an_unchanged_header_rewrites_to_an_equal_file_structure(tmp_path, opatom_audio):
    path = tmp_path / "a.mxf"
    path.write_bytes(opatom_audio)
    before = read_header(str(path))
    essence, parts = _essence_and_partitions(path)
    assert write_header(str(path), before) == 0  # it fits where it was: nothing moves
    after = read_header(str(path))
    assert (after.primer, after.sets) == (before.primer, before.sets)
    assert _essence_and_partitions(path) == (essence, parts)


@settings(max_examples=15, deadline=None)
@given(extra=st.integers(min_value=0, max_value=9000), chunk=st.sampled_from([7, 512, 1 << 20]))
def test_a_larger_header_moves_the_essence_by_whole_kags(tmp_path_factory, opatom_audio, extra, chunk):
    path = tmp_path_factory.mktemp("grow") / "a.mxf"
    path.write_bytes(opatom_audio)
    header = read_header(str(path))
    essence, parts = _essence_and_partitions(path)
    header.sets.append(
        LocalSet(
            key=bytes.fromhex("060e2b34025301010d01010101017f00"),
            items=[(0x3C0A, bytes(range(16))), (0x7FFF, b"x" * extra)],
        )
    )
    moved = write_header(str(path), header, chunk=chunk)
    assert moved % header.kag == 0 and moved >= 0
    got_essence, got_parts = _essence_and_partitions(path)
    assert got_essence == essence
    assert got_parts == [parts[0]] + [p + moved for p in parts[1:]]
    assert read_header(str(path)).sets == header.sets
    assert os.path.getsize(path) == len(opatom_audio) + moved
    # libav still decodes the same samples
    decode = [inspect_binary().path, "-nostdin", "-loglevel", "error", "-i", str(path), "-f", "s24le", "-"]
    assert subprocess.run(decode, capture_output=True, check=True).stdout


def test_a_footer_that_repeats_the_header_metadata_is_refused(tmp_path, opatom_audio):
    path = tmp_path / "a.mxf"
    path.write_bytes(opatom_audio)
    header = read_header(str(path))
    with open(path, "r+b") as fh:
        size = os.fstat(fh.fileno()).st_size
        footer = [vpos for _p, key, vpos, _n in iter_klvs(fh, 0, size) if is_partition(key) and key[13] == 0x04][0]
        fh.seek(footer + 32)
        fh.write((512).to_bytes(8, "big"))  # HeaderByteCount: header metadata repeated there
    with pytest.raises(MxfLayoutError, match="repeats the header metadata"):
        write_header(str(path), header)
