"""Helpers shared by the test modules (imported by name: `from proxxtest import job_doc`)."""

from __future__ import annotations

import json
import os
import subprocess
import sys

PROFILE_CODECS = {
    "offline_h264_1920x1080": ("h264", "mp4"),
    "offline_h264_1280x720": ("h264", "mp4"),
    "offline_prores_proxy_1920x1080": ("prores", "mov"),
    "offline_prores_lt_1920x1080": ("prores", "mov"),
    "offline_dnxhr_lb_1920x1080": ("dnxhr", "mxf"),
}


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
    proc = subprocess.run(
        [sys.executable, "-m", "proxx_cli", *map(str, args)],
        capture_output=True,
        text=True,
        env=env,
        timeout=timeout,
        stdin=subprocess.DEVNULL,
    )
    return CLIResult(proc)


def drain_pty(leader: int) -> bytes:
    """Everything written to a pseudo-terminal until its last writer closes it (Linux reports that
    as EIO on the leader)."""
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:
            break
        if not data:
            break
        chunks.append(data)
    return b"".join(chunks)
