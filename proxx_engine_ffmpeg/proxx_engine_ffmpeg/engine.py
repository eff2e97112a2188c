"""FFmpegEngine: the generic engine for everything the pinned FFmpeg build decodes."""

from __future__ import annotations

import os
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
    Layout,
    Profile,
    ProxxError,
    Refusal,
    SourceInfo,
    TogetherPlan,
)
from proxx_core.kit import ClipProgress, probe_file, run_commands

from . import __version__
from .binary import FFmpegBinary, inspect_binary
from .chunks import build_chunk_argv, build_join_argv
from .chunks import chunk_refusal as _chunk_refusal
from .commands import (
    PRORES_ENCODERS,
    _video_args,
    audio_temp_path,
    build_argv,
    build_audio_argv,
    needs_audio_pass,
    timeout_for,
)
from .opatom import build_opatom_argv, finish_clip
from .overlays import FONT_NAME, FONT_SHA256, look_file_paths, write_look_files
from .renditions import audio_files
from .renditions import plan_together as _plan_together

#: profile codec -> the encoder this engine uses for it
ENCODERS = {"h264": "libx264", "prores": "prores_ks", "dnxhr": "dnxhd"}
#: per-profile exceptions to ENCODERS (the ProRes encoder is chosen per profile)
#: profile container -> the muxer
MUXERS = {"mp4": "mp4", "mov": "mov", "mxf": "mxf"}
#: formats worth naming in `proxx engines` when the build reads them
NOTABLE_DECODERS = (
    "prores",
    "prores_raw",
    "dnxhd",
    "h264",
    "hevc",
    "mpeg2video",
    "mjpeg",
    "av1",
    "vp9",
    "dvvideo",
    "rawvideo",
    "v210",
    "cfhd",
)
NOTABLE_DEMUXERS = ("mov", "mp4", "mxf", "mpegts", "matroska", "avi", "mpeg")
MAX_AAC_CHANNELS = 8
GENERIC_SPECIFICITY = 10
#: JobSpec features applied (overlays.py): the CDL/LUT look and burn-in text with the shipped font
FEATURES = ("burn_in", "look")


def _encoder(profile: Profile) -> str:
    if profile.codec == "prores":
        return PRORES_ENCODERS[profile.codec_profile][0]
    return ENCODERS[profile.codec]


