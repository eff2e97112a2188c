"""The Proxx engine conformance kit, run against this engine: every contract check in one class."""

import importlib

import pytest

from proxx_core.testing import EngineConformance, Sample
from proxx_engine_imageseq.engine import ImageSequenceEngine
from proxx_engine_imageseq.samples import make_sequence
from proxx_engine_imageseq.sequence import parse_name


class TestImageSequenceEngine(EngineConformance):
    @pytest.fixture
    def engine(self):
        return ImageSequenceEngine()

    @pytest.fixture
    def sample_sources(self, tmp_path):
        return [
            # no sidecar: 24 fps; frame 1001 at 24 fps is 00:00:41:17
            Sample(
                path=make_sequence(tmp_path / "a", first=1001),
                profile="offline_prores_proxy_1920x1080",
                frame_rate="24/1",
                frame_count=5,
                start_timecode="00:00:41:17",
            ),
            # DPX with a 25 fps sidecar; frame 86400 at 25 fps is 00:57:36:00
            Sample(
                path=make_sequence(tmp_path / "b", prefix="plate.", first=86400, ext="dpx", frame_rate="25"),
                profile="offline_prores_proxy_1920x1080",
                frame_rate="25/1",
                frame_count=5,
                start_timecode="00:57:36:00",
            ),
            # TIFF at 23.976; frame 86400 at 24000/1001 (nominal 24) is 01:00:00:00
            Sample(
                path=make_sequence(tmp_path / "c", first=86400, ext="tif", frame_rate="24000/1001"),
                profile="offline_h264_1280x720",
                frame_rate="24000/1001",
                frame_count=5,
                start_timecode="01:00:00:00",
            ),
        ]

    @pytest.fixture
    def plugin(self):
        return importlib.import_module("proxx_engine_imageseq.plugin")

    @pytest.fixture
    def entry_point(self):
        return "imageseq"

    def break_source(self, sample):
        # a damaged frame in the middle of the run: FFmpeg (with -xerror) stops mid-encode
        seq = parse_name(str(sample.path))
        with open(seq.frame(seq.first + 2), "r+b") as fh:
            fh.truncate(100)
