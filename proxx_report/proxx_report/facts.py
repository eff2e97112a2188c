"""What the report says, read from the result's JSON data (docs/results.md) and nothing else.

Pure functions from the result to plain values the template prints: no clock, no host lookup, no
file access (thumbnails are :mod:`proxx_report.thumbnails`' job), so the same result gives the same
page. The few values that change on every run (:data:`TIME_FIELDS`) are printed inside
``<span class="proxx-time">`` by the template, so a rerun can be compared with them masked.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Mapping, Sequence
from fractions import Fraction
from typing import Any

import attrs

from proxx_core import FrameRate, Status
from proxx_core.kit import decisive_stderr_line, frames_to_timecode, timecode_is_drop_frame, timecode_to_frames

#: the values that differ between two runs of the same job (wall-clock times and what follows from
#: them); the template wraps each in <span class="proxx-time" data-field="NAME">
TIME_FIELDS = ("started_at", "finished_at", "time_taken", "speed")
#: statuses in the order the counts are shown (others follow, sorted)
STATUS_ORDER = (Status.COMPLETED, Status.SKIPPED, Status.FAILED)
DELIVERED = (Status.COMPLETED, Status.SKIPPED)
NLE_NAMES = {"resolve": "DaVinci Resolve", "premiere": "Premiere Pro", "avid": "Media Composer", "fcp": "Final Cut Pro"}


@attrs.frozen(kw_only=True)
class Relink:
    nle: str
    label: str
    ok: bool
    #: "name: expected A001_C001, got A001_C001_proxy (Resolve matches ...)" per failed required check
    reasons: tuple[str, ...]


@attrs.frozen(kw_only=True)
class ClipFacts:
    index: int
    name: str
    source_path: str
    reel: str
    start_timecode: str
    end_timecode: str
    duration: str
    rate: str
    raster: str
    codec: str
    audio: str
    status: str
    profile: str
    engine: str
    proxy_path: str | None
    #: the file to decode thumbnails from: the verified proxy (avid_mxf: its video file); None when
    #: the clip has no verified proxy
    proxy_video: str | None
    proxy_raster: str
    proxy_codec: str
    proxy_size: str
    proxy_sha256: str
    verification: str
    verification_ok: bool | None
    relink: tuple[Relink, ...]
    failure_category: str | None
    failure_message: str | None
    stderr_line: str | None
    #: JobSpec 1.2 renditions: which rendition of the source this entry is (None: a single-rendition job)
    rendition: str | None = None
    #: frame rate (exact) and start frame, for the contact sheet's timecodes
    frame_rate: FrameRate | None
    start_frame: int
    drop_frame: bool
    frames: int

    def timecode_at(self, frame: int) -> str:
        """The timecode of the proxy's frame ``frame`` (0-based)."""
        if self.frame_rate is None:
            return ""
        return frames_to_timecode(self.start_frame + frame, self.frame_rate, self.drop_frame)


@attrs.frozen(kw_only=True)
class JobFacts:
    job_id: str
    status: str
    exit_code: int | None
    proxx_version: str
    jobspec_sha256: str
    output_dir: str
    counts: tuple[tuple[str, int], ...]
    clip_total: int
    source_duration: str
    source_hours: str
    delivered_duration: str
    started_at: str
    finished_at: str
    time_taken: str
    speed: str
    nodes: tuple[str, ...]
    engines: tuple[tuple[str, str, str], ...]
    distributions: tuple[tuple[str, str], ...]
    profiles: tuple[str, ...]
    user_metadata: tuple[tuple[str, str], ...]
    sidecars: tuple[tuple[str, str], ...]


def _rate(info: Mapping[str, Any]) -> FrameRate | None:
    text = (info.get("video") or {}).get("frame_rate")
    try:
        return FrameRate.parse(str(text)) if text else None
    except (ValueError, ZeroDivisionError):
        return None


def rate_label(rate: FrameRate | None) -> str:
    """23.976, 25, 29.97: how editors say a rate (the exact ratio is in the result)."""
    if rate is None:
        return "–"
    return f"{float(rate.fraction):.3f}".rstrip("0").rstrip(".")


def clock(seconds: float | None) -> str:
    """H:MM:SS.s (tenths), for durations."""
    if seconds is None:
        return "–"
    tenths = round(float(seconds) * 10)
    h, rest = divmod(tenths, 36000)
    m, rest = divmod(rest, 600)
    return f"{h}:{m:02d}:{rest // 10:02d}.{rest % 10}"


