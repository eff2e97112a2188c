"""Fixtures for the watch-folder tests: tiny real media and an FFmpeg-only engine set."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def media(tmp_path_factory) -> Path:
    from proxx_engine_ffmpeg.testmedia import make_source

    root = tmp_path_factory.mktemp("media")
    make_source(root / "tiny.mov", size="64x36", rate="25/1", frames=4, timecode="01:00:00:00", audio=(1,))
    return root


@pytest.fixture(scope="session")
def slow_source(tmp_path_factory) -> Path:
    """A source whose proxy takes a couple of seconds, to be interrupted mid-encode."""
    from proxx_engine_ffmpeg.testmedia import make_source

    root = tmp_path_factory.mktemp("slow")
    return make_source(
        root / "slow.mov", size="320x180", rate="25/1", frames=500, timecode="01:00:00:00", audio=(1,), video="mjpeg"
    )


@pytest.fixture
def ffmpeg_engines():
    from proxx_core.support.plugins import load_engines
    from proxx_engine_ffmpeg import plugin

    return load_engines(plugins=[plugin], entry_points=False)
