"""RAW detection without Resolve, availability reporting, plugin loading."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from proxx_core.contract.profiles import PROFILES
from proxx_core.support.plugins import load_engines
from proxx_engine_resolve.detect import detect_raw
from proxx_engine_resolve.engine import ResolveEngine

from .conftest import DNXHR, PROXY, make_media


@pytest.mark.parametrize(
    "kind, tag, basis",
    [
        ("r3d", "r3d", "signature"),
        ("braw", "braw", "signature"),
        ("prores_raw", "prores_raw", "signature"),
        ("ari", "arriraw", "signature"),
        ("mxf_arriraw", "arriraw", "signature"),
        ("mxf_xocn", "x-ocn", "signature"),
        ("crm", "canon_raw", "signature"),
        ("dng", "cinemadng", "signature"),
        ("nev", "nraw", "extension"),
    ],
)
def test_raw_signatures_are_detected(raw_source, kind, tag, basis):
    det = detect_raw(raw_source(kind))
    assert det is not None and (det.tag, det.basis) == (tag, basis)
    assert det.format_tag == f"{tag}@{basis}"


def test_signature_beats_extension(raw_source, tmp_path):
    # an R3D renamed .mov is still R3D; a text file named .r3d/.braw is not RAW
    r3d = raw_source("r3d", name="renamed.mov")
    assert detect_raw(r3d).tag == "r3d"
    for name in ("fake.r3d", "fake.ari", "fake.mxf", "fake.dng", "fake.crm"):
        (tmp_path / name).write_bytes(b"hello, not media at all" * 10)
        assert detect_raw(tmp_path / name) is None, name


def test_dnxhd_prores_and_avc_media_are_not_claimed(media_dir, make_engine):
    """Real MXF/MOV files made by FFmpeg: the Resolve engine's probe returns None (FFmpeg's)."""
    files = [
        make_media(media_dir / "dnxhd.mxf", ["-c:v", "dnxhd", "-profile:v", "dnxhr_lb", "-pix_fmt", "yuv422p"]),
        make_media(media_dir / "avc.mxf", ["-c:v", "libx264", "-pix_fmt", "yuv420p"], audio=False, fmt="mxf"),
        make_media(media_dir / "prores.mov", ["-c:v", "prores_ks", "-profile:v", "0"], size="64x36"),
    ]
    engine = make_engine({"running": False})
    for f in files:
        t0 = time.monotonic()
        assert detect_raw(f) is None, f
        assert engine.probe(f) is None, f
        assert time.monotonic() - t0 < 0.5
    assert engine.last_run is None  # never even asked Resolve


def test_capabilities_without_resolve_installed_are_quick_and_say_why(monkeypatch, tmp_path):
    for var in ("RESOLVE_SCRIPT_LIB", "RESOLVE_SCRIPT_API", "PROXX_RESOLVE_SIMULATOR"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setattr(
        "proxx_engine_resolve.discovery.default_paths",
        lambda platform=None: ((str(tmp_path / "nope/fusionscript.so"),), (str(tmp_path / "nope"),)),
    )
    engine = ResolveEngine.from_environment()
    t0 = time.monotonic()
    caps = engine.capabilities()
    assert time.monotonic() - t0 < 1.0
    assert not caps.available and caps.profiles == ()
    assert "fusionscript" in caps.unavailable_reason and "RESOLVE_SCRIPT_LIB" in caps.unavailable_reason
    assert "Studio" in caps.unavailable_reason
    assert any("free edition" in n for n in caps.notes)
    assert engine.identity().name == "resolve"


def test_production_never_falls_back_to_the_simulator(monkeypatch, tmp_path):
    monkeypatch.setenv("PROXX_RESOLVE_SIMULATOR", str(tmp_path / "scenario.json"))
    monkeypatch.delenv("PROXX_RESOLVE_ALLOW_SIMULATOR", raising=False)
    engine = ResolveEngine.from_environment()
    assert engine.backend == "resolve"
    assert any("ignored" in n for n in engine._extra_notes)
    monkeypatch.setenv("PROXX_RESOLVE_ALLOW_SIMULATOR", "1")
    assert ResolveEngine.from_environment().backend == "simulator"


@pytest.mark.parametrize(
    "scenario, words",
    [
        ({"running": False}, ["not running", "-nogui", "External scripting", "Studio"]),
        ({"scripting": "none"}, ["scriptapp('Resolve') returned None", "Local"]),
        ({"edition": "free"}, ["free DaVinci Resolve", "Studio"]),
        ({"edition": "free", "free_connects": True}, ["free edition", "Install DaVinci Resolve Studio"]),
        ({"import_error": True}, ["Could not locate module dependencies"]),
        ({"database": False}, ["no project database"]),
    ],
)
def test_unavailable_resolve_refuses_raw_with_reason(make_engine, raw_source, scenario, words):
    engine = make_engine(scenario)
    caps = engine.capabilities()
    assert not caps.available
    for w in words:
        assert w in caps.unavailable_reason, (w, caps.unavailable_reason)
    info = engine.probe(raw_source("braw"))
    assert info.is_raw and info.video is None and info.format_tag == "braw@signature"
    refusal = engine.claim(info, PROFILES[PROXY])
    assert refusal.category == "engine_unavailable"
    assert "DaVinci Resolve Studio" in refusal.reason and words[0] in refusal.reason


def test_hung_connection_check_is_bounded(make_engine):
    engine = make_engine({"faults": {"scriptapp": {"hang": True}}}, call_timeout=1.0)
    t0 = time.monotonic()
    caps = engine.capabilities()
    assert time.monotonic() - t0 < 5
    assert not caps.available and "did not return" in caps.unavailable_reason


def test_claims(make_engine, raw_source):
    engine = make_engine()
    info = engine.probe(raw_source("r3d"))
    assert engine.claim(info, PROFILES[DNXHR]).specificity == 100
    refusal = engine.claim(info, PROFILES["offline_h264_1920x1080"])
    assert refusal.category == "unsupported_source"
    assert "offline_h264_1920x1080" in refusal.reason
    non_raw = info.__class__(container="mov", probed_by="ffmpeg")
    assert engine.claim(non_raw, PROFILES[PROXY]).category == "unsupported_source"


def test_plugin_import_is_light_and_registers():
    code = (
        "import sys, proxx_engine_resolve.plugin as p; "
        "print(sorted(m for m in ('av', 'proxx_engine_resolve.engine', 'proxx_engine_resolve.simulator', "
        "'fusionscript', 'DaVinciResolveScript') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd="/")
    assert out.stdout.strip() == "[]"
    import proxx_engine_resolve.plugin as plugin

    engines = load_engines(plugins=[plugin], entry_points=False)
    assert engines.names == ("resolve",) and not engines.failures
