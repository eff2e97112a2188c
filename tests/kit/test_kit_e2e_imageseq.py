"""End to end, as an operator runs it: `proxx run job.json` in a subprocess with every installed engine.
A numbered image sequence routes to the example engine (specificity 50 beats FFmpeg's generic 10),
a movie in the same job routes to FFmpeg, and both proxies are verified."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("proxx_engine_imageseq", reason="install ./examples/proxx-engine-imageseq")
from proxx_engine_ffmpeg.testmedia import make_source  # noqa: E402
from proxx_engine_imageseq.samples import make_sequence  # noqa: E402

PROXX = Path(sys.executable).with_name("proxx")


def proxx(*args, cwd):
    argv = [str(PROXX)] if PROXX.exists() else [sys.executable, "-m", "proxx_cli"]
    env = {k: v for k, v in os.environ.items() if k != "PROXX_LOAD_PLUGINS"}
    return subprocess.run(
        [*argv, *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        stdin=subprocess.DEVNULL,
        timeout=240,
    )


@pytest.fixture
def job(tmp_path):
    seq = make_sequence(
        tmp_path / "plates" / "A001", prefix="A001_plate.", first=86400, frames=5, ext="dpx", frame_rate="24000/1001"
    )
    (tmp_path / "camera").mkdir()
    movie = make_source(
        tmp_path / "camera" / "A001_C001.mov", size="64x36", rate="25/1", frames=5, timecode="10:00:00:00", audio=(2,)
    )
    out = tmp_path / "proxies"
    out.mkdir()
    doc = {
        "jobspec_version": "1.0.0",
        "sources": [str(seq), str(movie)],
        "output_dir": str(out),
        "output_name_template": "{index}_{source_name}",
        "proxy_profile": "offline_prores_proxy_1920x1080",
        "codec": "prores",
        "container": "mov",
        "fps_mode": "preserve_source",
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path, doc


def test_proxx_run_routes_the_sequence_to_the_example_engine(job, tmp_path):
    path, doc = job
    proc = proxx("run", path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    result = json.loads(proc.stdout)
    assert result["status"] == "COMPLETED"
    seq_clip, movie_clip = result["clips"]
    assert (seq_clip["engine"], movie_clip["engine"]) == ("imageseq", "ffmpeg")

    claims = {c["engine"]: c["specificity"] for c in seq_clip["route"]["candidates"] if c["claimed"]}
    assert claims["imageseq"] == 50 and claims["ffmpeg"] == 10  # FFmpeg would make a one-frame still

    info = seq_clip["source"]["info"]
    assert info["container"] == "imageseq" and info["format_tag"] == "dpx"
    assert info["video"]["frame_count"] == 5  # the number of images
    assert info["video"]["frame_rate"] == "24000/1001"  # from the sidecar
    assert info["start_timecode"] == "01:00:00:00"  # frame 86400 at 24 (nominal) fps

    verification = seq_clip["output"]["verification"]
    assert verification["ok"] is True
    checks = {c["name"]: c for c in verification["checks"]}
    assert checks["frame_count"]["actual"] == 5 and checks["frame_rate"]["actual"] == "24000/1001"
    assert checks["start_timecode"]["actual"] == "01:00:00:00"
    assert Path(seq_clip["output"]["path"]) == Path(doc["output_dir"]) / "001_A001_plate.86400.mov"
    assert sorted(os.listdir(doc["output_dir"])) == ["001_A001_plate.86400.mov", "002_A001_C001.mov"]
    engines = {e["name"]: e for e in result["environment"]["engines"]}
    assert engines["imageseq"]["version"] == "1.1.0" and len(engines["imageseq"]["binary_sha256"]) == 64


def test_proxx_plan_shows_the_routing_without_running(job, tmp_path):
    path, doc = job
    proc = proxx("plan", path, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    plan = json.loads(proc.stdout)
    assert [c["engine"] for c in plan["clips"]] == ["imageseq", "ffmpeg"]
    argv = plan["clips"][0]["commands"][0]["argv"]
    assert "-start_number" in argv and argv[argv.index("-start_number") + 1] == "86400"
    assert os.listdir(doc["output_dir"]) == []


def test_a_pinned_engine_overrides_the_specificity(job, tmp_path):
    path, doc = job
    doc = dict(doc, engine="imageseq")
    path.write_text(json.dumps(doc), encoding="utf-8")
    proc = proxx("validate", path, cwd=tmp_path)
    assert proc.returncode == 1  # the movie is not an image sequence: the pin is refused for it
    assert "/sources/1" in proc.stderr and "engine 'imageseq' (set in /engine) cannot make this clip" in proc.stderr


def test_a_malformed_sidecar_fails_validation_instead_of_falling_back(job, tmp_path):
    path, doc = job
    sidecar = Path(doc["sources"][0]).with_name("A001_plate.proxx.json")
    sidecar.write_text('{"frame_rate": "23.976"}', encoding="utf-8")
    proc = proxx("validate", path, cwd=tmp_path)
    assert proc.returncode == 1 and str(sidecar) in proc.stderr
