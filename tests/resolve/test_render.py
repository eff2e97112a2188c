"""The Resolve engine against the simulator: happy paths per profile and every injected fault.

Each test runs the real worker in a real child process; the simulator writes real media with
FFmpeg and verification probes it with PyAV.
"""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from proxx_core.contract.errors import ClipFailure

from .conftest import DNXHR, LT, PROXY, request_for, run_clip


def _failed(v):
    return {c.name for c in v.checks if not c.ok}


@pytest.mark.parametrize(
    "profile, kind, size, codec_profile",
    [
        (PROXY, "r3d", (64, 36), "Proxy"),
        (LT, "braw", (64, 36), "LT"),
        (DNXHR, "mxf_arriraw", (256, 144), "DNXHR LB"),  # DNxHR needs at least 256x120
    ],
)
def test_happy_path_per_profile(make_engine, raw_source, outdir, profile, kind, size, codec_profile):
    engine = make_engine()
    src = raw_source(kind, width=size[0], height=size[1], frames=5, start_timecode="01:02:03:04", audio_channels=2)
    req = request_for(engine, src, profile, outdir)
    plan, records, v = run_clip(engine, req)
    assert v.ok, [c for c in v.checks if not c.ok]
    checks = {c.name: c for c in v.checks}
    assert checks["frame_count"].actual == 5
    assert checks["start_timecode"].actual == "01:02:03:04"  # source timecode kept
    assert checks["codec_profile"].actual == codec_profile
    assert checks["raster"].actual == f"{size[0]}x{size[1]}"
    # atomic contract: only temp_path was written; nothing under the final name, scratch cleaned up
    assert Path(req.temp_path).stat().st_size > 0
    assert not Path(req.output_path).exists()
    assert sorted(p.name for p in outdir.iterdir()) == [Path(req.temp_path).name]
    assert not Path(plan.settings["scratch_dir"]).exists()
    # the result contract: one command record with the worker argv and its exit code
    (rec,) = records
    assert rec.argv == plan.commands[0].argv and rec.exit_code == 0
    assert rec.argv[1:3] == ("-m", "proxx_engine_resolve.worker")
    assert rec.timing["seconds"] >= 0


def test_drop_frame_source_keeps_drop_frame_timecode(make_engine, raw_source, outdir):
    engine = make_engine()
    src = raw_source("braw", frame_rate="30000/1001", start_timecode="10:00:00;02", audio_channels=0)
    req = request_for(engine, src, PROXY, outdir)
    assert req.source_info.start_timecode == "10:00:00;02" and req.source_info.audio == ()
    assert "--drop-frame" in engine.plan(req).commands[0].argv
    _, _, v = run_clip(engine, req)
    assert v.ok, [c for c in v.checks if not c.ok]


def test_plan_is_pure_and_records_every_setting(make_engine, raw_source, outdir):
    engine = make_engine()
    req = request_for(engine, raw_source("r3d"), PROXY, outdir)
    before = sorted(outdir.iterdir())
    p1, p2 = engine.plan(req), engine.plan(req)
    assert p1 == p2 and sorted(outdir.iterdir()) == before
    argv = p1.commands[0].argv
    for flag, value in (
        ("--codec", "ProRes422Proxy"),
        ("--format", "mov"),
        ("--frames", "5"),
        ("--frame-rate", "24000/1001"),
        ("--temp-path", req.temp_path),
    ):
        assert argv[argv.index(flag) + 1] == value
    assert p1.settings["render_mode"].startswith("individual clips")


def test_falsy_set_render_settings_fails_and_names_the_call(make_engine, raw_source, outdir):
    engine = make_engine({"faults": {"Project.SetRenderSettings": {"return": False}}})
    req = request_for(engine, raw_source("r3d"), PROXY, outdir)
    with pytest.raises(ClipFailure) as ei:
        engine.execute(engine.plan(req), threading.Event())
    assert ei.value.category == "engine_failed"
    assert "SetRenderSettings() returned False" in ei.value.message
    assert ei.value.records and ei.value.records[0].exit_code == 4
    assert "SetRenderSettings" in ei.value.records[0].stderr_tail
    assert not Path(req.temp_path).exists()


def test_rejected_render_setting_key_is_named(make_engine, raw_source, outdir):
    # ExportAudio exists only from 17.0 in the simulator's key table; make the engine's dict be refused
    # as a whole and check the worker retries key by key to name the culprit
    engine = make_engine({"faults": {"Project.SetRenderSettings": {"return": False, "after": 0}}})
    req = request_for(engine, raw_source("r3d"), PROXY, outdir)
    with pytest.raises(ClipFailure) as ei:
        engine.execute(engine.plan(req), threading.Event())
    # every single-key retry is refused too (the fault applies to every call): all keys are listed
    assert "rejected keys: ['AudioBitDepth', 'AudioSampleRate', 'CustomName'" in ei.value.message


def test_old_version_lacks_version_gated_methods(make_engine):
    engine = make_engine({"version": [16, 2, 0, 0, ""]})
    caps = engine.capabilities()
    assert not caps.available
    assert "too old" in caps.unavailable_reason and "16.2" in caps.unavailable_reason


@pytest.mark.parametrize("value", [None, ""])
def test_add_render_job_falsy(make_engine, raw_source, outdir, value):
    engine = make_engine({"faults": {"Project.AddRenderJob": {"return": value}}})
    req = request_for(engine, raw_source("r3d"), PROXY, outdir)
    with pytest.raises(ClipFailure) as ei:
        engine.execute(engine.plan(req), threading.Event())
    assert ei.value.category == "engine_failed"
    assert f"AddRenderJob() returned {value!r}" in ei.value.message


def test_false_complete_without_output(make_engine, raw_source, outdir):
    engine = make_engine({"render": {"outcome": "no_output"}})
    req = request_for(engine, raw_source("r3d"), PROXY, outdir)
    with pytest.raises(ClipFailure) as ei:
        engine.execute(engine.plan(req), threading.Event())
    assert ei.value.category == "engine_failed"
    assert "Complete but wrote no usable .mov" in ei.value.message
    assert not Path(req.temp_path).exists()


def test_false_complete_with_wrong_frame_count_fails_verification(make_engine, raw_source, outdir):
    engine = make_engine({"render": {"outcome": "wrong_frame_count", "frame_delta": -2}})
    req = request_for(engine, raw_source("r3d", frames=6), PROXY, outdir)
    plan, _, v = run_clip(engine, req)
    assert not v.ok
    assert _failed(v) >= {"frame_count"}
    fc = next(c for c in v.checks if c.name == "frame_count")
    assert (fc.expected, fc.actual) == (6, 4)


def test_false_complete_with_garbage_output_fails_verification(make_engine, raw_source, outdir):
    engine = make_engine({"render": {"outcome": "garbage"}})
    req = request_for(engine, raw_source("braw"), LT, outdir)
    _, _, v = run_clip(engine, req)
    assert not v.ok and "readable_video" in _failed(v)


def test_failed_render_reports_resolve_error(make_engine, raw_source, outdir):
    engine = make_engine({"render": {"outcome": "failed", "error": "GPU memory full"}})
    req = request_for(engine, raw_source("r3d"), PROXY, outdir)
    with pytest.raises(ClipFailure) as ei:
        engine.execute(engine.plan(req), threading.Event())
    assert ei.value.category == "engine_failed" and "GPU memory full" in ei.value.message


def test_hung_call_times_out_and_child_is_killed(make_engine, raw_source, outdir):
    engine = make_engine({"faults": {"Project.GetRenderJobStatus": {"hang": True}}}, call_timeout=1.0)
    req = request_for(engine, raw_source("r3d"), PROXY, outdir)
    t0 = time.monotonic()
    with pytest.raises(ClipFailure) as ei:
        engine.execute(engine.plan(req), threading.Event())
    elapsed = time.monotonic() - t0
    assert ei.value.category == "timeout"
    assert elapsed < 5, elapsed
    assert "Project.GetRenderJobStatus() did not return" in ei.value.message
    pid = engine.last_run.pid
    assert f"worker process {pid} was killed" in ei.value.message
    with pytest.raises(ProcessLookupError):
        os.kill(pid, 0)
    assert ei.value.records[0].exit_code is not None and ei.value.records[0].exit_code < 0
    assert not Path(req.temp_path).exists()


def test_render_deadline_stops_rendering(make_engine, raw_source, outdir):
    engine = make_engine({"render": {"seconds": 30}}, render_timeout=0.5)
    req = request_for(engine, raw_source("r3d"), PROXY, outdir)
    t0 = time.monotonic()
    with pytest.raises(ClipFailure) as ei:
        engine.execute(engine.plan(req), threading.Event())
    assert ei.value.category == "timeout" and time.monotonic() - t0 < 8
    assert "did not finish within 0.5 s" in ei.value.message


def test_cancel_interrupts_and_kills(make_engine, raw_source, outdir):
    engine = make_engine({"render": {"seconds": 30}})
    req = request_for(engine, raw_source("r3d"), PROXY, outdir)
    cancel = threading.Event()
    threading.Timer(0.5, cancel.set).start()
    with pytest.raises(ClipFailure) as ei:
        engine.execute(engine.plan(req), cancel)
    assert ei.value.category == "interrupted"


def test_missing_method_at_render_time_is_named(make_engine, raw_source, outdir):
    engine = make_engine({"missing_methods": ["Project.GetRenderJobList"]})
    # capabilities do not require GetRenderJobList? they do: the engine refuses up front
    caps = engine.capabilities()
    assert not caps.available and "GetRenderJobList" in caps.unavailable_reason
    # and if a plan made elsewhere is executed anyway, the worker names the missing call
    ok_engine = make_engine()
    req = request_for(ok_engine, raw_source("r3d"), PROXY, outdir)
    plan = ok_engine.plan(req)
    argv = list(plan.commands[0].argv)
    argv[argv.index("--scenario") + 1] = str(engine.scenario)
    from proxx_engine_resolve.supervisor import run_worker

    run = run_worker(argv, timeout=20, lock_path=outdir.parent / "node.lock")
    assert not run.ok and run.result["category"] == "engine_failed"
    assert "Project.GetRenderJobList() is not available" in run.result["message"]


def test_node_lock_serialises_sessions(tmp_path):
    from proxx_engine_resolve.supervisor import NodeLock

    a, b = NodeLock(tmp_path / "l"), NodeLock(tmp_path / "l")
    assert a.acquire()
    cancel = threading.Event()
    threading.Timer(0.2, cancel.set).start()
    t0 = time.monotonic()
    assert b.acquire(cancel) is False  # waited, then gave up when cancelled
    assert time.monotonic() - t0 >= 0.15
    a.release()
    assert b.acquire()
    b.release()


def test_render_progress_reaches_the_runner(make_engine, raw_source, outdir):
    """Resolve's render CompletionPercentage arrives as ClipProgress through the optional hook."""
    from proxx_core.contract.progress import accepts_progress

    engine = make_engine()
    assert accepts_progress(engine.execute)
    src = raw_source("braw", frames=5)
    req = request_for(engine, src, PROXY, outdir)
    plan = engine.plan(req)
    samples = []
    engine.execute(plan, threading.Event(), progress=samples.append)
    assert samples and samples[-1].fraction == 1.0 and samples[-1].final
    assert all(0.0 <= s.fraction <= 1.0 for s in samples)
