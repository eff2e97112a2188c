"""The Resolve engine: camera RAW -> ProRes/DNxHR proxies rendered by DaVinci Resolve Studio.

How the pieces fit:

* ``probe`` recognises RAW by signature/structure (:mod:`.detect`) without Resolve. When Resolve is
  available it then asks the supervised worker to import the clip into the engine's idle project and
  report ``MediaPoolItem.GetClipProperty()``: frame rate, frame count, start timecode, raster and
  audio come from Resolve's own decoder, and verification later compares the rendered file
  against exactly those. When Resolve is not available, ``probe`` still says "this is RAW"
  (``is_raw=True``, no video details) and ``claim`` refuses with ``engine_unavailable`` and the
  precise reason, so the job fails validation naming Resolve and the fix.
* ``plan`` is pure: one worker command per clip, every render setting in its argv.
* ``execute`` runs that command through :mod:`.supervisor` (per-call and per-render deadlines,
  node lock); the worker renders into a scratch directory outside ``output_dir`` and moves the
  single file it produced to ``request.temp_path``.
* the core verifies the rendered file itself (PyAV probe, the relink rules; the engine declares
  the audio layouts Resolve may write): Resolve's "Complete" is never trusted on its own.
"""

from __future__ import annotations

import os
import sys
import threading
from fractions import Fraction
from pathlib import Path
from typing import Any

from proxx_core import (
    AudioInfo,
    Capabilities,
    Claim,
    ClipFailure,
    ClipPlan,
    ClipRequest,
    Command,
    CommandRecord,
    Engine,
    EngineIdentity,
    FrameRate,
    ProxxError,
    Refusal,
    SourceInfo,
    VideoInfo,
)
from proxx_core.kit import ClipProgress, binary_sha256, normalise_timecode

from . import __version__
from .detect import detect_raw
from .renderspec import TARGETS, exact_rate

READS = ("arriraw", "arriraw_hde", "braw", "canon_raw", "cinemadng", "nraw", "prores_raw", "r3d", "x-ocn")
RAW_SPECIFICITY = 100
SUPPORTED_PROFILES = tuple(sorted(TARGETS))

FREE_VS_STUDIO = (
    "DaVinci Resolve Studio is required: the free edition refuses external scripting "
    "(scriptapp() returns None) and, from 21.1, all Python scripting"
)


def _scratch_root() -> Path:
    import tempfile  # when a Resolve clip is planned: not loaded (and the temp folder not probed) by every command

    uid = os.getuid() if hasattr(os, "getuid") else os.environ.get("USERNAME", "user")
    return Path(tempfile.gettempdir(), f"proxx-resolve-{uid}", "scratch")


