"""Does an H.264 access unit carry a display-orientation SEI? Read from its bytes, without decoding.

Why: the rotation a decoder gives an H.264 frame comes from the container's display matrix (read by
:mod:`.movmatrix`) or from a display-orientation SEI message (payload type 47) in the bitstream. The
probe used to decode the first frame to learn it: ~6 ms for a 720p frame, ~30 ms for a 4K one, on
the path of every H.264 source and of every H.264 proxy's verification. Scanning the first access
unit's SEI messages answers the same question for a few microseconds: no such message (and identity
matrices) means no rotation; one present, or anything this scan does not follow, means "decode and
see", as before.

Only the NAL framing and SEI message headers are parsed (ITU-T H.264 7.3.2.3 and 7.3.2.3.1): payload
type and size are each a run of 0xFF bytes plus a final byte, read after removing emulation-prevention
bytes (00 00 03).
"""

from __future__ import annotations

#: sei_message payloadType of display_orientation (ITU-T H.264 Annex D.1.27)
DISPLAY_ORIENTATION = 47
_SEI = 6
_SLICES = frozenset({1, 2, 3, 4, 5})


def has_display_orientation(access_unit: bytes, extradata: bytes | None) -> bool | None:
    """True when ``access_unit`` (one packet, as demuxed) holds a display-orientation SEI message,
    False when it holds a slice and provably none, None when that cannot be told (malformed,
    truncated or unfamiliar framing): the caller then decodes."""
    nals = _nal_units(access_unit, extradata)
    if nals is None:
        return None
    saw_slice = False
    for nal in nals:
        if not nal or nal[0] & 0x80:  # forbidden_zero_bit set: not H.264 as we know it
            return None
        kind = nal[0] & 0x1F
        if kind == _SEI:
            found = _sei_has(_unescape(nal[1:]), DISPLAY_ORIENTATION)
            if found is not False:
                return found
        saw_slice |= kind in _SLICES
    return False if saw_slice else None


def _nal_units(data: bytes, extradata: bytes | None) -> list[bytes] | None:
    """The NAL units of one packet: length-prefixed when the stream has an ``avcC`` record (MP4/MOV:
    extradata starting with 1), else Annex B start codes."""
    if extradata and extradata[0] == 1:
        if len(extradata) < 5:
            return None
        size = (extradata[4] & 0x03) + 1
        if size == 3:
            return None
        nals, i = [], 0
        while i < len(data):
            if i + size > len(data):
                return None
            length = int.from_bytes(data[i : i + size], "big")
            i += size
            if length == 0 or i + length > len(data):
                return None
            nals.append(data[i : i + length])
            i += length
        return nals
    if not (data.startswith(b"\x00\x00\x01") or data.startswith(b"\x00\x00\x00\x01")):
        return None
    parts = data.split(b"\x00\x00\x01")
    return [part.rstrip(b"\x00") for part in parts[1:] if part.rstrip(b"\x00")]


def _unescape(rbsp: bytes) -> bytes:
    """The RBSP bytes: every emulation-prevention byte (the 03 of 00 00 03) removed."""
    if b"\x00\x00\x03" not in rbsp:
        return rbsp
    out, zeros = bytearray(), 0
    for byte in rbsp:
        if zeros >= 2 and byte == 3:
            zeros = 0
            continue
        out.append(byte)
        zeros = zeros + 1 if byte == 0 else 0
    return bytes(out)


def _sei_has(payload: bytes, wanted: int) -> bool | None:
    """Whether the SEI RBSP ``payload`` holds a message of type ``wanted`` (None: malformed)."""
    i = 0
    while i < len(payload):
        if payload[i] == 0x80 and i == len(payload) - 1:  # rbsp_trailing_bits: the end
            return False
        kind, i = _ff_coded(payload, i)
        if i < 0:
            return None
        size, i = _ff_coded(payload, i)
        if i < 0 or i + size > len(payload):
            return None
        if kind == wanted:
            return True
        i += size
    return None  # no trailing bits: truncated


def _ff_coded(data: bytes, i: int) -> tuple[int, int]:
    """A payload type or size: 0xFF bytes adding 255 each, then a last byte. (-1 past the end.)"""
    value = 0
    while i < len(data) and data[i] == 0xFF:
        value += 255
        i += 1
    if i >= len(data):
        return 0, -1
    return value + data[i], i + 1
