"""Simulated camera-RAW source files for tests.

A simulated source carries a *real* RAW signature at the start (so :mod:`proxx_engine_resolve.detect`
treats it exactly like a camera file) followed by a small JSON manifest that stands in for
Resolve's decoder: the simulator reads frame rate, frame count, timecode, raster and audio from it
and reports them through ``MediaPoolItem.GetClipProperty()``. Real Resolve would reject these files;
only the simulator reads the manifest.
"""

from __future__ import annotations

import json
import struct
from fractions import Fraction
from pathlib import Path

MARKER = b"PROXXSIM1"


def _qt_with_sample_entry(fourcc: bytes, brand: bytes = b"qt  ") -> bytes:
    ftyp = struct.pack(">I", 20) + b"ftyp" + brand + struct.pack(">I", 0) + brand
    stsd = struct.pack(">I", 32) + b"stsd" + struct.pack(">II", 0, 1) + struct.pack(">I", 16) + fourcc + bytes(4)
    moov = struct.pack(">I", 8 + len(stsd)) + b"moov" + stsd
    return ftyp + moov


def _mxf_header(essence_container_ul: bytes, company: str) -> bytes:
    key = bytes.fromhex("060e2b34020501010d01020101020400")
    fixed = struct.pack(">HHI", 1, 3, 1) + bytes(8 * 5) + struct.pack(">I", 0) + bytes(8) + struct.pack(">I", 1)
    fixed += bytes.fromhex("060e2b34040101010d01020101010900")  # OP1a
    batch = struct.pack(">II", 1, 16) + essence_container_ul
    value = fixed + batch
    pack = key + b"\x83" + len(value).to_bytes(3, "big") + value
    # a stand-in for the Identification set's CompanyName (UTF-16BE, as MXF stores strings)
    ident = bytes.fromhex("060e2b34025301010d01010101013000") + b"\x83\x00\x00\x20" + company.encode("utf-16-be")
    return pack + ident


def _dng_header() -> bytes:
    # little-endian TIFF, IFD0 at 8 with one entry: DNGVersion (50706), BYTE x4 = 1.4.0.0
    return (
        b"II*\x00"
        + struct.pack("<I", 8)
        + struct.pack("<H", 1)
        + struct.pack("<HHI", 50706, 1, 4)
        + bytes([1, 4, 0, 0])
        + struct.pack("<I", 0)
    )


HEADERS = {
    "r3d": lambda: struct.pack(">I", 0x100) + b"RED2" + bytes(56),
    "braw": lambda: _qt_with_sample_entry(b"brxq"),
    "prores_raw": lambda: _qt_with_sample_entry(b"aprn"),
    "ari": lambda: b"\x12\x34\x56\x78" + bytes(60),
    "mxf_arriraw": lambda: _mxf_header(bytes.fromhex("060e2b340401010d0d010301021d0100"), "ARRI"),
    "mxf_xocn": lambda: _mxf_header(bytes.fromhex("060e2b340401010c0e060d0302010100"), "Sony"),
    "crm": lambda: struct.pack(">I", 20) + b"ftyp" + b"crx " + struct.pack(">I", 1) + b"crx ",
    "dng": _dng_header,
    "nev": lambda: bytes(64),
}

CLIP_FORMAT = {
    "r3d": ("RED", "RED"),
    "braw": ("BRAW", "Blackmagic RAW"),
    "prores_raw": ("QuickTime", "Apple ProRes RAW"),
    "ari": ("ARRIRAW", "ARRIRAW"),
    "mxf_arriraw": ("MXF", "ARRIRAW"),
    "mxf_xocn": ("MXF", "Sony X-OCN"),
    "crm": ("Canon RAW", "Cinema RAW Light"),
    "dng": ("CinemaDNG", "CinemaDNG"),
    "nev": ("N-RAW", "N-RAW"),
}


def write_raw_source(
    path: Path | str,
    kind: str,
    *,
    width: int = 64,
    height: int = 36,
    frame_rate: str = "24000/1001",
    frames: int = 5,
    start_timecode: str = "01:00:00:00",
    audio_channels: int = 2,
    sample_rate: int = 48000,
    par: str = "Square",
) -> Path:
    """Write a simulated RAW clip: signature header for ``kind`` + manifest the simulator decodes."""
    path = Path(path)
    manifest = {
        "kind": kind,
        "width": width,
        "height": height,
        "frame_rate": frame_rate,
        "frames": frames,
        "start_timecode": start_timecode,
        "audio_channels": audio_channels,
        "sample_rate": sample_rate,
        "par": par,
    }
    path.write_bytes(HEADERS[kind]() + b"\n" + MARKER + json.dumps(manifest, sort_keys=True).encode())
    return path


def read_manifest(path: Path | str) -> dict | None:
    try:
        with open(path, "rb") as fh:
            data = fh.read(1 << 20)
    except OSError:
        return None
    i = data.rfind(MARKER)
    if i < 0:
        return None
    try:
        return json.loads(data[i + len(MARKER) :])
    except ValueError:
        return None


def clip_properties(path: Path | str, manifest: dict) -> dict:
    """What Resolve's GetClipProperty() would report (strings, except FPS: float)."""
    rate = Fraction(manifest["frame_rate"])
    frames = int(manifest["frames"])
    tc = manifest.get("start_timecode") or "00:00:00:00"
    ch = int(manifest.get("audio_channels") or 0)
    fmt, vcodec = CLIP_FORMAT.get(manifest.get("kind"), ("Unknown", "Unknown"))  # type: ignore[arg-type]  # None: the default
    p = Path(path)
    return {
        "File Path": str(p),
        "File Name": p.name,
        "Clip Name": p.name,
        "Resolution": f"{manifest['width']}x{manifest['height']}",
        "PAR": manifest.get("par", "Square"),
        "Bit Depth": "12",
        "FPS": float(rate),
        "Frames": str(frames),
        "Start": "0",
        "End": str(frames - 1),
        "Start TC": tc,
        "Drop frame": "1" if ";" in tc else "0",
        "Field Dominance": "Auto",
        "Audio Ch": str(ch),
        "Sample Rate": str(manifest.get("sample_rate", 48000)) if ch else "",
        "Audio Bit Depth": "24" if ch else "",
        "Audio Codec": "Linear PCM" if ch else "",
        "Format": fmt,
        "Video Codec": vcodec,
        "Type": "Video + Audio" if ch else "Video",
        "Online Status": "Online",
        "Proxy": "None",
        "Proxy Media Path": "",
    }
