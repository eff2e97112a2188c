"""Fixtures for the Resolve engine tests: simulator-backed engines, simulated RAW sources, real
ProRes/DNxHD media generated with the pinned FFmpeg binary and lavfi."""

from __future__ import annotations

import json
import subprocess
import threading
from pathlib import Path

import pytest

from proxx_core.contract.engine import ClipRequest
from proxx_core.contract.profiles import PROFILES, fit_raster
from proxx_core.kit import verify_output
from proxx_engine_resolve.engine import ResolveEngine
from proxx_engine_resolve.simulator import write_raw_source

PROXY = "offline_prores_proxy_1920x1080"
LT = "offline_prores_lt_1920x1080"
DNXHR = "offline_dnxhr_lb_1920x1080"


def ffmpeg() -> str:
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


@pytest.fixture
def make_engine(tmp_path):
    """Build a simulator-backed engine for a scenario dict (one per test, isolated lock/scratch)."""

    def make(scenario: dict | None = None, **kw) -> ResolveEngine:
        path = tmp_path / f"scenario-{len(list(tmp_path.glob('scenario-*')))}.json"
        path.write_text(json.dumps(scenario or {}))
        kw.setdefault("call_timeout", 5.0)
        kw.setdefault("poll_seconds", 0.02)
        kw.setdefault("check_timeout", 10.0)
        kw.setdefault("probe_timeout", 10.0)
        return ResolveEngine(
            backend="simulator", scenario=path, lock_path=tmp_path / "node.lock", scratch_dir=tmp_path / "scratch", **kw
        )

    return make


@pytest.fixture
def raw_source(tmp_path):
    def make(kind: str = "r3d", name: str | None = None, **kw) -> Path:
        ext = {"mxf_arriraw": "mxf", "mxf_xocn": "mxf", "prores_raw": "mov"}.get(kind, kind)
        return write_raw_source(tmp_path / (name or f"A001_C002_{kind}.{ext}"), kind, **kw)

    return make


def request_for(engine, source: Path, profile_name: str, outdir: Path, index: int = 1) -> ClipRequest:
    info = engine.probe(source)
    assert info is not None and info.video is not None, info
    profile = PROFILES[profile_name]
    w, h = fit_raster(info.video, profile)
    out = outdir / f"{source.stem}_{profile_name}.{profile.container}"
    return ClipRequest(
        index=index,
        source=str(source),
        source_info=info,
        profile=profile,
        output_path=str(out),
        temp_path=str(outdir / f".{out.name}.proxx-partial"),
        width=w,
        height=h,
    )


def run_clip(engine, request):
    plan = engine.plan(request)
    records = engine.execute(plan, threading.Event())
    return plan, records, verify_output(plan, engine.probe_output(plan), engine)


@pytest.fixture(scope="session")
def media_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("media")


def make_media(path: Path, vcodec_args: list[str], size="256x144", fmt=None, audio=True) -> Path:
    argv = [ffmpeg(), "-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=24000/1001"]
    if audio:
        argv += ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=0.25"]
    argv += ["-frames:v", "5"] + vcodec_args
    if audio:
        argv += ["-c:a", "pcm_s24le"]
    argv += ["-timecode", "01:00:00:00"] + (["-f", fmt] if fmt else []) + [str(path)]
    subprocess.run(argv, check=True, capture_output=True, timeout=60)
    return path
