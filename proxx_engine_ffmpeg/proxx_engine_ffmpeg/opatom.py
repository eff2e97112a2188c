"""MXF OP-Atom for Avid (layout ``avid_mxf``): one ffmpeg run writing a video file and one file per
audio channel, then deterministic package ids.

FFmpeg's ``mxf_opatom`` muxer writes one essence per file, so one command has 1 + N outputs: the
video track, and each audio channel taken out of its stream by ``pan`` (a pure channel pick, no
mixing). Every file carries the start timecode (audio files at the video's edit rate), the tape
name (``reel_name``: FFmpeg writes a tape source package) and the clip name (material package name).

With ``-fflags +bitexact`` FFmpeg writes all-zero package UMIDs, so every clip of every job would
share one material package and Media Composer would take them for one clip. :func:`stamp_umids`
rewrites, in the header metadata sets only (never essence), the 15 material-number bytes of each
zero UMID: the material and tape packages get bytes derived from the clip (shared by all its files:
one master clip), each file package bytes derived from the clip and the file (its own media). The
bytes are a pure function of what the clip is, so the output stays deterministic.

FFmpeg then leaves each file describing only itself (one essence track per package);
:func:`finish_clip` numbers the UMIDs and has :mod:`.avidclip` rewrite every file's header metadata
into the whole master clip, as Avid writes it, on the temp files before the core verifies them.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from proxx_core import ClipRequest, CommandRecord
from proxx_core.kit import ZERO_TIMECODE, ClipFailure

if TYPE_CHECKING:
    import datetime as dt

#: SMPTE UMID label + length byte as FFmpeg writes it, then 3 instance bytes and 15 zero bytes
_UMID_LABEL = bytes.fromhex("060a2b340101010501010d0013")
_ZERO_TAIL = bytes(18)
#: header metadata sets (local sets) are the only KLVs that hold package UMIDs
_LOCAL_SET = bytes.fromhex("060e2b340253")
#: package type byte FFmpeg puts last: material, file source, tape source
_MATERIAL, _FILE, _TAPE = 0, 1, 2


def clip_name(req: ClipRequest) -> str:
    """Avid's clip (material package) name: the source's name without its extension."""
    return os.path.splitext(os.path.basename(req.source))[0]


def _common(req: ClipRequest) -> list[str]:
    info = req.source_info
    args = [
        "-map_metadata",
        "-1",
        "-map_chapters",
        "-1",
        "-metadata",
        f"timecode={info.start_timecode or ZERO_TIMECODE}",
        "-metadata",
        f"material_package_name={clip_name(req)}",
    ]
    if info.reel_name:
        args += ["-metadata", f"reel_name={info.reel_name}"]  # FFmpeg writes a tape source package
    return args


def build_opatom_argv(ffmpeg: str, req: ClipRequest, video_args: list[str]) -> list[str]:
    """One ffmpeg run, 1 + N OP-Atom outputs: ``req.temp_path`` (video) and each
    ``req.extra_outputs[k].temp_path`` (audio channel k+1)."""
    argv = [ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "warning", "-y", "-i", "file:" + req.source]
    return argv + opatom_outputs(req, video_args)


def opatom_outputs(req: ClipRequest, video_args: list[str], prefix: str = "") -> list[str]:
    """The clip's audio channel picks (a filter graph whose labels start with ``prefix``, so several
    clips' graphs can share one command) and its 1 + N outputs."""
    info = req.source_info
    argv: list[str] = []
    graph = []
    labels = []
    for k, t in enumerate(req.extra_outputs):
        label = f"{prefix}a{k + 1}"
        assert t.stream is not None  # audio targets always name their stream
        stream = info.audio[t.stream]
        graph.append(f"[0:a:{stream.index}]pan=mono|c0=c{t.channel}[{label}]")
        labels.append(label)
    if graph:
        # one input pad can feed one filter: split each stream as many times as it has channels
        graph = _split(graph, req, prefix)
        argv += ["-filter_complex", ";".join(graph)]
    argv += [
        "-map",
        "0:v:0",
        *_common(req),
        "-sn",
        "-dn",
        "-an",
        *video_args,
        "-fflags",
        "+bitexact",
        "-f",
        "mxf_opatom",
        "file:" + req.temp_path,
    ]
    assert info.video is not None  # routing refuses a source without video
    rate = str(info.video.frame_rate)
    for label, t in zip(labels, req.extra_outputs, strict=True):
        argv += [
            "-map",
            f"[{label}]",
            *_common(req),
            "-c:a",
            req.profile.audio_codec,
            "-ar",
            str(req.profile.audio_sample_rate or 48000),
            "-flags:a",
            "+bitexact",
            "-mxf_audio_edit_rate",
            rate,
            "-fflags",
            "+bitexact",
            "-f",
            "mxf_opatom",
            "file:" + t.temp_path,
        ]
    return argv


