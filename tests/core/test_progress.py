"""Live progress: FFmpeg's -progress blocks read from a real encode, turned into events with an ETA,
without changing a byte of the output."""

from __future__ import annotations

import hashlib
import threading

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxx_core import Command
from proxx_core.contract.progress import ClipProgress, ClipTracker, ProgressEvent, accepts_progress, format_eta
from proxx_core.kit import ClipFailure, run_command
from proxx_engine_ffmpeg.binary import inspect_binary


def _lavfi_argv(out, *extra):
    return [
        inspect_binary().path,
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-loglevel",
        "warning",
        "-y",
        *extra,
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x90:rate=25:duration=2",
        "-c:v",
        "prores_aw",
        "-fflags",
        "+bitexact",
        "-f",
        "mov",
        f"file:{out}",
    ]


def test_run_command_delivers_progress_blocks_and_the_bytes_do_not_change(tmp_path):
    plain, watched = tmp_path / "plain.mov", tmp_path / "watched.mov"
    run_command(Command(argv=_lavfi_argv(plain, "-progress", "pipe:1"), timeout_seconds=60))
    blocks = []
    run_command(Command(argv=_lavfi_argv(watched, "-progress", "pipe:1"), timeout_seconds=60), progress=blocks.append)
    assert blocks and blocks[-1]["progress"] == "end" and blocks[-1]["frame"] == "50"
    assert hashlib.sha256(plain.read_bytes()).digest() == hashlib.sha256(watched.read_bytes()).digest()
    sample = ClipProgress.from_ffmpeg(blocks[-1], frames=50, seconds=2.0)
    assert sample.fraction == 1.0 and sample.final and sample.frame == 50


def test_a_failing_display_never_fails_the_encode(tmp_path):
    def broken(block):
        raise RuntimeError("display fell over")

    rec = run_command(
        Command(argv=_lavfi_argv(tmp_path / "o.mov", "-progress", "pipe:1"), timeout_seconds=60), progress=broken
    )
    assert rec.exit_code == 0


def test_fraction_from_frames_else_from_time():
    block = {"frame": "12", "fps": "30.5", "out_time_us": "1000000", "speed": "2.5x", "progress": "continue"}
    assert ClipProgress.from_ffmpeg(block, frames=48, seconds=4.0).fraction == 0.25
    assert ClipProgress.from_ffmpeg(block, frames=None, seconds=4.0).fraction == 0.25
    by_time = ClipProgress.from_ffmpeg(block, frames=None, seconds=2.0)
    assert by_time.fraction == 0.5 and by_time.speed == 2.5 and by_time.fps == 30.5 and not by_time.final
    unknown = ClipProgress.from_ffmpeg(
        {"speed": "N/A", "out_time_us": "N/A", "progress": "continue"}, frames=None, seconds=None
    )
    assert unknown.fraction is None and unknown.speed is None


@given(
    st.dictionaries(st.sampled_from(["frame", "fps", "out_time_us", "speed", "progress"]), st.text(max_size=12)),
    st.one_of(st.none(), st.integers(0, 10**6)),
    st.one_of(st.none(), st.floats(0, 1e6)),
)
def test_any_block_reads_without_error_and_stays_in_range(block, frames, seconds):
    sample = ClipProgress.from_ffmpeg(block, frames=frames, seconds=seconds)
    assert sample.fraction is None or 0.0 <= sample.fraction <= 1.0


def test_tracker_eta_from_elapsed_time_and_share_made():
    now = [100.0]
    events: list[ProgressEvent] = []
    track = ClipTracker(3, "/m/a.mov", "/o/a_proxy.mov", events.append, clock=lambda: now[0])
    now[0] = 110.0  # 10 s for a quarter: 30 s left
    track(ClipProgress(fraction=0.25, fps=48.0, speed=2.0))
    assert events[-1] == ProgressEvent(
        event="progress",
        index=3,
        source="/m/a.mov",
        output="/o/a_proxy.mov",
        percent=25.0,
        fps=48.0,
        speed=2.0,
        eta_seconds=30.0,
    )
    assert events[-1].to_json()["eta_seconds"] == 30.0 and "status" not in events[-1].to_json()
    assert format_eta(30.0) == "0:30" and format_eta(3725) == "1:02:05" and format_eta(None) == "-:--"


def test_engines_opt_in_by_signature():
    class Old:
        def execute(self, plan, cancel):
            return ()

    class New:
        def execute(self, plan, cancel, progress=None):
            return ()

    class Open:
        def execute(self, plan, cancel, **kw):
            return ()

    assert not accepts_progress(Old().execute)
    assert accepts_progress(New().execute) and accepts_progress(Open().execute)
    from proxx_engine_ffmpeg.engine import FFmpegEngine

    assert accepts_progress(FFmpegEngine().execute)


def test_cancel_still_kills_a_command_whose_progress_is_read(tmp_path):
    argv = [
        inspect_binary().path,
        "-nostdin",
        "-hide_banner",
        "-nostats",
        "-progress",
        "pipe:1",
        "-y",
        "-re",
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=160x90:rate=25:duration=30",
        "-f",
        "null",
        "-",
    ]
    cancel = threading.Event()
    blocks = []
    timer = threading.Timer(1.2, cancel.set)
    timer.start()
    with pytest.raises(ClipFailure) as caught:
        run_command(Command(argv=argv, timeout_seconds=60), cancel, progress=blocks.append)
    assert caught.value.category == "interrupted"
    assert blocks, "a -re encode of 1.2 s writes progress blocks"
