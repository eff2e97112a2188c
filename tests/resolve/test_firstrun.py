"""The "first real run" command: renders one clip per RAW family and writes a report that
read_report() reads back. Here against the simulator (enabled by the test-only switch), in a real
child process exactly as an operator would run it."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from proxx_engine_resolve.engine import READS
from proxx_engine_resolve.firstrun import SCHEMA, VERSION, read_report
from proxx_engine_resolve.simulator import write_raw_source

KINDS = {
    "r3d": "A001.R3D",
    "braw": "A002.braw",
    "prores_raw": "A003.mov",
    "ari": "A004.ari",
    "mxf_xocn": "A005.mxf",
    "crm": "A006.crm",
    "dng": "A007_0001.dng",
    "nev": "A008.nev",
}


def _firstrun(tmp_path, scenario: dict, sources, *extra):
    sc = tmp_path / "scenario.json"
    sc.write_text(json.dumps(scenario))
    env = {
        **os.environ,
        "PROXX_RESOLVE_SIMULATOR": str(sc),
        "PROXX_RESOLVE_ALLOW_SIMULATOR": "1",
        "PROXX_RESOLVE_SCRATCH": str(tmp_path / "scratch"),
        "PROXX_RESOLVE_CALL_TIMEOUT": "10",
    }
    report = tmp_path / "report.json"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "proxx_engine_resolve.firstrun",
            "--sources",
            *map(str, sources),
            "--out",
            str(report),
            "--output-dir",
            str(tmp_path / "proxies"),
            *extra,
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    return proc, report


def test_first_run_renders_each_family_and_the_report_reads_back(tmp_path):
    media = tmp_path / "media"
    media.mkdir()
    sources = [write_raw_source(media / name, kind, frames=3) for kind, name in KINDS.items()]
    # a Resolve Proxx has used before: its idle project exists and is open
    scenario = {
        "projects": ["proxx_idle"],
        "current": "proxx_idle",
        "quirks": {"blocked_switch": 1, "delete_fails_first": 1},
    }
    proc, report_path = _firstrun(tmp_path, scenario, sources)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    report = read_report(report_path)
    assert (report["schema"], report["version"]) == (SCHEMA, VERSION)
    assert "SIMULATOR" in report["engine"]["build"]
    families = sorted(c["family"] for c in report["clips"])
    assert families == sorted({"r3d", "braw", "prores_raw", "arriraw", "x-ocn", "canon_raw", "cinemadng", "nraw"})
    assert all(c["ok"] for c in report["clips"]), [c for c in report["clips"] if not c["ok"]]
    assert report["untested_families"] == sorted(set(READS) - set(families))
    first = report["clips"][0]
    assert {c["name"] for c in first["checks"]} >= {"frame_count", "audio_channel_total", "audio_streams"}
    # the evidence of what the engine did on this Resolve is in the report
    assert "recovered from a blocked project switch" in first["records"][0]["stderr_tail"]
    assert "succeeded on retry 2" in first["records"][0]["stderr_tail"]
    assert sorted(p.name for p in (tmp_path / "proxies").iterdir()) == sorted(
        f"{s.stem}_offline_prores_proxy_1920x1080.mov" for s in sources
    )


def test_first_run_records_a_failed_clip_with_its_category(tmp_path):
    src = write_raw_source(tmp_path / "A001.R3D", "r3d")
    proc, report_path = _firstrun(tmp_path, {"quirks": {"ignored_render_keys": ["FormatHeight"]}}, [src])
    assert proc.returncode == 2, proc.stdout + proc.stderr
    (clip,) = read_report(report_path)["clips"]
    assert clip["ok"] is False and clip["category"] == "engine_failed" and "FormatHeight" in clip["message"]


def test_first_run_without_resolve_says_why(tmp_path):
    src = write_raw_source(tmp_path / "A001.R3D", "r3d")
    proc, report_path = _firstrun(tmp_path, {"running": False}, [src])
    assert proc.returncode == 4
    report = read_report(report_path)
    assert report["engine"]["available"] is False and "scriptapp" in report["engine"]["unavailable_reason"]
    assert report["clips"] == [] and report["untested_families"] == sorted(READS)


@pytest.mark.parametrize(
    "mutate, problem",
    [
        (lambda r: r.update(schema="something-else"), "schema"),
        (lambda r: r.update(version=VERSION + 1), "version"),
        (lambda r: r.pop("clips"), "clips"),
        (lambda r: r["clips"].append({"source": "x", "family": "r3d", "ok": False}), "category"),
    ],
)
def test_read_report_refuses_what_it_does_not_understand(tmp_path, mutate, problem):
    good = {"schema": SCHEMA, "version": VERSION, "host": {}, "engine": {}, "clips": [], "untested_families": []}
    read_report(_write(tmp_path, good))
    mutate(good)
    with pytest.raises(ValueError, match=problem):
        read_report(_write(tmp_path, good))


def _write(tmp_path, data):
    p = tmp_path / "r.json"
    p.write_text(json.dumps(data))
    return p
