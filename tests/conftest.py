"""Shared fixtures: real tiny media made with the pinned ffmpeg, job files, and a CLI runner."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from proxx_engine_ffmpeg.testmedia import make_source

PROFILE_CODECS = {
    "offline_h264_1920x1080": ("h264", "mp4"),
    "offline_h264_1280x720": ("h264", "mp4"),
    "offline_prores_proxy_1920x1080": ("prores", "mov"),
    "offline_prores_lt_1920x1080": ("prores", "mov"),
    "offline_dnxhr_lb_1920x1080": ("dnxhr", "mxf"),
}


@pytest.fixture
def media(tmp_path):
    """make(name, **kw) -> absolute Path of a real media file in tmp/media."""
    root = tmp_path / "media"
    root.mkdir()

    def make(name: str, **kw) -> Path:
        kw.setdefault("size", "96x54")
        kw.setdefault("frames", 6)
        return make_source(root / name, **kw)

    return make


@pytest.fixture
def outdir(tmp_path):
    d = tmp_path / "out"
    d.mkdir()
    return d


def job_doc(sources, output_dir, profile="offline_prores_proxy_1920x1080", **extra) -> dict:
    codec, container = PROFILE_CODECS[profile]
    doc = {
        "jobspec_version": "1.0.0",
        "sources": [str(s) for s in sources],
        "output_dir": str(output_dir),
        "output_name_template": "{source_name}_proxy",
        "proxy_profile": profile,
        "codec": codec,
        "container": container,
        "fps_mode": "preserve_source",
    }
    doc.update(extra)
    return doc


@pytest.fixture
def write_job(tmp_path):
    counter = iter(range(1, 10_000))

    def write(doc, name: str | None = None) -> Path:
        path = tmp_path / (name or f"job{next(counter)}.json")
        path.write_text(doc if isinstance(doc, str) else json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        return path

    return write


class CLIResult:
    def __init__(self, proc: subprocess.CompletedProcess):
        self.returncode = proc.returncode
        self.stdout = proc.stdout
        self.stderr = proc.stderr

    def json(self):
        return json.loads(self.stdout)


def run_cli(*args, env_extra: dict | None = None, timeout: float = 240) -> CLIResult:
    env = dict(os.environ)
    env.update(env_extra or {})
    proc = subprocess.run([sys.executable, "-m", "proxx_cli", *map(str, args)], capture_output=True, text=True,
                          env=env, timeout=timeout, stdin=subprocess.DEVNULL)
    return CLIResult(proc)


@pytest.fixture
def proxx():
    return run_cli
