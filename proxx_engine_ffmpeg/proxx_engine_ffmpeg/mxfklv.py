"""MXF header metadata as data: read the header partition of a file, and write new header metadata
back into the same file (same inode), essence untouched.

The header partition is small (a partition pack, a primer pack and the header metadata sets); the
essence after it is stream-copied, moved forward in place when the new header metadata is larger. The
new header partition keeps the file's KAG (key alignment grid), so every following partition moves by
a whole number of KAGs and the essence stays aligned; each partition pack's offsets and the random
index pack (RIP) are updated. Files whose body or footer partitions repeat the header metadata are
refused (FFmpeg's OP-Atom muxer writes it in the header only).

SMPTE ST 377-1 (MXF file format): KLV coding, partition packs, primer pack, local sets.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import BinaryIO

import attrs

#: partition packs: 06.0e.2b.34.02.05.01.01.0d.01.02.01.01.<kind>.<status>.00
PARTITION_PREFIX = bytes.fromhex("060e2b34020501010d01020101")
PARTITION_KINDS = (0x02, 0x03, 0x04)  # header, body, footer
RIP_KEY = bytes.fromhex("060e2b34020501010d01020101110100")
PRIMER_KEY = bytes.fromhex("060e2b34020501010d01020101050100")
FILL_KEY = bytes.fromhex("060e2b34010101020301021001000000")
#: header metadata sets are local sets (byte 5 = 0x53)
LOCAL_SET_PREFIX = bytes.fromhex("060e2b340253")
#: byte offsets inside a partition pack's value
_KAG, _THIS, _PREV, _FOOTER, _HEADER_BYTES = 4, 8, 16, 24, 32


class MxfLayoutError(ValueError):
    """The file is not laid out as this module can rewrite (says where and why)."""


def ber_length(n: int) -> bytes:
    """A 4-byte BER length (0x83 + 3 bytes), as MXF writers commonly use for sets and fill."""
    if n >= 1 << 24:
        raise MxfLayoutError(f"a KLV of {n} bytes is too long for a 4-byte BER length")
    return b"\x83" + n.to_bytes(3, "big")


def is_partition(key: bytes) -> bool:
    """A header, body or footer partition pack's key (the primer and RIP share its prefix)."""
    return key.startswith(PARTITION_PREFIX) and key[13] in PARTITION_KINDS


def klv(key: bytes, value: bytes) -> bytes:
    return key + ber_length(len(value)) + value


def read_kl(fh: BinaryIO, pos: int) -> tuple[bytes, int, int]:
    """(key, position of the value, length of the value) of the KLV at ``pos``."""
    fh.seek(pos)
    head = fh.read(25)
    if len(head) < 17:
        raise MxfLayoutError(f"truncated KLV at byte {pos}")
    first = head[16]
    if not first & 0x80:
        return head[:16], pos + 17, first
    n = first & 0x7F
    if n == 0 or n > 8 or len(head) < 17 + n:
        raise MxfLayoutError(f"bad BER length at byte {pos}")
    return head[:16], pos + 17 + n, int.from_bytes(head[17 : 17 + n], "big")


def iter_klvs(fh: BinaryIO, start: int, end: int) -> Iterator[tuple[int, bytes, int, int]]:
    """(position, key, value position, value length) of each top-level KLV in [start, end)."""
    pos = start
    while pos < end:
        key, vpos, length = read_kl(fh, pos)
        yield pos, key, vpos, length
        pos = vpos + length


@attrs.define
class LocalSet:
    """One header metadata set: its key and its (local tag, value) items, in file order."""

    key: bytes
    items: list[tuple[int, bytes]]

    def get(self, tag: int) -> bytes | None:
        return next((v for t, v in self.items if t == tag), None)

    def put(self, tag: int, value: bytes) -> None:
        """Replace the item, or append it when the set lacks it."""
        for i, (t, _v) in enumerate(self.items):
            if t == tag:
                self.items[i] = (tag, value)
                return
        self.items.append((tag, value))

    @property
    def uid(self) -> bytes:
        return self.get(0x3C0A) or b""

    def encode(self) -> bytes:
        body = b"".join(t.to_bytes(2, "big") + len(v).to_bytes(2, "big") + v for t, v in self.items)
        return klv(self.key, body)

    @classmethod
    def decode(cls, key: bytes, value: bytes) -> LocalSet:
        items = []
        i = 0
        while i + 4 <= len(value):
            tag, n = int.from_bytes(value[i : i + 2], "big"), int.from_bytes(value[i + 2 : i + 4], "big")
            items.append((tag, bytes(value[i + 4 : i + 4 + n])))
            i += 4 + n
        return cls(key=key, items=items)


@attrs.define
class HeaderMetadata:
    """The primer (local tag -> UL) and the sets of a file's header partition."""

    primer: dict[int, bytes]
    sets: list[LocalSet]
    #: KAG of the header partition, and where the first partition after it starts
    kag: int
    header_end: int

    def by_uid(self, uid: bytes) -> LocalSet:
        for s in self.sets:
            if s.uid == uid:
                return s
        raise MxfLayoutError(f"no header metadata set with InstanceUID {uid.hex()}")

    def encode(self) -> bytes:
        primer = (
            len(self.primer).to_bytes(4, "big")
            + (18).to_bytes(4, "big")
            + b"".join(tag.to_bytes(2, "big") + ul for tag, ul in sorted(self.primer.items()))
        )
        return klv(PRIMER_KEY, primer) + b"".join(s.encode() for s in self.sets)


