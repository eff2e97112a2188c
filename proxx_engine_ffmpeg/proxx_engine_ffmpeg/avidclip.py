"""One Avid master clip across the OP-Atom files of a clip: rewrites the header metadata FFmpeg wrote.

FFmpeg's ``mxf_opatom`` muxer writes each file as if it were the whole clip: its material package
and tape package hold a timecode track and the file's one essence track, always TrackID 2. Readers
that build a master clip from the first file they meet (pyaaf2's ``link_external_mxf``, and Media
Composer ties files by these package ids) then see a clip with only V1, or only A1. Avid's writers
(and the BBC's bmx Avid clip writer) put every track of the clip in the material and tape packages of
every file instead; each file's file package carries its one essence track. This module does that:

- material package and tape package of every file: the timecode track (TC1), then V1 (TrackID 2) and A1…An
  (TrackID 2+k), numbered per kind as Avid numbers them (V1 -> 1, Ak -> k), named ``V1``/``Ak``, each
  at its file's edit rate and duration; the material tracks reference the file package of each
  file, the tape tracks are the originals (no reference);
- the file package's essence clip references its own track in the tape package;
- creation/modification dates (packages, preface, identification) are the clip's date (the caller's,
  deterministic), and the identification names Proxx and its version instead of FFmpeg's bit-exact
  ``0.0.0``;
- audio is labelled clip-wrapped (BWF clip-wrapped essence container and element key), which is how
  FFmpeg already lays OP-Atom audio out (one KLV of samples, one-sample index edit units) and how
  Avid writes it.

Every id of a new set is a pure function of the clip's seed, so the bytes are deterministic.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import attrs

from .mxfklv import (
    HeaderMetadata,
    LocalSet,
    MxfLayoutError,
    is_partition,
    iter_klvs,
    read_header,
    ref_array,
    strong_refs,
    write_header,
)

_SET = "060e2b34025301010d010101010{}00"
PREFACE, IDENTIFICATION = bytes.fromhex(_SET.format("12f")), bytes.fromhex(_SET.format("130"))
MATERIAL, SOURCE = bytes.fromhex(_SET.format("136")), bytes.fromhex(_SET.format("137"))
TRACK, SEQUENCE = bytes.fromhex(_SET.format("13b")), bytes.fromhex(_SET.format("10f"))
SOURCE_CLIP = bytes.fromhex(_SET.format("111"))
ESSENCE_DATA = bytes.fromhex("060e2b34025301010d01010101012300")
PICTURE = bytes.fromhex("060e2b34040101010103020201000000")
SOUND = bytes.fromhex("060e2b34040101010103020202000000")
TIMECODE = bytes.fromhex("060e2b34040101010103020101000000")
#: Track Name's UL, added to the primer (FFmpeg's primer lacks it)
TRACK_NAME_TAG, TRACK_NAME_UL = 0x4802, bytes.fromhex("060e2b34010101020107010201000000")
#: BWF essence container, frame- and clip-wrapped (SMPTE ST 382), and their GC element types
BWF_FRAME = bytes.fromhex("060e2b34040101010d01030102060100")
BWF_CLIP = bytes.fromhex("060e2b34040101010d01030102060200")
_BWF_ELEMENT = bytes.fromhex("060e2b34010201010d01030116")
COMPANY, PRODUCT = "Proxx", "Proxx"


@attrs.frozen(kw_only=True)
class Essence:
    """One file of the clip, as its file package describes it."""

    label: str  # "V1", "A1", ...
    data_def: bytes
    edit_rate: bytes  # 8 bytes: numerator, denominator
    duration: int
    file_package: bytes  # 32-byte UMID
    file_track_id: int

    @property
    def number(self) -> int:
        return int(self.label[1:])


def rewrite_clip(paths: list[str], *, seed: bytes, date: dt.datetime, version: str) -> list[int]:
    """Rewrite the header metadata of every file of one clip (``paths``: V1 first, then A1…An), in
    place; returns how many bytes each file's essence moved. The files' package UMIDs must be set."""
    headers = [read_header(p) for p in paths]
    labels = ["V1"] + [f"A{k}" for k in range(1, len(paths))]
    clip = [_essence(h, label, p) for h, label, p in zip(headers, labels, paths, strict=True)]
    moved = []
    for header, own, path in zip(headers, clip, paths, strict=True):
        try:
            _rebuild(header, own, clip, seed=seed, stamp=timestamp(date), version=version)
        except MxfLayoutError as exc:
            raise MxfLayoutError(f"{path}: {exc}") from None
        moved.append(write_header(path, header))
        if own.data_def == SOUND:
            _label_clip_wrapped(path)
    return moved


def timestamp(date: dt.datetime) -> bytes:
    """MXF TimeStamp: year (u16), month, day, hour, minute, second, quarter-milliseconds (u8 each), UTC."""
    d = date.astimezone(dt.UTC)
    return d.year.to_bytes(2, "big") + bytes([d.month, d.day, d.hour, d.minute, d.second, d.microsecond // 4000])


def _uid(seed: bytes, label: str) -> bytes:
    """A deterministic UUID (version 8, RFC 9562) for a set Proxx adds."""
    b = bytearray(hashlib.sha256(seed + b"\0set\0" + label.encode()).digest()[:16])
    b[6] = (b[6] & 0x0F) | 0x80
    b[8] = (b[8] & 0x3F) | 0x80
    return bytes(b)


def _packages(h: HeaderMetadata) -> tuple[LocalSet, LocalSet, LocalSet | None]:
    """(material, file, tape or None): the file package is the one the essence container data links."""
    linked = next(s.get(0x2701) for s in h.sets if s.key == ESSENCE_DATA)  # StopIteration: not OP-Atom
    material = next(s for s in h.sets if s.key == MATERIAL)
    sources = [s for s in h.sets if s.key == SOURCE]
    files = [s for s in sources if s.get(0x4401) == linked]
    if len(files) != 1:
        raise MxfLayoutError("no file package linked by the essence container data")
    tapes = [s for s in sources if s is not files[0]]
    return material, files[0], (tapes[0] if tapes else None)


def _tracks(h: HeaderMetadata, package: LocalSet) -> list[tuple[LocalSet, LocalSet, list[LocalSet]]]:
    """Each track of a package: (track, sequence, components)."""
    out = []
    for uid in strong_refs(package.get(0x4403) or b""):
        track = h.by_uid(uid)
        seq = h.by_uid(track.get(0x4803) or b"")
        out.append((track, seq, [h.by_uid(u) for u in strong_refs(seq.get(0x1001) or b"")]))
    return out


def _essence(h: HeaderMetadata, label: str, path: str) -> Essence:
    try:
        _material, file_package, _tape = _packages(h)
    except (MxfLayoutError, StopIteration):
        raise MxfLayoutError(f"{path}: no material package, or no file package linked to its essence") from None
    essence = [(t, s) for t, s, _c in _tracks(h, file_package) if s.get(0x0201) in (PICTURE, SOUND)]
    if len(essence) != 1:
        raise MxfLayoutError(f"{path}: the file package has {len(essence)} essence tracks, not 1")
    track, seq = essence[0]
    return Essence(
        label=label,
        data_def=seq.get(0x0201) or b"",
        edit_rate=track.get(0x4B01) or b"",
        duration=int.from_bytes(seq.get(0x0202) or b"", "big", signed=True),
        file_package=file_package.get(0x4401) or b"",
        file_track_id=int.from_bytes(track.get(0x4801) or b"", "big"),
    )


def _u32(n: int) -> bytes:
    return n.to_bytes(4, "big")


def _utf16(text: str) -> bytes:
    return text.encode("utf-16-be") + b"\0\0"


def _track_id(e: Essence) -> int:
    return 2 if e.label == "V1" else 2 + e.number


def _new_track(seed: bytes, where: str, e: Essence, ref: tuple[bytes, int] | None) -> list[LocalSet]:
    """Track, sequence and source clip of ``e`` in the material (``ref``: its file package track) or
    tape package (``ref`` None: an original, referencing nothing)."""
    ids = [_uid(seed, f"{where}/{e.label}/{part}") for part in ("track", "sequence", "clip")]
    length = e.duration.to_bytes(8, "big", signed=True)
    package, track_id = ref if ref else (bytes(32), 0)
    track = LocalSet(
        TRACK,
        [
            (0x3C0A, ids[0]),
            (0x4801, _u32(_track_id(e))),
            (0x4804, _u32(e.number)),
            (TRACK_NAME_TAG, _utf16(e.label)),
            (0x4B01, e.edit_rate),
            (0x4B02, bytes(8)),
            (0x4803, ids[1]),
        ],
    )
    seq = LocalSet(SEQUENCE, [(0x3C0A, ids[1]), (0x0201, e.data_def), (0x0202, length), (0x1001, ref_array([ids[2]]))])
    clip = LocalSet(
        SOURCE_CLIP,
        [
            (0x3C0A, ids[2]),
            (0x0201, e.data_def),
            (0x0202, length),
            (0x1201, bytes(8)),
            (0x1101, package),
            (0x1102, _u32(track_id)),
        ],
    )
    return [track, seq, clip]


def _replace_tracks(
    h: HeaderMetadata, package: LocalSet, where: str, clip: list[Essence], seed: bytes, material: bool
) -> None:
    """Keep the package's timecode track; its essence tracks become one per file of the clip."""
    keep: list[bytes] = []
    drop: set[bytes] = set()
    for track, seq, comps in _tracks(h, package):
        if seq.get(0x0201) == TIMECODE:  # Avid's first timecode track: TC1, number 1
            track.put(0x4804, _u32(1))
            track.put(TRACK_NAME_TAG, _utf16("TC1"))
            keep.append(track.uid)
        else:
            drop |= {track.uid, seq.uid, *(c.uid for c in comps)}
    added = [
        s for e in clip for s in _new_track(seed, where, e, (e.file_package, e.file_track_id) if material else None)
    ]
    at = max(i for i, s in enumerate(h.sets) if s is package) + 1
    h.sets[at:at] = added
    h.sets[:] = [s for s in h.sets if s.uid not in drop]
    package.put(0x4403, ref_array(keep + [s.uid for s in added if s.key == TRACK]))


