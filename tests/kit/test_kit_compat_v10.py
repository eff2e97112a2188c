"""Compatibility is a test: an engine written to the 1.0 guide (frozen in tests/kit/engine_contract10.py)
still passes the conformance kit against today's core. It writes no timecode track, so it takes
only sources without timecode: their proxies start at no timecode, which every NLE reads as
00:00:00:00, the source's effective start (verification compares effective start timecodes)."""

import importlib

import pytest

from engine_contract10 import HandBrakeLikeEngine
from proxx_core.testing import EngineConformance, Sample
from proxx_engine_ffmpeg.testmedia import make_source


class TestContract10Engine(EngineConformance):
    @pytest.fixture
    def engine(self):
        return HandBrakeLikeEngine()

    @pytest.fixture
    def sample_sources(self, tmp_path):
        return [
            Sample(
                path=make_source(tmp_path / "no tc.mov", video="h264", frames=5, timecode=None, audio=(2,)),
                profile="offline_h264_1280x720",
                frame_rate="24000/1001",
                frame_count=5,
            ),
            Sample(
                path=make_source(
                    tmp_path / "-phone.mp4", video="h264", frames=5, timecode=None, audio=(1, 1), rate="30"
                ),
                profile="offline_h264_1280x720",
                frame_rate="30/1",
                frame_count=5,
            ),
        ]

    @pytest.fixture
    def plugin(self):
        return importlib.import_module("engine_contract10")

    @pytest.fixture
    def entry_point(self):
        return None  # frozen in the tests, not an installed distribution

    def break_source(self, sample):
        with open(sample.path, "r+b") as fh:  # cut the file mid-stream: the encode fails
            fh.truncate(2048)