def strong_refs(value: bytes) -> list[bytes]:
    """The UUIDs of a batch/array of strong references (count, item size 16, items)."""
    count = int.from_bytes(value[:4], "big")
    return [value[8 + 16 * i : 24 + 16 * i] for i in range(count)]


def ref_array(uids: list[bytes]) -> bytes:
    return len(uids).to_bytes(4, "big") + (16).to_bytes(4, "big") + b"".join(uids)


def read_header(path: str) -> HeaderMetadata:
    """The header metadata of an MXF file (its header partition only)."""
    with open(path, "rb") as fh:
        key, vpos, length = read_kl(fh, 0)
        if not (key.startswith(PARTITION_PREFIX) and key[13] == 0x02):
            raise MxfLayoutError(f"{path}: does not start with an MXF header partition pack")
        fh.seek(vpos)
        pack = fh.read(length)
        kag = int.from_bytes(pack[_KAG : _KAG + 4], "big") or 1
        primer: dict[int, bytes] = {}
        sets: list[LocalSet] = []
        size = os.fstat(fh.fileno()).st_size
        for pos, k, vp, n in iter_klvs(fh, vpos + length, size):
            if is_partition(k):
                return HeaderMetadata(primer=primer, sets=sets, kag=kag, header_end=pos)
            fh.seek(vp)
            if k == PRIMER_KEY:
                data = fh.read(n)
                count = int.from_bytes(data[:4], "big")
                primer = {
                    int.from_bytes(data[8 + 18 * i : 10 + 18 * i], "big"): data[10 + 18 * i : 26 + 18 * i]
                    for i in range(count)
                }
            elif k.startswith(LOCAL_SET_PREFIX):
                sets.append(LocalSet.decode(k, fh.read(n)))
    raise MxfLayoutError(f"{path}: no partition after the header partition")


def write_header(path: str, header: HeaderMetadata, *, chunk: int = 8 << 20) -> int:
    """Write ``header`` as the file's header metadata, in place; returns how many bytes every later
    partition moved (a multiple of the KAG, 0 when the new metadata fits the old header partition)."""
    metadata = header.encode()
    with open(path, "r+b") as fh:
        size = os.fstat(fh.fileno()).st_size
        key, vpos, length = read_kl(fh, 0)
        fh.seek(vpos)
        pack = bytearray(fh.read(length))
        head = len(_aligned(klv(key, bytes(pack)), header.kag))
        end = head + len(metadata)
        new_end = max(header.header_end, _align_up(end + 20, header.kag))  # room for a closing fill KLV
        delta = new_end - header.header_end
        _check_no_repeated_metadata(fh, header.header_end, size, path)
        if delta:
            _move_tail(fh, header.header_end, size, delta, chunk)
        pack[_HEADER_BYTES : _HEADER_BYTES + 8] = (new_end - head).to_bytes(8, "big")
        _shift(pack, _FOOTER, delta)
        partition = _aligned(klv(key, bytes(pack)), header.kag)
        fill_n = new_end - end - 20
        fh.seek(0)
        fh.write(partition + metadata + FILL_KEY + ber_length(fill_n) + bytes(fill_n))
        _fix_offsets(fh, new_end, size + delta, delta)
    return delta


def _aligned(pack_klv: bytes, kag: int) -> bytes:
    """A partition pack KLV followed by a fill KLV up to the next KAG boundary."""
    end = _align_up(len(pack_klv) + 20, kag)
    n = end - len(pack_klv) - 20
    return pack_klv + FILL_KEY + ber_length(n) + bytes(n)


def _align_up(n: int, kag: int) -> int:
    return -(-n // kag) * kag


def _shift(pack: bytearray, at: int, delta: int) -> None:
    old = int.from_bytes(pack[at : at + 8], "big")
    if old:
        pack[at : at + 8] = (old + delta).to_bytes(8, "big")


def _check_no_repeated_metadata(fh: BinaryIO, start: int, end: int, path: str) -> None:
    for _pos, key, vpos, _n in iter_klvs(fh, start, end):
        if is_partition(key):
            fh.seek(vpos + _HEADER_BYTES)
            if int.from_bytes(fh.read(8), "big"):
                raise MxfLayoutError(
                    f"{path}: a body or footer partition repeats the header metadata, which "
                    f"this rewriter does not update"
                )


def _move_tail(fh: BinaryIO, start: int, end: int, delta: int, chunk: int) -> None:
    """Move bytes [start, end) forward by ``delta``, last chunk first (the ranges overlap)."""
    pos = end
    while pos > start:
        n = min(chunk, pos - start)
        pos -= n
        fh.seek(pos)
        data = fh.read(n)
        fh.seek(pos + delta)
        fh.write(data)


def _fix_offsets(fh: BinaryIO, start: int, end: int, delta: int) -> None:
    """Add ``delta`` to every partition offset in the partition packs and RIP after ``start``."""
    if not delta:
        return
    for _pos, key, vpos, n in list(iter_klvs(fh, start, end)):
        if key == RIP_KEY:
            fh.seek(vpos)
            rip = bytearray(fh.read(n))
            for i in range(0, n - 4, 12):  # (BodySID u32, ByteOffset u64) pairs, then the overall length
                _shift(rip, i + 4, delta)
            fh.seek(vpos)
            fh.write(rip)
        elif is_partition(key):
            fh.seek(vpos)
            pack = bytearray(fh.read(n))
            for at in (_THIS, _PREV, _FOOTER):
                _shift(pack, at, delta)
            fh.seek(vpos)
            fh.write(pack)
