#!/usr/bin/env python3
"""Start-up costs: `proxx --version` and `proxx validate` of a 10-source job (tiny sources, and 1080p
ProRes HQ camera-like ones), over a bare interpreter.

    python benchmarks/bench_startup.py [--repeat 7]

Interleaved runs (bare, --version, validate, bare, ...) so machine load hits each alike; medians of
wall time and of child CPU time, and the fastest run (on a shared, noisy host the least disturbed).
The FFmpeg identity cache is warm (one run before timing).
Goals (issue 12): --version <= 80 ms over bare; validate <= 0.25 s.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proxx_engine_ffmpeg.testmedia import make_source


def timed(argv) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, capture_output=True, stdin=subprocess.DEVNULL, check=True)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def write_job(folder: Path, sources: list[Path]) -> Path:
    (folder / "out").mkdir(parents=True, exist_ok=True)
    job = folder / "job.json"
    job.write_text(
        json.dumps(
            {
                "jobspec_version": "1.0.0",
                "sources": [str(s) for s in sources],
                "output_dir": str(folder / "out"),
                "output_name_template": "{source_name}_proxy",
                "proxy_profile": "offline_prores_proxy_1920x1080",
                "codec": "prores",
                "container": "mov",
                "fps_mode": "preserve_source",
            }
        )
    )
    return job


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="proxx-bench-start-"))
    try:
        for folder in ("tiny", "hd"):
            (base / folder).mkdir()
        tiny = write_job(
            base / "tiny", [make_source(base / "tiny" / f"S{i:02d}.mov", size="96x54", frames=3) for i in range(10)]
        )
        seed = make_source(
            base / "hd" / "A001C001.mov",
            size="1920x1080",
            rate="24000/1001",
            frames=48,
            timecode="01:00:00:00",
            audio=(1, 1),
        )
        hd = write_job(
            base / "hd", [seed] + [Path(shutil.copy(seed, base / "hd" / f"A001C{i:03d}.mov")) for i in range(2, 11)]
        )
        cases = {
            "bare interpreter": [sys.executable, "-c", "pass"],
            "proxx --version": [sys.executable, "-m", "proxx_cli", "--version"],
            "proxx validate (10 sources)": [sys.executable, "-m", "proxx_cli", "validate", str(tiny)],
            "proxx validate (10 x 2 s 1080p ProRes HQ, 2 tracks)": [
                sys.executable,
                "-m",
                "proxx_cli",
                "validate",
                str(hd),
            ],
        }
        timed(cases["proxx validate (10 sources)"])  # warm the binary-facts cache
        runs: dict[str, list[tuple[float, float]]] = {k: [] for k in cases}
        for _ in range(args.repeat):
            for name, argv in cases.items():
                runs[name].append(timed(argv))
        bare = statistics.median(w for w, _ in runs["bare interpreter"])
        print("| command | median wall s | fastest wall s | median CPU s | wall over bare s |")
        print("| --- | --- | --- | --- | --- |")
        for name, values in runs.items():
            wall = statistics.median(w for w, _ in values)
            cpu = statistics.median(c for _, c in values)
            print(f"| {name} | {wall:.3f} | {min(w for w, _ in values):.3f} | {cpu:.3f} | {wall - bare:+.3f} |")
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
