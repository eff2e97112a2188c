"""Camera-RAW detection from file signatures and structure, without Resolve and without decoding.

:func:`detect_raw` reads at most the first :data:`SCAN_BYTES` of a file and answers in well under a
millisecond for anything that is not RAW, so the Resolve engine's ``probe`` can return ``None``
quickly for ProRes/DNxHD/XAVC MXF and MOV files (they stay with the FFmpeg engine).

Every detection says how it was made, in the ``basis`` field and in ``SourceInfo.format_tag``
(``"<tag>@signature"`` or ``"<tag>@extension"``):

* ``signature`` – bytes/structure of the file identify the format;
* ``extension`` – no public signature is known to us for that format, so the file extension (plus
  a sanity check of the container where one exists) is all we go on.

What is checked, per format:

=================  ======================================================================  =========
format_tag         evidence                                                                 basis
=================  ======================================================================  =========
r3d                bytes 4..8 are ``RED1`` or ``RED2`` (R3D header atom)                    signature
braw               QuickTime/ISO-BMFF atoms and a sample entry whose fourcc is a BRAW one   signature
                   (``brxq brst brvn brs2 brxh brhq brlt``); else QuickTime atoms + .braw   extension
prores_raw         QuickTime atoms and a sample entry ``aprn``/``aprh``                     signature
arriraw            .ari: first 4 bytes are the ARRIRAW header magic 0x12345678 (either     signature
                   byte order)
arriraw            MXF: header partition pack whose essence containers include no known    signature
                   decodable picture mapping (VC-3/DNx, ProRes, AVC/XAVC, MPEG, JPEG 2000,  (struct.)
                   DV, D-10, uncompressed, VC-1) and whose header metadata names ARRI
x-ocn              MXF: as above, naming Sony, or a Sony organisation-registered            signature
                   essence-container label (06 0E 2B 34 04 01 01 xx 0E 06 ...)              (struct.)
arriraw_hde        .arx (no public signature known)                                         extension
canon_raw          ISO-BMFF ``ftyp`` with major brand ``crx `` and a .crm name              signature
nraw               .nev (no public signature known)                                         extension
cinemadng          TIFF header whose IFD0 carries the DNGVersion tag (50706)                signature
=================  ======================================================================  =========

An MXF whose pictures use a standard, FFmpeg-decodable mapping is never RAW here, whatever its
name or manufacturer; an MXF we cannot classify is *not* claimed (returns None) so it is never
routed to Resolve by guesswork.
"""

from __future__ import annotations

import struct
from pathlib import Path

import attrs

from proxx_core.kit import open_regular

SCAN_BYTES = 256 * 1024

_QT_TOP_ATOMS = {b"ftyp", b"wide", b"mdat", b"moov", b"free", b"skip", b"pnot", b"uuid"}
_BRAW_FOURCCS = {b"brxq", b"brst", b"brvn", b"brs2", b"brxh", b"brhq", b"brlt"}
_PRORES_RAW_FOURCCS = {b"aprn", b"aprh"}

_MXF_PARTITION_PREFIX = bytes.fromhex("060e2b34020501010d01020101")
_MXF_GC_PREFIX = bytes.fromhex("0d01030102")  # bytes 8..12 of an MXF generic container label
#: generic-container mapping kinds (byte 13) that carry ordinary, FFmpeg-decodable pictures
_MXF_DECODABLE_PICTURE_MAPPINGS = {
    0x01: "D-10",
    0x02: "DV",
    0x04: "MPEG ES",
    0x05: "uncompressed",
    0x07: "MPEG PES",
    0x08: "MPEG PS",
    0x09: "MPEG TS",
    0x0C: "JPEG 2000",
    0x10: "AVC/XAVC",
    0x11: "VC-3/DNxHD/DNxHR",
    0x12: "VC-1",
    0x1C: "ProRes",
}
#: mappings that carry no pictures at all (audio, data, generic multi-wrapping)
_MXF_NON_PICTURE_MAPPINGS = {0x03, 0x06, 0x0A, 0x0D, 0x0E, 0x13, 0x7F}


@attrs.frozen(kw_only=True)
class RawDetection:
    #: short format word: "r3d", "braw", "arriraw", "x-ocn", "canon_raw", "nraw", "cinemadng", ...
    tag: str
    #: container word for SourceInfo.container
    container: str
    #: "signature" or "extension"
    basis: str
    #: one sentence of evidence, for logs and `proxx plan`
    evidence: str

    @property
    def format_tag(self) -> str:
        return f"{self.tag}@{self.basis}"


def _read_head(path: Path) -> bytes:
    with open_regular(path) as fh:  # never blocks on a FIFO or a device (NotAFile is an OSError)
        return fh.read(SCAN_BYTES)


def detect_raw(path: Path | str) -> RawDetection | None:
    """Return what camera RAW ``path`` is, or None when it is not (or not recognisably) RAW."""
    path = Path(path)
    ext = path.suffix.lower()
    try:
        head = _read_head(path)
    except OSError:
        return None
    if len(head) < 8:
        return None

    if head[4:8] in (b"RED1", b"RED2"):
        return RawDetection(
            tag="r3d", container="r3d", basis="signature", evidence=f"R3D header atom {head[4:8].decode()} at offset 4"
        )
    if head[:4] in (b"\x12\x34\x56\x78", b"\x78\x56\x34\x12"):
        return RawDetection(
            tag="arriraw",
            container="ari",
            basis="signature",
            evidence="ARRIRAW frame header magic 0x12345678 at offset 0",
        )
    if head.startswith(_MXF_PARTITION_PREFIX):
        return _detect_mxf(head)
    if head[:4] in (b"II*\x00", b"MM\x00*"):
        return _detect_dng(path, head)
    if head[4:8] in _QT_TOP_ATOMS:
        return _detect_isobmff(head, ext)
    if ext == ".nev":
        return RawDetection(
            tag="nraw",
            container="nev",
            basis="extension",
            evidence="file name ends in .nev (Nikon N-RAW); no public signature known",
        )
    if ext == ".arx":
        return RawDetection(
            tag="arriraw_hde",
            container="arx",
            basis="extension",
            evidence="file name ends in .arx (ARRIRAW HDE); no public signature known",
        )
    return None