def size_label(size: int | None) -> str:
    if size is None:
        return "–"
    value = float(size)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{size:,} B" if unit == "B" else f"{value:.1f} {unit} ({size:,} B)"
        value /= 1024
    raise AssertionError("unreachable")


def audio_label(audio: Sequence[Mapping[str, Any]] | None) -> str:
    """One entry per stream: "2 ch stereo pcm_s24le 48 kHz"; "none" without audio."""
    if not audio:
        return "none"
    parts = []
    for a in audio:
        rate = f" {a['sample_rate'] / 1000:g} kHz" if a.get("sample_rate") else ""
        layout = f" {a['layout']}" if a.get("layout") else ""
        parts.append(f"{a.get('channels') or '?'} ch{layout} {a.get('codec') or '?'}{rate}")
    return "; ".join(parts)


def _raster(info: Mapping[str, Any]) -> str:
    video = info.get("video") or {}
    return f"{video['width']}×{video['height']}" if video.get("width") and video.get("height") else "–"


def _codec(info: Mapping[str, Any]) -> str:
    video = info.get("video") or {}
    codec = video.get("codec") or "–"
    return f"{codec} {video['codec_profile']}" if video.get("codec_profile") else codec


def source_seconds(clip: Mapping[str, Any]) -> float:
    """How long the source runs (its probed duration, else frames / rate)."""
    info = (clip.get("source") or {}).get("info") or {}
    if info.get("duration_seconds"):
        return float(info["duration_seconds"])
    rate = _rate(info)
    frames = (info.get("video") or {}).get("frame_count")
    return float(Fraction(int(frames)) / rate.fraction) if rate and frames else 0.0


def _verification(output: Mapping[str, Any] | None) -> tuple[str, bool | None]:
    verification = (output or {}).get("verification")
    if not verification:
        return "not verified", None
    checks = verification.get("checks") or []
    failed = [c for c in checks if not c.get("ok")]
    if not failed:
        return f"passed ({len(checks)} checks)", True
    return "failed: " + "; ".join(
        f"{c['name']} expected {c.get('expected')!r}, got {c.get('actual')!r}" for c in failed
    ), False


def _relink(relink: Mapping[str, Any] | None) -> tuple[Relink, ...]:
    verdicts = []
    for nle, verdict in (relink or {}).items():
        failed = set(verdict.get("failed") or [])
        reasons = tuple(
            f"{c['name']}: expected {c.get('expected')}, got {c.get('actual')}"
            + (f" ({c['why']})" if c.get("why") else "")
            for c in verdict.get("checks") or []
            if c.get("name") in failed
        )
        verdicts.append(Relink(nle=nle, label=NLE_NAMES.get(nle, nle), ok=bool(verdict.get("ok")), reasons=reasons))
    return tuple(verdicts)


def _stderr_line(clip: Mapping[str, Any]) -> str | None:
    """The decisive line of the last command that failed; None when every command succeeded (a
    verification failure: a successful encode's warnings are not its reason)."""
    failed = [c for c in clip.get("commands") or [] if c.get("exit_code") != 0 and (c.get("stderr_tail") or "").strip()]
    return decisive_stderr_line(failed[-1]["stderr_tail"]) if failed else None


def _proxy_video(clip: Mapping[str, Any]) -> str | None:
    output = clip.get("output") or {}
    if clip.get("status") not in DELIVERED or not output.get("path"):
        return None
    if not (output.get("verification") or {}).get("ok", clip.get("status") == Status.SKIPPED):
        return None
    files = [f for f in output.get("files") or [] if f.get("kind") == "video"]
    return str(files[0]["path"]) if files else str(output["path"])


def _proxy_path(output: Mapping[str, Any], delivered: bool) -> str | None:
    if delivered:
        return output.get("path")
    if output.get("kept_temp_path"):
        return f"not published; the unverified file is kept at {output['kept_temp_path']}"
    return "not published"


