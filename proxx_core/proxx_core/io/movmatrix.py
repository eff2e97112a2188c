"""Whether a QuickTime/MP4 file's movie and track matrices are all the identity, read without decoding.

A display rotation reaches libav's frames from the container (the ``mvhd`` and ``tkhd`` matrices) or
from the bitstream (H.264/HEVC orientation SEI, JPEG EXIF). PyAV exposes it only on a decoded frame,
and decoding the first frame is ~90 % of probing a 1080p ProRes source (~10 ms; ~40 ms at 4K). For
codecs that carry no orientation of their own, identity matrices settle it: rotation 0, no decode.

Conservative by design: any box it cannot read (truncated, compressed ``cmov``, out of bounds,
too many boxes) answers None, and the caller decodes as before. It reads box headers and the two
small boxes it needs, never sample tables, so a 50 GB file costs a few reads.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator

from .safeopen import open_regular

#: a, b, u, c, d, v, x, y, w as stored (16.16, 16.16, 2.30 fixed point): the identity
IDENTITY = (0x00010000, 0, 0, 0, 0x00010000, 0, 0, 0, 0x40000000)
#: boxes visited before giving up (hostile files cannot make this walk long)
MAX_BOXES = 4096
#: where the matrix starts in a full box's payload, by box type and version
_MATRIX_AT = {("mvhd", 0): 36, ("mvhd", 1): 48, ("tkhd", 0): 40, ("tkhd", 1): 52}


class _Unreadable(Exception):
    pass


def identity_matrices(source: str | os.PathLike[str] | int) -> bool | None:
    """True: the movie and every track have the identity matrix; False: one does not; None: cannot
    tell. ``source`` is a path or an open file descriptor (read with pread: its offset is untouched,
    so a demuxer reading the same descriptor is not disturbed, and the file checked is the one open)."""
    if isinstance(source, int):
        return _check(source)
    try:
        fh = open_regular(source)  # a FIFO or a device must not block (safeopen)
    except OSError:
        return None
    with fh:
        return _check(fh.fileno())


def _check(fd: int) -> bool | None:
    try:
        size = os.fstat(fd).st_size
        budget = [MAX_BOXES]
        moov = _find(fd, 0, size, "moov", budget)
        if moov is None:
            return None
        matrices, tracks = [], 0
        for kind, start, end in _boxes(fd, *moov, budget):
            if kind == "cmov":
                return None  # a compressed movie header: libav reads it, we do not
            if kind == "mvhd":
                matrices.append(_matrix(fd, kind, start, end))
            elif kind == "trak":
                tracks += 1
                tkhd = _find(fd, start, end, "tkhd", budget)
                if tkhd is None:
                    return None
                matrices.append(_matrix(fd, "tkhd", *tkhd))
        if not tracks:
            return None
        return all(m == IDENTITY for m in matrices)
    except (OSError, _Unreadable, struct.error):
        return None


def _read(fd: int, offset: int, count: int) -> bytes:
    data = os.pread(fd, count, offset)
    if len(data) < count:
        raise _Unreadable("truncated")
    return data


def _boxes(fd: int, start: int, end: int, budget: list[int]) -> Iterator[tuple[str, int, int]]:
    """(type, payload start, payload end) of each box between ``start`` and ``end``."""
    pos = start
    while pos + 8 <= end:
        budget[0] -= 1
        if budget[0] < 0:
            raise _Unreadable("too many boxes")
        size, kind_bytes = struct.unpack(">I4s", _read(fd, pos, 8))
        kind = kind_bytes.decode("latin-1")
        payload = pos + 8
        if size == 1:
            size = struct.unpack(">Q", _read(fd, pos + 8, 8))[0]
            payload += 8
        elif size == 0:
            size = end - pos  # to the end of the enclosing box (the file, at the top level)
        if size < payload - pos or pos + size > end:
            raise _Unreadable(f"box {kind!r} out of bounds")
        yield kind, payload, pos + size
        pos += size


def _find(fd: int, start: int, end: int, wanted: str, budget: list[int]) -> tuple[int, int] | None:
    for kind, payload, box_end in _boxes(fd, start, end, budget):
        if kind == wanted:
            return payload, box_end
    return None


def _matrix(fd: int, kind: str, start: int, end: int) -> tuple[int, ...]:
    version = _read(fd, start, 1)[0]
    at = _MATRIX_AT.get((kind, version))
    if at is None or start + at + 36 > end:
        raise _Unreadable(f"{kind} version {version} or size not understood")
    return struct.unpack(">9I", _read(fd, start + at, 36))
