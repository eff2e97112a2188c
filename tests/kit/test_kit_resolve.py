"""The Resolve engine held to the conformance kit, on its Resolve API simulator (real renders made by
the simulator with the pinned FFmpeg; probing, supervision and verification are the engine's own)."""

import importlib
import json

import pytest

from proxx_core.testing import EngineConformance, Sample

pytest.importorskip("proxx_engine_resolve.simulator", reason="needs proxx-engine-resolve[simulator]")
from proxx_engine_resolve.engine import ResolveEngine  # noqa: E402
from proxx_engine_resolve.simulator import write_raw_source  # noqa: E402


class TestResolveEngineConformance(EngineConformance):
    @pytest.fixture
    def engine(self, tmp_path):
        scenario = tmp_path / "scenario.json"
        scenario.write_text(json.dumps({}))
        return ResolveEngine(
            backend="simulator",
            scenario=scenario,
            lock_path=tmp_path / "node.lock",
            scratch_dir=tmp_path / "scratch",
            call_timeout=10.0,
            poll_seconds=0.02,
        )

    @pytest.fixture
    def sample_sources(self, tmp_path):
        media = tmp_path / "media"
        media.mkdir()
        return [
            Sample(
                path=write_raw_source(
                    media / "A001_C002.braw",
                    "braw",
                    width=64,
                    height=36,
                    frames=5,
                    frame_rate="24000/1001",
                    start_timecode="01:00:00:00",
                ),
                profile="offline_prores_proxy_1920x1080",
                frame_rate="24000/1001",
                frame_count=5,
                start_timecode="01:00:00:00",
            ),
            Sample(
                path=write_raw_source(
                    media / "B003_C004.R3D",
                    "r3d",
                    width=256,
                    height=144,
                    frames=5,
                    frame_rate="25",
                    start_timecode="02:00:00:00",
                    audio_channels=0,
                ),
                profile="offline_dnxhr_lb_1920x1080",
                frame_rate="25/1",
                frame_count=5,
                start_timecode="02:00:00:00",
            ),
        ]

    @pytest.fixture
    def plugin(self):
        return importlib.import_module("proxx_engine_resolve.plugin")

    @pytest.fixture
    def entry_point(self):
        return "resolve"
