"""Proxx's own FFmpeg engine held to the conformance kit, exactly as a third-party engine would be."""

import importlib

import pytest

from proxx_core.testing import EngineConformance, Sample
from proxx_engine_ffmpeg.engine import FFmpegEngine
from proxx_engine_ffmpeg.testmedia import make_source


class TestFFmpegEngineConformance(EngineConformance):
    @pytest.fixture
    def engine(self):
        return FFmpegEngine()

    @pytest.fixture
    def sample_sources(self, tmp_path):
        media = tmp_path / "media"
        media.mkdir()
        return [
            Sample(
                path=make_source(
                    media / "A001_C001.mov",
                    size="64x36",
                    rate="24000/1001",
                    frames=5,
                    timecode="01:00:00:00",
                    audio=(1, 1),
                    video="prores_hq",
                ),
                profile="offline_prores_proxy_1920x1080",
                frame_rate="24000/1001",
                frame_count=5,
                start_timecode="01:00:00:00",
            ),
            Sample(
                path=make_source(
                    media / "B002_C003.mp4",
                    size="64x36",
                    rate="25/1",
                    frames=5,
                    timecode="10:00:00:00",
                    audio=(2,),
                    video="h264",
                ),
                profile="offline_h264_1280x720",
                frame_rate="25/1",
                frame_count=5,
            ),
            # DNxHR needs at least 256x120
            Sample(
                path=make_source(
                    media / "C003_C004.mxf",
                    size="256x144",
                    rate="25/1",
                    frames=5,
                    timecode="00:59:58:00",
                    audio=(1,),
                    video="dnxhr_hq",
                ),
                profile="offline_dnxhr_lb_1920x1080",
                frame_rate="25/1",
                frame_count=5,
                start_timecode="00:59:58:00",
            ),
        ]

    @pytest.fixture
    def plugin(self):
        return importlib.import_module("proxx_engine_ffmpeg.plugin")

    @pytest.fixture
    def entry_point(self):
        return "ffmpeg"