def _split(graph: list[str], req: ClipRequest, prefix: str = "") -> list[str]:
    """Rewrite per-channel pans so a stream with several channels is ``asplit`` first."""
    by_stream: dict[int, list[int]] = {}
    for k, t in enumerate(req.extra_outputs):
        assert t.stream is not None  # audio targets always name their stream
        by_stream.setdefault(t.stream, []).append(k)
    out = []
    for s, ks in by_stream.items():
        index = req.source_info.audio[s].index
        if len(ks) == 1:
            out.append(graph[ks[0]])
            continue
        out.append(f"[0:a:{index}]asplit={len(ks)}" + "".join(f"[{prefix}s{s}c{c}]" for c in range(len(ks))))
        for c, k in enumerate(ks):
            out.append(graph[k].replace(f"[0:a:{index}]", f"[{prefix}s{s}c{c}]", 1))
    return out


def clip_seed(req: ClipRequest) -> bytes:
    """What makes a clip itself, node-independent (names, not paths: a fleet maps paths)."""
    info = req.source_info
    v = info.video
    parts = [
        "proxx-opatom-umid-1",
        os.path.basename(req.source),
        os.path.basename(req.output_path),
        req.profile.name,
        f"{req.width}x{req.height}",
        info.start_timecode or "",
        info.reel_name or "",
        str(v.frame_rate) if v else "",
        str(v.frame_count if v else ""),
        str(info.duration_seconds),
    ]
    return _sha256("\0".join(parts).encode("utf-8"))


def clip_date(req: ClipRequest) -> dt.datetime:
    """The clip's creation date in its files: the source file's modification time (UTC, whole
    seconds). A property of the input, so reruns write the same bytes; Avid shows it as the clip's
    creation date, which for camera media is when the clip was recorded (or last copied with
    its times kept)."""
    import datetime as dt  # an Avid layout's own need: not loaded for every start of the engine

    return dt.datetime.fromtimestamp(int(os.stat(req.source).st_mtime), tz=dt.UTC)


def finish_clip(req: ClipRequest, records: tuple[CommandRecord, ...] = ()) -> None:
    """After FFmpeg: number the zero UMIDs, then make every file describe the whole master clip
    (:mod:`.avidclip`), on the temp files, before the core verifies them."""
    from . import __version__
    from .avidclip import rewrite_clip
    from .mxfklv import MxfLayoutError

    seed = clip_seed(req)
    paths = [req.temp_path, *(t.temp_path for t in req.extra_outputs)]
    stamp_umids(paths[0], seed, "V1")
    for k, path in enumerate(paths[1:], start=1):
        stamp_umids(path, seed, f"A{k}")
    try:
        rewrite_clip(paths, seed=seed, date=clip_date(req), version=__version__)
    except MxfLayoutError as exc:
        raise ClipFailure(
            f"the OP-Atom files FFmpeg wrote could not be made one Avid master clip: {exc}; this "
            f"FFmpeg's mxf_opatom output is not what Proxx knows (report it with the FFmpeg version)",
            category="engine_failed",
            records=records,
        ) from None


def _material_number(seed: bytes, label: str) -> bytes:
    return _sha256(seed + label.encode("utf-8"))[:15]


def _sha256(data: bytes) -> bytes:
    import hashlib  # an Avid layout's own need: OpenSSL is not loaded for every start of the engine

    return hashlib.sha256(data).digest()


def stamp_umids(path: str, seed: bytes, file_label: str) -> int:
    """Give the file's zero UMIDs their deterministic numbers; returns how many were rewritten.
    Walks the file's top-level KLVs and rewrites only inside header metadata sets."""
    shared = _material_number(seed, "clip")
    own = _material_number(seed, "file:" + file_label)
    count = 0
    with open(path, "r+b") as fh:
        size = os.fstat(fh.fileno()).st_size
        pos = 0
        while pos + 17 <= size:
            fh.seek(pos)
            head = fh.read(25)
            key, first = head[:16], head[16]
            n = first & 0x7F if first & 0x80 else 0
            length = int.from_bytes(head[17 : 17 + n], "big") if n else first
            start = pos + 17 + n
            if key.startswith(_LOCAL_SET) and length < (1 << 20):
                fh.seek(start)
                value = bytearray(fh.read(length))
                changed = _patch(value, shared, own)
                if changed:
                    fh.seek(start)
                    fh.write(value)
                    count += changed
            pos = start + length
    return count


def _patch(value: bytearray, shared: bytes, own: bytes) -> int:
    count = 0
    i = value.find(_UMID_LABEL)
    while i >= 0 and i + 32 <= len(value):
        tail = i + len(_UMID_LABEL)
        if bytes(value[tail : tail + 18]) == _ZERO_TAIL:
            kind = value[i + 31]
            number = own if kind == _FILE else shared
            value[tail + 3 : tail + 18] = number
            count += 1
        i = value.find(_UMID_LABEL, i + 1)
    return count
