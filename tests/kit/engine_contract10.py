"""FROZEN: a third-party engine written to the engine author's guide of contract 1.0
(docs/engine-authors.md at commit b7f6c91~1), kept as it was written so the conformance kit proves
that today's core still runs it. Do not modernise this file: a failure here is a compatibility
break of the core, to be fixed in the core.

It behaves like a HandBrake wrapper: H.264 in MP4 with AAC, and no timecode track (HandBrake cannot
write one), so it takes only sources without timecode. It uses exactly what the 1.0 guide taught:
the ``register_engines`` hook name, ``proxx_core.process.run_commands`` and
``proxx_core.verify.probe_and_compare`` in its own ``verify``.
"""

from __future__ import annotations

import functools
import subprocess
import threading
from pathlib import Path

from proxx_core import (
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
    Verification,
    hookimpl,
)
from proxx_core.avprobe import probe_file
from proxx_core.process import run_commands

PROFILES_MADE = ("offline_h264_1280x720",)
#: below FFmpeg's 10: it never takes a clip from an engine that can keep the timecode
SPECIFICITY = 5


@functools.cache
def _ffmpeg() -> tuple[str, str]:
    import imageio_ffmpeg

    path = str(Path(imageio_ffmpeg.get_ffmpeg_exe()).resolve())
    version = subprocess.run([path, "-version"], stdin=subprocess.DEVNULL, capture_output=True, timeout=30,
                             check=False).stdout.decode("utf-8", "replace")
    return path, (version.splitlines() or ["unknown"])[0]


class HandBrakeLikeEngine(Engine):
    name = "hb10"
    contract_version = "1.0"

    def identity(self) -> EngineIdentity:
        import hashlib

        path, line = _ffmpeg()
        with open(path, "rb") as fh:
            digest = hashlib.sha256(fh.read()).hexdigest()
        return EngineIdentity(name=self.name, version="1.0.0", build=line, binary=path, binary_sha256=digest)

    def capabilities(self) -> Capabilities:
        return Capabilities(available=True, profiles=PROFILES_MADE, reads=("mov", "mp4"),
                            notes=("no timecode track: takes sources without timecode only",))

    def probe(self, path: Path) -> SourceInfo | None:
        if Path(path).suffix.lower() not in (".mov", ".mp4"):
            return None
        try:
            return probe_file(path, probed_by=self.name)
        except ProxxError:
            raise
        except OSError as exc:
            raise ProxxError(f"{path}: {exc}", category="unsupported_source") from None

    def claim(self, info: SourceInfo, profile: Profile) -> Claim | Refusal:
        if profile.name not in PROFILES_MADE:
            return Refusal(reason=f"makes only {', '.join(PROFILES_MADE)}")
        if info.start_timecode is not None:
            return Refusal(reason="cannot write a timecode track")
        if info.video is None:
            return Refusal(reason="no video")
        return Claim(specificity=SPECIFICITY, reason="H.264 without timecode")

    def plan(self, request: ClipRequest) -> ClipPlan:
        ffmpeg, _ = _ffmpeg()
        info = request.source_info
        audio: list[str] = []
        for k, stream in enumerate(info.audio):
            audio += ["-map", f"0:a:{k}", f"-c:a:{k}", "aac", f"-ac:a:{k}", str(stream.channels),
                      f"-ar:a:{k}", "48000", f"-b:a:{k}", "128k"]
        argv = (ffmpeg, "-nostdin", "-hide_banner", "-nostats", "-loglevel", "warning", "-y",
                "-i", "file:" + request.source, "-map", "0:v:0", *audio, "-map_metadata", "-1",
                # the profile's BT.709 tags, set on the frames as the 1.0 guide's worked example does
                "-vf", f"scale={request.width}:{request.height}:flags=bicubic+bitexact+accurate_rnd"
                       f":out_color_matrix=bt709:out_range=tv,setsar=1,format=yuv420p"
                       f",setparams=color_primaries=bt709:color_trc=bt709:colorspace=bt709:range=tv",
                "-fps_mode", "passthrough", "-c:v", "libx264", "-profile:v", "high", "-preset", "veryfast",
                "-crf", "23", "-threads", "1", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
                "-fflags", "+bitexact", "-f", "mp4", "file:" + request.temp_path)
        return ClipPlan(request=request, engine=self.name,
                        commands=(Command(argv=argv, timeout_seconds=120.0, purpose="encode"),))

    def execute(self, plan: ClipPlan, cancel: threading.Event) -> tuple[CommandRecord, ...]:
        return run_commands(plan.commands, cancel)

    def verify(self, plan: ClipPlan) -> Verification:
        from proxx_core.verify import probe_and_compare

        return probe_and_compare(plan.request, probed_by=self.name)


@hookimpl
def register_engines(register):
    register(HandBrakeLikeEngine())