def _sample_entry_fourccs(head: bytes) -> set[bytes]:
    """Fourccs of sample entries found after each 'stsd' box in the scanned bytes."""
    found: set[bytes] = set()
    start = 0
    while True:
        i = head.find(b"stsd", start)
        if i < 0 or i + 20 > len(head):
            return found
        # 'stsd' version/flags (4) + entry count (4) + entry size (4) + entry fourcc (4)
        found.add(head[i + 16 : i + 20])
        start = i + 4


def _detect_isobmff(head: bytes, ext: str) -> RawDetection | None:
    fourccs = _sample_entry_fourccs(head)
    braw = fourccs & _BRAW_FOURCCS
    if braw:
        return RawDetection(
            tag="braw",
            container="braw",
            basis="signature",
            evidence=f"QuickTime sample entry {sorted(braw)[0].decode()} (Blackmagic RAW)",
        )
    praw = fourccs & _PRORES_RAW_FOURCCS
    if praw:
        return RawDetection(
            tag="prores_raw",
            container="mov",
            basis="signature",
            evidence=f"QuickTime sample entry {sorted(praw)[0].decode()} (ProRes RAW)",
        )
    if head[4:8] == b"ftyp" and head[8:12] == b"crx " and ext == ".crm":
        return RawDetection(
            tag="canon_raw",
            container="crm",
            basis="signature",
            evidence="ISO-BMFF major brand 'crx ' in a .crm file (Cinema RAW Light)",
        )
    if ext == ".braw":
        return RawDetection(
            tag="braw",
            container="braw",
            basis="extension",
            evidence=f"QuickTime atoms in a .braw file; no BRAW sample entry in the first {SCAN_BYTES // 1024} KiB",
        )
    if ext == ".nev":
        return RawDetection(
            tag="nraw",
            container="nev",
            basis="extension",
            evidence="QuickTime atoms in a .nev file (Nikon N-RAW); no public signature known",
        )
    return None


def _mxf_essence_containers(head: bytes) -> list[bytes]:
    """Essence-container ULs from the header partition pack (SMPTE ST 377-1 §7.1)."""
    # key (16) + BER length
    pos = 16
    first = head[pos]
    if first & 0x80:
        n = first & 0x7F
        pos += 1 + n
    else:
        pos += 1
    # fixed part of the partition pack value: 2+2+4 + 5*8 + 4+8+4 + 16 (OP label) = 80 bytes,
    # then the essence-container batch (count, item length, items)
    batch = pos + 80
    if batch + 8 > len(head):
        return []
    count, item_len = struct.unpack(">II", head[batch : batch + 8])
    if item_len != 16 or count > 64:
        return []
    return [head[batch + 8 + 16 * i : batch + 24 + 16 * i] for i in range(count) if batch + 24 + 16 * i <= len(head)]


def _detect_mxf(head: bytes) -> RawDetection | None:
    labels = _mxf_essence_containers(head)
    if not labels:
        return None
    decodable = []
    unknown_picture = []
    sony_private = False
    for ul in labels:
        if ul[8:13] == _MXF_GC_PREFIX:
            kind = ul[13]
            if kind in _MXF_DECODABLE_PICTURE_MAPPINGS:
                decodable.append(_MXF_DECODABLE_PICTURE_MAPPINGS[kind])
            elif kind not in _MXF_NON_PICTURE_MAPPINGS:
                unknown_picture.append(ul.hex())
        elif ul[8] == 0x0E:  # organisationally registered label
            if ul[9] == 0x06:
                sony_private = True
            unknown_picture.append(ul.hex())
    if decodable:
        return None  # ProRes / DNx / XAVC / ... in MXF: FFmpeg's business
    if not unknown_picture:
        return None
    if sony_private or "Sony".encode("utf-16-be") in head:
        return RawDetection(
            tag="x-ocn",
            container="mxf",
            basis="signature",
            evidence="MXF whose essence container is not a standard decodable picture "
            "mapping (Sony-registered label or Sony identification): X-OCN/Sony RAW",
        )
    if "ARRI".encode("utf-16-be") in head:
        return RawDetection(
            tag="arriraw",
            container="mxf",
            basis="signature",
            evidence="MXF whose essence container is not a standard decodable picture "
            "mapping and whose identification names ARRI: ARRIRAW in MXF",
        )
    return None


def _detect_dng(path: Path, head: bytes) -> RawDetection | None:
    endian = "<" if head[:2] == b"II" else ">"
    try:
        (ifd,) = struct.unpack(endian + "I", head[4:8])
        (n,) = struct.unpack(endian + "H", head[ifd : ifd + 2])
        for i in range(min(n, 512)):
            off = ifd + 2 + 12 * i
            (tag,) = struct.unpack(endian + "H", head[off : off + 2])
            if tag == 50706:  # DNGVersion
                return RawDetection(
                    tag="cinemadng",
                    container="dng",
                    basis="signature",
                    evidence="TIFF with a DNGVersion tag in IFD0 (CinemaDNG frame)",
                )
    except (struct.error, IndexError):
        return None
    return None