def _rebuild(h: HeaderMetadata, own: Essence, clip: list[Essence], *, seed: bytes, stamp: bytes, version: str) -> None:
    material, file_package, tape = _packages(h)
    h.primer.setdefault(TRACK_NAME_TAG, TRACK_NAME_UL)
    _replace_tracks(h, material, "material", clip, seed, material=True)
    if tape is not None:
        _replace_tracks(h, tape, "tape", clip, seed, material=False)
        for _t, seq, comps in _tracks(h, file_package):  # the file's essence is its own track of the tape
            if seq.get(0x0201) in (PICTURE, SOUND):
                for c in comps:
                    c.put(0x1102, _u32(_track_id(own)))
    for package in (material, file_package, tape):
        if package is not None:
            package.put(0x4405, stamp)
            package.put(0x4404, stamp)
    for s in h.sets:
        if s.key == PREFACE:
            s.put(0x3B02, stamp)
            if own.data_def == SOUND:
                s.put(0x3B0A, (s.get(0x3B0A) or b"").replace(BWF_FRAME, BWF_CLIP))
        elif s.key == IDENTIFICATION:
            s.put(0x3C01, _utf16(COMPANY))
            s.put(0x3C02, _utf16(PRODUCT))
            s.put(0x3C03, _product_version(version))
            s.put(0x3C04, _utf16(version))
            s.put(0x3C06, stamp)
        elif own.data_def == SOUND and s.get(0x3004) == BWF_FRAME:  # the sound descriptor
            s.put(0x3004, BWF_CLIP)
    if own.data_def == SOUND:
        for track, seq, _c in _tracks(h, file_package):
            number = track.get(0x4804) or b""
            if seq.get(0x0201) == SOUND and number[:1] == b"\x16":
                track.put(0x4804, number[:2] + b"\x02" + number[3:])  # element type: BWF clip-wrapped


def _product_version(version: str) -> bytes:
    """MXF ProductVersion: major, minor, patch, build, release (1 = released), u16 each."""
    parts = [int(p) if p.isdigit() else 0 for p in (version.split(".") + ["0", "0", "0"])[:3]]
    return b"".join(p.to_bytes(2, "big") for p in (*parts, 0, 1))


def _label_clip_wrapped(path: str) -> None:
    """Partition packs name BWF clip-wrapped, and the essence KLV's key says clip-wrapped (in place)."""
    with open(path, "r+b") as fh:
        fh.seek(0, 2)
        size = fh.tell()
        for _pos, key, vpos, n in list(iter_klvs(fh, 0, size)):
            if is_partition(key):
                fh.seek(vpos)
                pack = fh.read(n)
                fh.seek(vpos)
                fh.write(pack.replace(BWF_FRAME, BWF_CLIP))
            elif key.startswith(_BWF_ELEMENT) and key[14] == 0x01:
                fh.seek(_pos + 14)
                fh.write(b"\x02")
