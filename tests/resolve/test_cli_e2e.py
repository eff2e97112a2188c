"""End to end through the `proxx` command: a mixed job, one RAW clip rendered by the Resolve
engine (simulator backend, enabled by the test-only environment switch) and one ProRes .mov made
by the FFmpeg engine; and the same job on a node without Resolve, failing validation clearly."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from .conftest import PROXY, make_media

PROXX = shutil.which("proxx", path=str(Path(sys.executable).parent))

pytestmark = pytest.mark.skipif(PROXX is None, reason="the proxx CLI (proxx-cli) is not installed")


def _have_ffmpeg_engine() -> bool:
    from importlib.metadata import entry_points

    return any(ep.name == "ffmpeg" for ep in entry_points(group="proxx"))


def _job(tmp_path, sources):
    out = tmp_path / "proxies"
    out.mkdir()
    job = {
        "jobspec_version": "1.0.0",
        "sources": [str(s) for s in sources],
        "output_dir": str(out),
        "output_name_template": "{index}_{source_name}_proxy",
        "proxy_profile": PROXY,
        "codec": "prores",
        "container": "mov",
        "fps_mode": "preserve_source",
    }
    path = tmp_path / "job.json"
    path.write_text(json.dumps(job))
    return path, out


def _env(**extra):
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PROXX_", "RESOLVE_SCRIPT"))}
    env.update(extra)
    return env


@pytest.mark.skipif(not _have_ffmpeg_engine(), reason="proxx-engine-ffmpeg is not installed")
def test_mixed_job_raw_via_resolve_simulator_and_prores_via_ffmpeg(tmp_path, raw_source):
    raw = raw_source("braw", start_timecode="02:00:00:00")
    mov = make_media(tmp_path / "B001_C003.mov", ["-c:v", "prores_ks", "-profile:v", "2"], size="64x36")
    job, out = _job(tmp_path, [raw, mov])
    scenario = tmp_path / "scenario.json"
    scenario.write_text("{}")
    env = _env(
        PROXX_RESOLVE_SIMULATOR=str(scenario),
        PROXX_RESOLVE_ALLOW_SIMULATOR="1",
        PROXX_RESOLVE_SCRATCH=str(tmp_path / "scratch"),
        PROXX_RESOLVE_CALL_TIMEOUT="10",
    )

    plan = subprocess.run([PROXX, "plan", str(job)], capture_output=True, text=True, env=env, timeout=120)
    assert plan.returncode == 0, plan.stderr
    clips = json.loads(plan.stdout)["clips"]
    assert [c["engine"] for c in clips] == ["resolve", "ffmpeg"]

    run = subprocess.run([PROXX, "run", str(job)], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr + run.stdout
    result = json.loads(run.stdout)
    assert result["status"] == "COMPLETED"
    c1, c2 = result["clips"]
    assert (c1["engine"], c2["engine"]) == ("resolve", "ffmpeg")
    assert c1["commands"][0]["argv"][1:4] == ["-m", "proxx_engine_resolve.worker", "render"]
    assert c1["commands"][0]["exit_code"] == 0
    assert Path(c1["output"]["path"]).is_file() and c1["output"]["sha256"]
    assert sorted(p.name for p in out.iterdir()) == ["001_A001_C002_braw_proxy.mov", "002_B001_C003_proxy.mov"]
    env_engines = json.dumps(result["environment"])
    assert "SIMULATOR" in env_engines  # the result says it was not a real Resolve


def test_raw_job_without_resolve_fails_validation_naming_resolve(tmp_path, raw_source):
    raw = raw_source("r3d")
    job, _ = _job(tmp_path, [raw])
    # a node without Resolve: nothing set, no fusionscript at the default paths of this test machine
    env = _env(RESOLVE_SCRIPT_LIB=str(tmp_path / "no-such-fusionscript.so"))
    res = subprocess.run([PROXX, "validate", str(job)], capture_output=True, text=True, env=env, timeout=60)
    assert res.returncode == 1
    doc = json.loads(res.stdout)
    (problem,) = doc["problems"]
    assert problem["path"] == "/sources/0"
    assert "Resolve" in problem["message"]
    assert problem["category"] == "engine_unavailable", problem
