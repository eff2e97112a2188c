#!/usr/bin/env python3
"""`proxx validate` of a job with many small sources: wall time and peak memory per size.

    python benchmarks/bench_validate.py [--sizes 1000 10000] [--template "{source_name}_proxy"]

Every source is a hard link (under its own name, spread over a few card folders) of one tiny real
ProRes clip, so the job is what a big ingest looks like to Proxx: every source is probed by every
installed engine, named, checked against every other name and against every source. Each size runs
`proxx validate` in a fresh process; peak memory is that process's maximum resident set size.

Goal (issue 9): 10,000 sources at most 12x the time of 1,000, under 30 s and 200 MB on 2 cores.
Measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proxx_engine_ffmpeg.testmedia import make_source


def build(root: Path, count: int, template: str) -> Path:
    clip = make_source(root / "seed.mov", size="64x36", frames=2, audio=(1,))
    sources = []
    for i in range(count):
        card = root / f"card{i % 8:02d}"
        card.mkdir(exist_ok=True)
        path = card / f"A{i // 1000:03d}C{i:05d}.mov"
        os.link(clip, path)
        sources.append(str(path))
    out = root / "out"
    out.mkdir()
    doc = {
        "jobspec_version": "1.0.0",
        "sources": sources,
        "output_dir": str(out),
        "output_name_template": template,
        "proxy_profile": "offline_prores_proxy_1920x1080",
        "codec": "prores",
        "container": "mov",
        "fps_mode": "preserve_source",
    }
    job = root / "job.json"
    job.write_text(json.dumps(doc))
    return job


def measure(job: Path) -> tuple[float, float, int]:
    """(seconds, peak RSS in MB, exit code) of one `proxx validate`."""
    t0 = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, "-m", "proxx_cli", "validate", str(job)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.monotonic() - t0
    return seconds, usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--template", default="{source_name}_proxy")
    args = parser.parse_args()
    rows = []
    for n in args.sizes:
        with tempfile.TemporaryDirectory(prefix="proxx-bench-validate-") as tmp:
            job = build(Path(tmp), n, args.template)
            seconds, mb, code = measure(job)
        rows.append((n, seconds, mb, code))
        print(f"{n:>6} sources: validate {seconds:7.2f} s  peak {mb:6.1f} MB  exit {code}", flush=True)
    if len(rows) >= 2:
        (n0, s0, _, _), (n1, s1, _, _) = rows[0], rows[-1]
        print(f"growth {n0} -> {n1} sources: {s1 / s0:.1f}x time ({n1 / n0:.0f}x sources)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