class ResolveEngine(Engine):
    name = "resolve"
    #: no render-settings key controls the layout of Resolve's audio: depending on the build it writes
    #: one multichannel stream or one mono stream per channel; the channel total is still checked
    audio_layouts = ("source", "single_stream", "mono_per_channel")

    def __init__(
        self,
        *,
        backend: str = "resolve",
        scenario: str | os.PathLike | None = None,
        call_timeout: float = 60.0,
        render_timeout: float | None = None,
        check_timeout: float = 30.0,
        probe_timeout: float = 120.0,
        poll_seconds: float = 0.5,
        scratch_dir: str | os.PathLike | None = None,
        lock_path: str | os.PathLike | None = None,
        python: str | None = None,
        notes: tuple[str, ...] = (),
    ):
        if backend not in ("resolve", "simulator"):
            raise ValueError(f"unknown Resolve backend {backend!r}")
        if backend == "simulator" and not scenario:
            raise ValueError("the simulator backend needs a scenario file")
        self.backend = backend
        self.scenario = str(Path(scenario).resolve()) if scenario else None
        self.call_timeout = float(call_timeout)
        self.render_timeout = render_timeout
        self.check_timeout = float(check_timeout)
        self.probe_timeout = float(probe_timeout)
        self.poll_seconds = float(poll_seconds)
        self._scratch_dir = Path(scratch_dir) if scratch_dir else None
        self.lock_path = Path(lock_path) if lock_path else None
        self.python = python or sys.executable
        self._extra_notes = tuple(notes)
        self._lock = threading.Lock()
        self._caps: Capabilities | None = None
        self._check: dict | None = None
        self._probe_cache: dict[tuple, SourceInfo] = {}
        #: the WorkerRun of the last child process (tests and diagnostics)
        self.last_run = None

    @property
    def scratch_dir(self) -> Path:
        """Where renders are made: ``scratch_dir`` as given, else a folder of this user's under the
        system temp folder (found when first needed)."""
        if self._scratch_dir is None:
            self._scratch_dir = _scratch_root()
        return self._scratch_dir

    # ------------------------------------------------------------------ construction from env

    @classmethod
    def from_environment(cls, environ=None) -> ResolveEngine:
        """The engine the entry point registers. The simulator only with BOTH variables set."""
        env = os.environ if environ is None else environ
        kwargs: dict[str, Any] = {}
        for var, key in (
            ("PROXX_RESOLVE_CALL_TIMEOUT", "call_timeout"),
            ("PROXX_RESOLVE_RENDER_TIMEOUT", "render_timeout"),
            ("PROXX_RESOLVE_CHECK_TIMEOUT", "check_timeout"),
            ("PROXX_RESOLVE_PROBE_TIMEOUT", "probe_timeout"),
        ):
            if env.get(var):
                kwargs[key] = float(env[var])
        if env.get("PROXX_RESOLVE_SCRATCH"):
            kwargs["scratch_dir"] = env["PROXX_RESOLVE_SCRATCH"]
        scenario = env.get("PROXX_RESOLVE_SIMULATOR")
        if scenario and env.get("PROXX_RESOLVE_ALLOW_SIMULATOR") == "1":
            return cls(backend="simulator", scenario=scenario, **kwargs)
        notes: tuple[str, ...] = ()
        if scenario:
            notes = (
                "PROXX_RESOLVE_SIMULATOR is set but ignored: the simulator is test-only and needs "
                "PROXX_RESOLVE_ALLOW_SIMULATOR=1 as well",
            )
        return cls(notes=notes, **kwargs)

    # ------------------------------------------------------------------ worker plumbing

    def _worker_argv(self, command: str, *extra: str, call_timeout: float | None = None) -> tuple[str, ...]:
        argv = [self.python, "-m", "proxx_engine_resolve.worker", command, "--backend", self.backend]
        if self.backend == "simulator":
            argv += ["--scenario", self.scenario]  # type: ignore[list-item]  # the simulator always has a scenario
        argv += ["--call-timeout", f"{call_timeout or self.call_timeout:g}"]
        return tuple(argv) + tuple(extra)

    def _run(self, argv, timeout, cancel=None, on_progress=None):
        from .supervisor import run_worker

        run = run_worker(argv, timeout=timeout, cancel=cancel, lock_path=self.lock_path, on_progress=on_progress)
        self.last_run = run
        return run

    # ------------------------------------------------------------------ identity / capabilities

    def identity(self) -> EngineIdentity:
        self.capabilities()  # fills self._check: edition and version of the Resolve that answers
        binary = None
        if self.backend == "simulator":
            from .simulator import fake

            binary = fake.__file__
            build = "Proxx Resolve SIMULATOR (not DaVinci Resolve)"
            if self._check:
                build += f" pretending {self._check.get('product')} {self._check.get('version_string')}"
        else:
            from .discovery import find_library

            binary = find_library().library
            build = (
                f"{self._check.get('product')} {self._check.get('version_string')}"
                if self._check
                else "DaVinci Resolve (not available on this node; see capabilities)"
            )
        return EngineIdentity(
            name=self.name,
            version=__version__,
            build=build,
            binary=binary,
            binary_sha256=_sha256(binary) if binary else None,
        )

    def capabilities(self) -> Capabilities:
        with self._lock:
            if self._caps is None:
                self._caps = self._detect_capabilities()
            return self._caps

    def _detect_capabilities(self) -> Capabilities:
        notes = list(self._extra_notes)
        if self.backend == "simulator":
            notes.append("SIMULATOR backend (tests only): renders are fakes written by FFmpeg, not DaVinci Resolve")
        else:
            from .discovery import find_library, not_installed_reason

            d = find_library()
            if not d.library and not d.script_api:
                return Capabilities(
                    available=False, unavailable_reason=not_installed_reason(d), notes=tuple(notes + [FREE_VS_STUDIO])
                )
        run = self._run(self._worker_argv("check"), timeout=self.check_timeout)
        if not run.ok:
            reason = _run_failure_text(run, "checking DaVinci Resolve")
            return Capabilities(available=False, unavailable_reason=reason, notes=tuple(notes + [FREE_VS_STUDIO]))
        data = run.result["data"]
        self._check = data
        profiles = tuple(p for p in data.get("profiles", ()) if p in TARGETS)
        notes += [
            f"{data.get('product')} {data.get('version_string')} (Studio: {'yes' if data.get('studio') else 'no'})",
            f"database: {data.get('database', {}).get('DbName', '?')}",
            FREE_VS_STUDIO,
            f"one render at a time per node; per-call deadline {self.call_timeout:g} s, hung calls kill the worker",
        ]
        missing = sorted(set(SUPPORTED_PROFILES) - set(profiles))
        if missing:
            notes.append(f"this Resolve does not offer the codecs for: {', '.join(missing)}")
        if not profiles:
            return Capabilities(
                available=False,
                notes=tuple(notes),
                unavailable_reason="DaVinci Resolve answered but offers none of the ProRes/DNxHR "
                "render codecs Proxx needs",
            )
        return Capabilities(available=True, profiles=profiles, reads=READS, notes=tuple(notes))

    # ------------------------------------------------------------------ probe / claim

    def probe(self, path: Path) -> SourceInfo | None:
        det = detect_raw(path)
        if det is None:
            return None
        caps = self.capabilities()
        if not caps.available:
            return SourceInfo(container=det.container, is_raw=True, format_tag=det.format_tag, probed_by=self.name)
        st = Path(path).stat()
        key = (str(path), st.st_size, st.st_mtime_ns)
        if key in self._probe_cache:
            return self._probe_cache[key]
        # probed inside the engine's idle project: no project of its own, no switch (worker.cmd_probe)
        run = self._run(self._worker_argv("probe", "--source", str(Path(path).resolve())), timeout=self.probe_timeout)
        if not run.ok:
            text = _run_failure_text(run, f"probing {path} with DaVinci Resolve")
            category = (run.result or {}).get("category")
            raise ProxxError(
                text, category="unsupported_source" if category == "unsupported_source" else "engine_unavailable"
            )
        info = source_info_from_properties(run.result["data"]["properties"], det, probed_by=self.name)
        self._probe_cache[key] = info
        return info

    def claim(self, info: SourceInfo, profile) -> Claim | Refusal:
        if not info.is_raw:
            return Refusal(reason=f"not camera RAW; the Resolve engine only renders RAW formats ({', '.join(READS)})")
        if profile.name not in TARGETS:
            return Refusal(
                reason=f"the Resolve engine makes only {', '.join(SUPPORTED_PROFILES)}; "
                f"{profile.name} cannot be made from camera RAW ({info.format_tag}) here"
            )
        caps = self.capabilities()
        if not caps.available:
            return Refusal(
                category="engine_unavailable",
                specificity=RAW_SPECIFICITY,
                reason=f"camera RAW ({info.format_tag}) needs DaVinci Resolve Studio, which is not usable "
                f"on this node: {caps.unavailable_reason}",
            )
        refusal = self._version_refusal(info)
        if refusal is not None:
            return refusal
        if profile.name not in caps.profiles:
            return Refusal(
                category="engine_unavailable",
                reason=f"this DaVinci Resolve does not offer the render codec for {profile.name}",
            )
        if info.video is None or info.probed_by != self.name:
            return Refusal(
                category="engine_unavailable",
                reason="the source was not probed through DaVinci Resolve, so its frame rate and length are unknown",
            )
        return Claim(
            specificity=RAW_SPECIFICITY,
            reason=f"camera RAW ({info.format_tag}) decoded and rendered by DaVinci Resolve",
        )

    def _version_refusal(self, info: SourceInfo) -> Refusal | None:
        """CinemaDNG is imported with ImportMedia's sequence dict form, which the 17.0 README lacks."""
        from .worker import CINEMADNG_MIN_VERSION

        if (info.format_tag or "").split("@")[0] != "cinemadng" or not self._check:
            return None
        try:
            have = tuple(int(x) for x in self._check.get("version", [])[:2])
        except (TypeError, ValueError):
            have = ()
        if len(have) == 2 and have >= CINEMADNG_MIN_VERSION:
            return None
        need = ".".join(str(x) for x in CINEMADNG_MIN_VERSION)
        return Refusal(
            category="engine_unavailable",
            reason=f"CinemaDNG needs DaVinci Resolve Studio {need} or newer (image-sequence import); this "
            f"node runs {self._check.get('product')} {self._check.get('version_string')}. Upgrade "
            "Resolve, or render CinemaDNG on a node that has it",
        )

    # ------------------------------------------------------------------ plan / execute / verify

    def _render_timeout(self, request: ClipRequest) -> float:
        if self.render_timeout is not None:
            return float(self.render_timeout)
        frames = (request.source_info.video.frame_count or 0) if request.source_info.video else 0
        return float(max(600, 2 * frames))  # at least 10 min; RAW debayer at >= 0.5 fps worst case

    def plan(self, request: ClipRequest) -> ClipPlan:
        info = request.source_info
        video = info.video
        if video is None or video.frame_count is None:
            raise ProxxError(
                f"{request.source}: frame rate and frame count unknown (not probed through Resolve)",
                category="engine_unavailable",
            )
        target = TARGETS[request.profile.name]
        import hashlib  # planning a Resolve clip: not loaded for every start of the engine

        digest = hashlib.sha256(f"{request.source}\0{request.temp_path}\0{request.profile.name}".encode()).hexdigest()[
            :16
        ]
        project = f"proxx_{digest}"
        scratch = self.scratch_dir / project
        channels = info.audio[0].channels if info.audio else 0
        render_timeout = self._render_timeout(request)
        extra = [
            "--source",
            request.source,
            "--project",
            project,
            "--temp-path",
            request.temp_path,
            "--scratch-dir",
            str(scratch),
            "--format",
            target.format_id,
            "--codec",
            target.codec_id,
            "--extension",
            target.extension,
            "--width",
            str(request.width),
            "--height",
            str(request.height),
            "--frame-rate",
            str(video.frame_rate),
            "--frames",
            str(video.frame_count),
            "--audio-channels",
            str(channels),
            "--render-timeout",
            f"{render_timeout:g}",
            "--poll-seconds",
            f"{self.poll_seconds:g}",
        ]
        if info.drop_frame:
            extra.append("--drop-frame")
        sample_rate = (target.audio_sample_rate or info.audio[0].sample_rate) if channels else None
        if sample_rate:
            # always explicit: a sticky Deliver page would otherwise pick the rate (issue 16)
            extra += ["--audio-sample-rate", str(sample_rate)]
        argv = self._worker_argv("render", *extra)
        timeout = render_timeout + 40 * self.call_timeout
        settings = {
            "backend": self.backend,
            "project": project,
            "scratch_dir": str(scratch),
            "render_mode": "individual clips (0)",
            "format": target.format_id,
            "codec": target.codec_id,
            "width": request.width,
            "height": request.height,
            "frame_rate": str(video.frame_rate),
            "frames": video.frame_count,
            "start_timecode": info.start_timecode,
            "audio_channels": channels,
            "audio_bit_depth": target.audio_bit_depth,
            "audio_sample_rate": sample_rate,
            "call_timeout_seconds": self.call_timeout,
            "render_timeout_seconds": render_timeout,
        }
        return ClipPlan(
            request=request,
            engine=self.name,
            settings=settings,
            commands=(Command(argv=argv, timeout_seconds=timeout, purpose="render"),),
        )

    def execute(self, plan: ClipPlan, cancel: threading.Event, progress=None) -> tuple[CommandRecord, ...]:
        """``progress`` (optional, contract 1.1): given Resolve's render CompletionPercentage."""
        cmd = plan.commands[0]
        on_progress = None
        if progress is not None:

            def on_progress(percent: float) -> None:
                progress(ClipProgress(fraction=max(0.0, min(1.0, percent / 100)), final=percent >= 100))

        run = self._run(cmd.argv, timeout=cmd.timeout_seconds, cancel=cancel, on_progress=on_progress)
        record = CommandRecord(
            argv=run.argv,
            exit_code=run.exit_code,
            stderr_tail=run.stderr_tail,
            timing={"started_at": run.started_at, "seconds": run.seconds},
        )
        if run.ok:
            if on_progress is not None:
                on_progress(100.0)  # the worker reports progress while rendering, not the finish
            return (record,)
        if run.killed_for == "interrupted" or cancel.is_set():
            raise ClipFailure(
                f"interrupted: {run.kill_message or 'cancelled'}", category="interrupted", records=(record,)
            )
        if run.killed_for == "timeout":
            raise ClipFailure(f"DaVinci Resolve timed out: {run.kill_message}", category="timeout", records=(record,))
        result = run.result or {}
        category = result.get("category")
        message = _run_failure_text(run, "rendering with DaVinci Resolve")
        raise ClipFailure(message, category="timeout" if category == "timeout" else "engine_failed", records=(record,))