def clip_facts(clip: Mapping[str, Any]) -> ClipFacts:
    source = clip.get("source") or {}
    info = source.get("info") or {}
    output = clip.get("output") or {}
    out_info = (output.get("verification") or {}).get("output_info") or {}
    rate = _rate(info) or _rate(out_info)
    tc = info.get("start_timecode") or "00:00:00:00"
    drop = timecode_is_drop_frame(tc)
    start = timecode_to_frames(tc, rate) if rate else 0
    delivered = clip.get("status") in DELIVERED
    source_frames = (info.get("video") or {}).get("frame_count")
    proxy_frames = (out_info.get("video") or {}).get("frame_count") if delivered else None
    # a delivered proxy has the source's frame count (verified); the proxy's count decides the contact sheet
    frames = int(proxy_frames or source_frames or 0)
    if not delivered:
        out_info = {}
    failure = clip.get("failure") or {}
    verdict, verified = _verification(output)
    path = str(source.get("path") or "")
    return ClipFacts(
        index=int(clip.get("index") or 0),
        name=os.path.splitext(os.path.basename(path))[0],
        source_path=path,
        reel=info.get("reel_name") or "–",
        start_timecode=frames_to_timecode(start, rate, drop) if rate else tc,
        end_timecode=frames_to_timecode(start + frames, rate, drop) if rate else "–",
        duration=f"{frames_to_timecode(frames, rate, False) if rate else '–'} ({frames} frames)",
        rate=f"{rate_label(rate)} ({rate})" if rate else "–",
        raster=_raster(info),
        codec=_codec(info),
        audio=audio_label(info.get("audio")) if info else "–",
        status=str(clip.get("status") or "–"),
        profile=str(clip.get("profile") or "–"),
        engine=str(clip.get("engine") or "–"),
        proxy_path=_proxy_path(output, delivered),
        proxy_video=_proxy_video(clip),
        proxy_raster=_raster(out_info),
        proxy_codec=_codec(out_info) + (f", audio {audio_label(out_info.get('audio'))}" if out_info else ""),
        proxy_size=size_label(output.get("size")),
        proxy_sha256=str(output.get("sha256") or "–"),
        verification=verdict,
        verification_ok=verified,
        relink=_relink(clip.get("relink")),
        failure_category=failure.get("category"),
        failure_message=failure.get("message"),
        stderr_line=_stderr_line(clip),
        frame_rate=rate,
        start_frame=start,
        drop_frame=drop,
        frames=frames,
        rendition=str(clip["rendition"]) if clip.get("rendition") else None,
    )


def _text(value: Any) -> str:
    import json

    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False, sort_keys=True)


def job_facts(result: Mapping[str, Any], written: Sequence[tuple[str, str]] = ()) -> JobFacts:
    clips = list(result.get("clips") or [])
    timing = result.get("timing") or {}
    statuses = Counter(str(c.get("status")) for c in clips)
    order = [s for s in STATUS_ORDER if s in statuses] + sorted(set(statuses) - set(STATUS_ORDER))
    total = sum(source_seconds(c) for c in clips)
    delivered = sum(source_seconds(c) for c in clips if c.get("status") in DELIVERED)
    seconds = timing.get("seconds")
    nodes = sorted({str(c["node"]["name"]) for c in clips if (c.get("node") or {}).get("name")})
    if not nodes:
        watch = timing.get("watch") or {}
        nodes = [str(watch.get("node") or timing.get("host") or "–")]
    env = result.get("environment") or {}
    engines = tuple(
        (str(e.get("name")), str(e.get("version")), str(e.get("build") or "–").splitlines()[0])
        for e in env.get("engines") or []
    )
    raw_spec = result.get("jobspec")
    spec: Mapping[str, Any] = raw_spec if isinstance(raw_spec, dict) else {}
    return JobFacts(
        job_id=str(result.get("job_id") or "job"),
        status=str(result.get("status") or "–"),
        exit_code=result.get("exit_code"),
        proxx_version=str(result.get("proxx_version") or "–"),
        jobspec_sha256=str(result.get("jobspec_sha256") or "–"),
        output_dir=str(spec.get("output_dir") or "–"),
        counts=tuple((s, statuses[s]) for s in order),
        clip_total=len(clips),
        source_duration=clock(total),
        source_hours=f"{total / 3600:.2f}",
        delivered_duration=clock(delivered),
        started_at=str(timing.get("started_at") or "–"),
        finished_at=str(timing.get("finished_at") or "–"),
        time_taken=clock(seconds),
        speed=f"{delivered / seconds:.1f}× real time" if seconds else "–",
        nodes=tuple(nodes),
        engines=engines,
        distributions=tuple(sorted((str(k), str(v)) for k, v in (env.get("proxx_distributions") or {}).items())),
        profiles=tuple(sorted({str(c.get("profile")) for c in clips if c.get("profile")})),
        user_metadata=tuple((str(k), _text(v)) for k, v in (result.get("user_metadata") or {}).items()),
        sidecars=tuple(written),
    )
