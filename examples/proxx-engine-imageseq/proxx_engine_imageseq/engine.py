"""ImageSequenceEngine: a numbered still-image sequence becomes one clip, encoded by pinned FFmpeg.

Uses only proxx_core's public API: the Engine contract and its value types, the PyAV prober
and the safe command runner from ``proxx_core.kit``; the core verifies every output itself.
"""

from __future__ import annotations

import functools
import subprocess
import threading
from pathlib import Path

import attrs

from proxx_core import (
    PROFILES,
    Capabilities,
    Claim,
    ClipPlan,
    ClipRequest,
    Command,
    CommandRecord,
    Engine,
    EngineIdentity,
    Profile,
    ProxxError,
    Refusal,
    SourceInfo,
)
from proxx_core.kit import binary_sha256, probe_file, run_commands

from . import __version__
from .sequence import EXTENSIONS, count_frames, frame_rate, parse_name, timecode

#: a format specialist: beats FFmpeg's generic 10, which would read the first frame as a still
SPECIFICITY = 50
#: profile -> (encoder, its pinned arguments); DNxHR is left out (it needs 256x120 or larger)
ENCODERS = {
    "offline_h264_1280x720": ("libx264", ("-profile:v", "high", "-preset", "veryfast", "-crf", "23", "-threads", "4")),
    "offline_h264_1920x1080": ("libx264", ("-profile:v", "high", "-preset", "veryfast", "-crf", "23", "-threads", "4")),
    "offline_prores_lt_1920x1080": ("prores_ks", ("-profile:v", "1", "-vendor", "apl0", "-threads", "2")),
    "offline_prores_proxy_1920x1080": ("prores_ks", ("-profile:v", "0", "-vendor", "apl0", "-threads", "2")),
}


@attrs.frozen(kw_only=True)
class FFmpeg:
    path: str
    sha256: str
    version_line: str
    decoders: frozenset[str]
    encoders: frozenset[str]
    muxers: frozenset[str]


def _listing(path: str, what: str) -> frozenset[str]:
    out = subprocess.run(
        [path, "-hide_banner", what], stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False
    ).stdout.decode("utf-8", "replace")
    body = out.split("--\n", 1)[-1]  # names follow a dashed separator line
    return frozenset(
        word for line in body.splitlines() if len(line.split()) >= 2 for word in line.split()[1].split(",")
    )


@functools.cache
def ffmpeg() -> FFmpeg:
    """The pinned FFmpeg from imageio-ffmpeg, fingerprinted once per process."""
    import imageio_ffmpeg

    path = str(Path(imageio_ffmpeg.get_ffmpeg_exe()).resolve())
    version = subprocess.run(
        [path, "-version"], stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False
    ).stdout.decode("utf-8", "replace")
    return FFmpeg(
        path=path,
        sha256=binary_sha256(path),
        version_line=(version.splitlines() or ["unknown"])[0],
        decoders=_listing(path, "-decoders"),
        encoders=_listing(path, "-encoders"),
        muxers=_listing(path, "-muxers"),
    )


class ImageSequenceEngine(Engine):
    name = "imageseq"

    def identity(self) -> EngineIdentity:
        try:
            b = ffmpeg()
        except (ImportError, OSError, RuntimeError, subprocess.SubprocessError):
            return EngineIdentity(name=self.name, version=__version__)
        return EngineIdentity(
            name=self.name, version=__version__, build=b.version_line, binary=b.path, binary_sha256=b.sha256
        )

    def capabilities(self) -> Capabilities:
        try:
            b = ffmpeg()
        except (ImportError, OSError, RuntimeError, subprocess.SubprocessError) as exc:
            return Capabilities(
                available=False,
                unavailable_reason=(f"the pinned FFmpeg cannot run ({exc}); reinstall proxx-engine-imageseq"),
            )
        profiles = tuple(
            sorted(
                name
                for name, (encoder, _) in ENCODERS.items()
                if encoder in b.encoders and PROFILES[name].container in b.muxers
            )
        )
        reads = tuple(sorted({d for d in EXTENSIONS.values() if d in b.decoders}))
        return Capabilities(
            available=True,
            profiles=profiles,
            reads=reads,
            notes=(
                "source = first frame of a numbered run (shot_1001.dpx); 24 fps unless <prefix>.proxx.json "
                'says {"frame_rate": "num/den"}; start timecode = first frame number at that rate',
            ),
        )

    def probe(self, path: Path) -> SourceInfo | None:
        seq = parse_name(str(path))
        if seq is None:
            return None  # not a numbered image: not ours
        still = probe_file(path, probed_by=self.name)  # codec, raster, pixel format of the first frame
        if still.video is None or still.video.codec != EXTENSIONS[seq.ext.lower()]:
            raise ProxxError(f"{path}: not a readable {seq.ext} image", category="unsupported_source")
        rate, frames = frame_rate(seq), count_frames(seq)
        video = attrs.evolve(still.video, frame_rate=rate, frame_count=frames, field_order="progressive")
        return SourceInfo(
            container="imageseq",
            format_tag=video.codec,
            video=video,
            audio=(),
            start_timecode=timecode(seq.first, rate),
            duration_seconds=round(frames * rate.den / rate.num, 6),
            probed_by=self.name,
        )

    def claim(self, info: SourceInfo, profile: Profile) -> Claim | Refusal:
        if info.container != "imageseq" or info.video is None:
            return Refusal(reason="not a numbered image sequence")
        caps = self.capabilities()
        if not caps.available:
            return Refusal(reason=caps.unavailable_reason, category="engine_unavailable")
        if profile.name not in caps.profiles:
            return Refusal(reason=f"makes only {', '.join(caps.profiles)}")
        v = info.video
        return Claim(
            specificity=SPECIFICITY,
            reason=f"{v.frame_count} {v.codec} frames at {v.frame_rate} fps from {info.start_timecode}",
        )

    def plan(self, request: ClipRequest) -> ClipPlan:
        seq = parse_name(request.source)
        v, p = request.source_info.video, request.profile
        encoder, encoder_args = ENCODERS[p.name]
        gop = ("-g", str(v.frame_rate.nominal)) if encoder == "libx264" else ()  # one keyframe a second
        scale = (
            f"scale={request.width}:{request.height}:flags=bicubic+bitexact+accurate_rnd"
            f":out_color_matrix=bt709:out_range=tv,setsar=1,format={p.pix_fmt}"
            # encoders take colour tags from the frames: tag them BT.709 there
            ",setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv"
        )
        argv = (
            ffmpeg().path,
            "-nostdin",
            "-hide_banner",
            "-nostats",
            "-loglevel",
            "warning",
            "-xerror",
            "-y",
            "-framerate",
            str(v.frame_rate),
            "-start_number",
            str(seq.first),
            "-start_number_range",
            "1",
            "-f",
            "image2",
            "-i",
            "file:" + seq.pattern,
            "-frames:v",
            str(v.frame_count),
            "-map",
            "0:v:0",
            "-map_metadata",
            "-1",
            "-an",
            "-vf",
            scale,
            "-fps_mode",
            "passthrough",
            "-c:v",
            encoder,
            *encoder_args,
            *gop,
            "-pix_fmt",
            p.pix_fmt,
            "-flags:v",
            "+bitexact",
            "-metadata:s:v:0",
            f"timecode={request.source_info.start_timecode}",
            "-fflags",
            "+bitexact",
            "-f",
            p.container,
            "file:" + request.temp_path,
        )
        timeout = 60.0 + 0.5 * v.frame_count
        return ClipPlan(
            request=request,
            engine=self.name,
            commands=(Command(argv=argv, timeout_seconds=timeout, purpose="ffmpeg encode"),),
        )

    def execute(self, plan: ClipPlan, cancel: threading.Event) -> tuple[CommandRecord, ...]:
        return run_commands(plan.commands, cancel)