class FFmpegEngine(Engine):
    name = "ffmpeg"
    #: every proxy is tagged explicitly (the colour rule), so a missing tag is a failure
    tags_color_explicitly = True
    #: MXF OP-Atom (avid_mxf) with FFmpeg's mxf_opatom muxer, one file per track
    layouts = ("output_dir", "proxy_subfolder", "avid_mxf")
    #: setsar writes the source's pixel aspect for raster half/quarter
    keeps_pixel_aspect = True

    def _binary(self) -> FFmpegBinary:
        return inspect_binary()

    def identity(self) -> EngineIdentity:
        try:
            b = self._binary()
        except ProxxError:
            return EngineIdentity(name=self.name, version=__version__, build=None, binary=None, binary_sha256=None)
        return EngineIdentity(
            name=self.name, version=__version__, build=b.version_line, binary=b.path, binary_sha256=b.sha256
        )

    def capabilities(self) -> Capabilities:
        try:
            b = self._binary()
        except ProxxError as exc:
            return Capabilities(available=False, unavailable_reason=exc.message)
        profiles = tuple(
            sorted(p.name for p in PROFILES.values() if _encoder(p) in b.encoders and MUXERS[p.container] in b.muxers)
        )
        reads = tuple(
            sorted({d for d in NOTABLE_DECODERS if d in b.decoders} | {d for d in NOTABLE_DEMUXERS if d in b.demuxers})
        )
        notes = (
            f"{len(b.decoders)} decoders, {len(b.demuxers)} demuxers in this build",
            "x264 threads pinned to 4 for reproducible H.264; intra codecs bit-identical at any thread count",
            "bytes independent of the CPU's SIMD: DNxHR uses the integer DCT, AAC is encoded with SIMD off",
        )
        return Capabilities(available=True, profiles=profiles, reads=reads, notes=notes, features=FEATURES)

    def probe(self, path: Path) -> SourceInfo | None:
        info = probe_file(path, probed_by=self.name)
        if info.video is not None and info.video.codec == "prores_raw":
            info = attrs.evolve(info, is_raw=True, format_tag="prores_raw")
        return info

    def claim(self, info: SourceInfo, profile: Profile) -> Claim | Refusal:
        try:
            b = self._binary()
        except ProxxError as exc:
            return Refusal(reason=exc.message, category="engine_unavailable", specificity=GENERIC_SPECIFICITY)
        v = info.video
        if v is None:
            return Refusal(reason="no video stream")
        if v.codec not in b.decoders:
            hint = " (camera RAW? install proxx-engine-resolve)" if info.container == "mxf" else ""
            return Refusal(reason=f"this FFmpeg build cannot decode video codec {v.codec!r}{hint}")
        if _encoder(profile) not in b.encoders or MUXERS[profile.container] not in b.muxers:
            return Refusal(
                reason=f"this FFmpeg build lacks {_encoder(profile)} or the {profile.container} muxer",
                category="engine_unavailable",
                specificity=GENERIC_SPECIFICITY,
            )
        if profile.audio_codec == "aac":
            wide = [a.index for a in info.audio if a.channels > MAX_AAC_CHANNELS]
            if wide:
                return Refusal(
                    reason=(
                        f"audio stream(s) {wide} have more than {MAX_AAC_CHANNELS} channels, which "
                        f"AAC cannot carry; choose a ProRes or DNxHR profile"
                    )
                )
        return Claim(specificity=GENERIC_SPECIFICITY, reason=f"FFmpeg decodes {v.codec} in {info.container}")

    def plan(self, request: ClipRequest) -> ClipPlan:
        b = self._binary()
        commands = []
        if request.layout == Layout.AVID_MXF:
            argv = build_opatom_argv(b.path, request, _video_args(request))
            return ClipPlan(
                request=request,
                engine=self.name,
                commands=(
                    Command(argv=argv, timeout_seconds=timeout_for(request), purpose="ffmpeg encode (MXF OP-Atom)"),
                ),
            )
        if needs_audio_pass(request):
            commands.append(
                Command(
                    argv=build_audio_argv(b.path, request),
                    timeout_seconds=timeout_for(request),
                    purpose="ffmpeg audio encode",
                )
            )
        commands.append(
            Command(argv=build_argv(b.path, request), timeout_seconds=timeout_for(request), purpose="ffmpeg encode")
        )
        settings = {"font": FONT_NAME, "font_sha256": FONT_SHA256} if request.burn_in is not None else {}
        return ClipPlan(request=request, engine=self.name, commands=tuple(commands), settings=settings)

    def plan_together(self, plans: tuple[ClipPlan, ...]) -> TogetherPlan | None:
        """Renditions of one source from one decode (renditions.py, contract 1.3)."""
        return _plan_together(self.name, plans)

    def chunk_refusal(self, request: ClipRequest) -> str | None:
        """Contract 1.3 (optional): why this clip is never chunked by this engine, or None."""
        return _chunk_refusal(request)

    def plan_chunk(self, request: ClipRequest, first_frame: int, frame_count: int, path: str) -> ClipPlan:
        """Contract 1.3 (optional): frames [first_frame, first_frame + frame_count) to ``path`` (chunks.py)."""
        b = self._binary()
        seconds = frame_count / float(request.source_info.video.frame_rate.fraction)  # type: ignore[union-attr]
        # a chunk is one plain video file, whatever the clip's layout (OP-Atom is made by the join)
        chunk = attrs.evolve(request, temp_path=path, layout=Layout.OUTPUT_DIR, extra_outputs=())
        return ClipPlan(
            request=chunk,
            engine=self.name,
            commands=(
                Command(
                    argv=build_chunk_argv(b.path, request, first_frame, frame_count, path),
                    timeout_seconds=float(round(120 + 20 * seconds)),
                    purpose=f"ffmpeg encode (chunk from frame {first_frame})",
                ),
            ),
        )

    def plan_join(self, request: ClipRequest, chunk_paths: tuple[str, ...]) -> ClipPlan:
        """Contract 1.3 (optional): the chunks joined without re-encoding, the audio made once (chunks.py)."""
        b = self._binary()
        return ClipPlan(
            request=request,
            engine=self.name,
            commands=(
                Command(
                    argv=build_join_argv(b.path, request, _encoder(request.profile), chunk_paths),
                    timeout_seconds=timeout_for(request),
                    purpose="ffmpeg join (chunks copied, audio encoded)",
                ),
            ),
        )

    def execute(self, plan: ClipPlan, cancel: threading.Event, progress=None) -> tuple[CommandRecord, ...]:
        """``progress`` (optional, contract 1.1): given a ClipProgress for each block of the encode's
        ``-progress`` stream (the audio pass writes none). A TogetherPlan writes every member's files."""
        members = plan.members if isinstance(plan, TogetherPlan) else (plan,)
        on_block = None
        if progress is not None:
            video = plan.request.source_info.video
            frames, seconds = (video.frame_count if video else None), plan.request.source_info.duration_seconds

            def on_block(block: dict[str, str]) -> None:
                progress(ClipProgress.from_ffmpeg(block, frames=frames, seconds=seconds))

        audio = (
            audio_files(plan)
            if isinstance(plan, TogetherPlan)
            else ([audio_temp_path(plan.request)] if needs_audio_pass(plan.request) else [])
        )
        for path in audio:
            # FFmpeg truncates what it writes to (-y): a file already at the audio pass's name (a crashed
            # run's, or a hard link to a source) loses only this name, and FFmpeg creates a fresh file
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        try:
            for member in members:
                write_look_files(member.request)  # the saturation LUT, a plain copy of the show LUT (overlays.py)
            records = run_commands(plan.commands, cancel, progress=on_block)
            for member in members:
                if member.request.layout == Layout.AVID_MXF:  # package ids, one master clip across the files, dates
                    finish_clip(member.request, records)
            return records
        finally:
            # the audio pass's file never outlives the clip
            scratch = [*(p for m in members for p in look_file_paths(m.request).values()), *audio]
            for path in scratch:
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass
