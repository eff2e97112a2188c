"""The Resolve engine against behaviour measured on the real Resolve (issue 16), one simulator quirk
per test. Each test shows what the engine did: recovered (and how, from the simulator's call trace
and the worker's recorded notes), or failed the clip with a clear category and message."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from proxx_core.contract.errors import ClipFailure
from proxx_core.kit import verify_output

from .conftest import PROXY, request_for, run_clip

IDLE = "proxx_idle"


def calls(trace: Path) -> list[tuple[str, list]]:
    """(Kind.Method, args) for every API call the simulator saw, in order."""
    if not trace.exists():
        return []
    out = []
    for line in trace.read_text().splitlines():
        name, _, args = line.partition(" ")
        out.append((name, json.loads(args)))
    return out


SWITCHES = ("ProjectManager.CreateProject", "ProjectManager.LoadProject", "ProjectManager.CloseProject")


def switches(trace: Path) -> list[tuple[str, list]]:
    return [c for c in calls(trace) if c[0] in SWITCHES]


@pytest.fixture
def quirky(make_engine, tmp_path):
    """An engine on a Resolve whose database holds the idle project and has it open (the state
    Proxx leaves behind), with the given quirks and a call trace."""

    def make(quirks: dict | None = None, **scenario):
        trace = tmp_path / "trace.log"
        sc = {"projects": [IDLE], "current": IDLE, "trace": str(trace), "quirks": quirks or {}}
        sc.update(scenario)
        return make_engine(sc), trace

    return make


def _render_ok(engine, raw_source, outdir, **source):
    req = request_for(engine, raw_source("r3d", **source), PROXY, outdir)
    plan, records, v = run_clip(engine, req)
    assert v.ok, [c for c in v.checks if not c.ok]
    return req, plan, records[0]


def _render_fails(engine, raw_source, outdir):
    req = request_for(engine, raw_source("r3d"), PROXY, outdir)
    with pytest.raises(ClipFailure) as ei:
        engine.execute(engine.plan(req), threading.Event())
    assert not Path(req.temp_path).exists()
    return req, ei.value


# ------------------------------------------------------------------------------ project switching


def test_one_project_per_clip_and_half_the_switches(quirky, raw_source, outdir):
    engine, trace = quirky()
    req, plan, record = _render_ok(engine, raw_source, outdir)
    created = [a[0] for n, a in calls(trace) if n == "ProjectManager.CreateProject"]
    assert created == [plan.settings["project"]]  # the probe made no project of its own
    # probe: none (it uses the idle project); render: create, then load the idle project to tear down
    assert [(n, a[0] if n != "ProjectManager.CloseProject" else None) for n, a in switches(trace)] == [
        ("ProjectManager.CreateProject", plan.settings["project"]),
        ("ProjectManager.LoadProject", IDLE),
    ]
    assert ("ProjectManager.DeleteProject", [plan.settings["project"]]) in calls(trace)
    # the probe left the idle project clean: the clip it imported was removed again
    assert any(n == "MediaPool.DeleteClips" for n, _ in calls(trace))


def test_blocked_switch_recovers_once_by_loading_the_idle_project(quirky, raw_source, outdir):
    engine, trace = quirky({"blocked_switch": 1})
    req, plan, record = _render_ok(engine, raw_source, outdir)
    seq = [(n, a[0]) for n, a in switches(trace)]
    project = plan.settings["project"]
    assert seq[:3] == [
        ("ProjectManager.CreateProject", project),
        ("ProjectManager.LoadProject", IDLE),
        ("ProjectManager.CreateProject", project),
    ]
    assert "blocked" in record.stderr_tail and "recovered" in record.stderr_tail


def test_blocked_switch_that_stays_blocked_fails_the_clip_clearly(quirky, raw_source, outdir):
    engine, trace = quirky({"blocked_switch": 5})
    _, failure = _render_fails(engine, raw_source, outdir)
    assert failure.category == "engine_failed"
    assert "project switch blocked" in failure.message
    assert IDLE in failure.message and "dialog" in failure.message
    # exactly one recovery attempt: two CreateProject calls, one load of the idle project between them
    assert [n for n, _ in switches(trace)].count("ProjectManager.CreateProject") == 2


def test_first_delete_fails_is_retried(quirky, raw_source, outdir):
    engine, trace = quirky({"delete_fails_first": 1})
    req, plan, record = _render_ok(engine, raw_source, outdir)
    deletes = [a[0] for n, a in calls(trace) if n == "ProjectManager.DeleteProject"]
    assert deletes == [plan.settings["project"]] * 2
    assert "retry" in record.stderr_tail


def test_delete_that_keeps_failing_is_bounded_and_recorded(quirky, raw_source, outdir):
    engine, trace = quirky({"delete_fails_first": 50})
    req, plan, record = _render_ok(engine, raw_source, outdir)  # the proxy itself is fine
    deletes = [a[0] for n, a in calls(trace) if n == "ProjectManager.DeleteProject"]
    assert 2 <= len(deletes) <= 5
    assert "left in the database" in record.stderr_tail


def test_untitled_project_after_close_never_blocks_the_engine(quirky, raw_source, outdir):
    # Resolve sits on a never-saved Untitled Project (what CloseProject leaves) that blocks switching
    engine, trace = quirky({"untitled_after_close": True}, current=None)
    _render_ok(engine, raw_source, outdir)
    names = [n for n, _ in calls(trace)]
    assert "ProjectManager.CloseProject" not in names and "ProjectManager.SaveProject" not in names
    assert names.index("ProjectManager.LoadProject") < names.index("ProjectManager.CreateProject")


def test_untitled_project_without_an_idle_project_fails_clearly(quirky, raw_source, outdir):
    engine, trace = quirky({"untitled_after_close": True}, current=None, projects=[])
    caps = engine.capabilities()
    assert caps.available
    src = raw_source("r3d")
    from proxx_core.contract.errors import ProxxError

    with pytest.raises(ProxxError) as ei:
        engine.probe(src)
    assert "project switch blocked" in str(ei.value) and "Untitled" in str(ei.value)


# ------------------------------------------------------------------------------ render settings


def test_frame_rate_refused_in_individual_clips_mode_is_not_fatal(quirky, raw_source, outdir):
    engine, trace = quirky({"framerate_single_clip_only": True})
    _render_ok(engine, raw_source, outdir)
    # the rate comes from the timeline, set from the source before the clip is added, and is read back
    sets = [a for n, a in calls(trace) if n == "Project.SetSetting" and a[0] == "timelineFrameRate"]
    assert sets == [["timelineFrameRate", "23.976"]]
    assert any(n == "Project.GetSetting" and a == ["timelineFrameRate"] for n, a in calls(trace))


def test_ignored_render_key_fails_the_clip_naming_the_key(quirky, raw_source, outdir):
    engine, trace = quirky({"ignored_render_keys": ["FormatWidth"]})
    _, failure = _render_fails(engine, raw_source, outdir)
    assert failure.category == "engine_failed"
    assert "ignored" in failure.message and "FormatWidth" in failure.message
    assert "64" in failure.message and "1920" in failure.message


def test_sticky_deliver_state_cannot_leak_into_a_job(quirky, raw_source, outdir):
    sticky = {"AudioSampleRate": 44100, "AudioBitDepth": 16, "SelectAllFrames": False, "MarkIn": 0, "MarkOut": 1}
    engine, trace = quirky({"sticky_deliver": sticky})
    req, plan, record = _render_ok(engine, raw_source, outdir, sample_rate=48000)
    from proxx_core.contract.avprobe import probe_file

    out = probe_file(req.temp_path, probed_by="test")
    assert [(a.sample_rate, a.codec) for a in out.audio] == [(48000, "pcm_s24le")]
    names = [n for n, _ in calls(trace)]
    assert "Project.DeleteAllRenderJobs" in names
    assert names.index("Project.DeleteAllRenderJobs") < names.index("Project.AddRenderJob")


def test_output_named_from_the_source_is_found(quirky, raw_source, outdir):
    engine, trace = quirky({"output_named_from_source": True})
    req, plan, record = _render_ok(engine, raw_source, outdir)
    assert sorted(p.name for p in outdir.iterdir()) == [Path(req.temp_path).name]


# ------------------------------------------------------------------------------ audio layout


def test_multi_mono_output_is_accepted_by_channel_total(quirky, raw_source, outdir):
    engine, _ = quirky({"multi_mono_audio": True})
    req, plan, _ = _render_ok(engine, raw_source, outdir, audio_channels=2)
    v = verify_output(plan, engine.probe_output(plan), engine)
    checks = {c.name: c for c in v.checks}
    assert checks["audio_channel_total"].expected == 2 and checks["audio_channel_total"].actual == 2
    assert checks["audio_streams"].actual == "2 x mono" and checks["audio_streams"].ok


# ------------------------------------------------------------------------------ Windows loading


def test_windows_loading_failure_is_avoided_by_the_child_environment(quirky, raw_source, outdir):
    engine, _ = quirky({"windows_loading": True})
    caps = engine.capabilities()
    assert caps.available, caps.unavailable_reason
    _render_ok(engine, raw_source, outdir)


def test_supervisor_sets_fusion_python_home_for_the_child():
    import sys

    from proxx_engine_resolve.supervisor import worker_environment

    env = worker_environment(sys.executable, {"PATH": "/bin", "FUSION_PYTHON3_HOME": r"C:\Python39"})
    assert env["FUSION_PYTHON3_HOME"] == sys.base_prefix
    assert env["PATH"] == "/bin"


# ------------------------------------------------------------------------------ CinemaDNG gate


def test_cinemadng_refused_at_validation_on_resolve_before_20(make_engine, raw_source):
    from proxx_core.contract.profiles import PROFILES

    engine = make_engine({"version": [19, 1, 3, 7, ""]})
    info = engine.probe(raw_source("dng", name="A001_0001.dng"))
    refusal = engine.claim(info, PROFILES[PROXY])
    assert getattr(refusal, "category", None) == "engine_unavailable"
    assert "CinemaDNG" in refusal.reason and "20.0" in refusal.reason and "19.1" in refusal.reason
    # other RAW on the same Resolve is fine
    r3d = engine.probe(raw_source("r3d"))
    assert engine.claim(r3d, PROFILES[PROXY]).specificity == 100


def test_cinemadng_accepted_on_resolve_20(make_engine, raw_source):
    from proxx_core.contract.profiles import PROFILES

    engine = make_engine({"version": [20, 2, 1, 5, ""]})
    info = engine.probe(raw_source("dng", name="A001_0001.dng"))
    assert engine.claim(info, PROFILES[PROXY]).specificity == 100


def test_blocked_switch_on_a_fresh_database_recovers_creating_the_idle_project(quirky, raw_source, outdir):
    engine, trace = quirky({"blocked_switch": 1}, projects=[], current=None)
    _render_ok(engine, raw_source, outdir)
    created = [a[0] for n, a in calls(trace) if n == "ProjectManager.CreateProject"]
    assert created[:2] == [IDLE, IDLE]  # refused once, created on the retry