# ---------------------------------------------------------------------------------------- helpers


def _sha256(path: str) -> str | None:
    try:
        return binary_sha256(path)
    except OSError:
        return None


def _run_failure_text(run, doing: str) -> str:
    if run.killed_for:
        return f"{doing}: {run.kill_message}"
    if run.result and not run.result.get("ok"):
        return run.result.get("message") or f"{doing} failed"
    tail = run.stderr_tail.strip().splitlines()[-1:] or ["no output"]
    return f"{doing}: the worker exited {run.exit_code} without a result ({tail[0]})"


def source_info_from_properties(props: dict, det, *, probed_by: str) -> SourceInfo:
    """SourceInfo from ``MediaPoolItem.GetClipProperty()`` (strings, except FPS)."""
    try:
        width, height = (int(x) for x in str(props.get("Resolution", "")).lower().split("x"))
        rate = exact_rate(props["FPS"])
        frames = int(str(props.get("Frames") or "0"))
    except (KeyError, ValueError, TypeError) as exc:
        raise ProxxError(
            f"DaVinci Resolve reported unusable clip properties ({exc}): "
            f"Resolution={props.get('Resolution')!r} FPS={props.get('FPS')!r} "
            f"Frames={props.get('Frames')!r}",
            category="unsupported_source",
        ) from exc
    par = str(props.get("PAR") or "Square")
    sar = "1:1"
    if par.lower() not in ("square", "", "1", "1.0"):
        try:
            f = Fraction(par).limit_denominator(1000)
            sar = f"{f.numerator}:{f.denominator}"
        except ValueError:
            sar = {"cinemascope": "2:1", "anamorphic": "2:1"}.get(par.lower(), "1:1")
    tc = normalise_timecode(str(props.get("Start TC") or "")) or None
    if tc and str(props.get("Drop frame", "0")) == "1":
        tc = tc[:8] + ";" + tc[9:]
    try:
        bit_depth = int(str(props.get("Bit Depth") or "")) or None
    except ValueError:
        bit_depth = None
    video = VideoInfo(
        codec=str(props.get("Video Codec") or det.tag),
        width=width,
        height=height,
        bit_depth=bit_depth,
        sample_aspect=sar,
        frame_rate=FrameRate.parse(rate),
        frame_count=frames or None,
        field_order="progressive",
    )
    audio: tuple[AudioInfo, ...] = ()
    try:
        channels = int(str(props.get("Audio Ch") or "0"))
    except ValueError:
        channels = 0
    if channels > 0:
        try:
            sr = int(str(props.get("Sample Rate") or "48000"))
        except ValueError:
            sr = 48000
        audio = (
            AudioInfo(
                index=0,
                codec=str(props.get("Audio Codec") or "pcm").lower().replace(" ", "_"),
                channels=channels,
                sample_rate=sr,
            ),
        )
    return SourceInfo(
        container=det.container,
        is_raw=True,
        format_tag=det.format_tag,
        video=video,
        audio=audio,
        start_timecode=tc,
        duration_seconds=round(float(Fraction(frames) / rate), 6) if frames else None,
        probed_by=probed_by,
    )
