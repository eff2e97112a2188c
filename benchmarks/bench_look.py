#!/usr/bin/env python3
"""What a look and a burn-in cost per frame, next to a plain proxy.

    python benchmarks/bench_look.py [--frames 48] [--size 1920x1080]
                                    [--profile offline_prores_proxy_1920x1080] [--repeat 3]

Makes a ProRes HQ source with timecode, plans one clip per variant with `proxx plan` (plain, 33^3
LUT, CDL, CDL + LUT, burn-in of two elements + watermark, everything), then runs each variant's
exact encode argv on its own, interleaved (plain, lut, ..., plain, lut, ...) so shared machine load
falls on every variant alike. Prints the median CPU time (user + sys of ffmpeg) and wall time per
frame, and each variant's extra CPU per frame over the plain proxy.

Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proxx_engine_ffmpeg.testmedia import make_source

CODECS = {
    "offline_h264_1920x1080": ("h264", "mp4"),
    "offline_prores_proxy_1920x1080": ("prores", "mov"),
    "offline_dnxhr_lb_1920x1080": ("dnxhr", "mxf"),
}
CDL = {"slope": [1.1, 1.0, 0.95], "offset": [0.01, 0.0, -0.01], "power": [1.0, 1.1, 1.0], "saturation": 0.9}
BURN = [
    {"text": "{timecode}  {frame}", "position": "bottom_right", "size": 0.04},
    {"text": "{reel} {source_name} {job_id}", "position": "top_left", "size": 0.03},
]


def write_cube(path: Path, size: int = 33) -> Path:
    rows = []
    for b in range(size):
        for g in range(size):
            for r in range(size):
                x, y, z = r / (size - 1), g / (size - 1), b / (size - 1)
                rows.append(f"{x**0.9:.6f} {(y * 0.9 + x * 0.1):.6f} {z**1.1:.6f}")
    path.write_text(f"LUT_3D_SIZE {size}\n" + "\n".join(rows) + "\n")
    return path


def variants(lut: Path) -> dict[str, dict]:
    return {
        "plain": {},
        "lut": {"look": {"lut": str(lut)}},
        "cdl": {"look": {"cdl": CDL}},
        "cdl+lut": {"look": {"cdl": CDL, "lut": str(lut)}},
        "burn_in": {"burn_in": BURN, "watermark": {"text": "DAILIES", "opacity": 0.3}},
        "all": {
            "look": {"cdl": CDL, "lut": str(lut)},
            "burn_in": BURN,
            "watermark": {"text": "DAILIES", "opacity": 0.3},
        },
    }


def encode_argv(base: Path, src: Path, profile: str, extra: dict, name: str) -> list[str]:
    codec, container = CODECS[profile]
    out = base / f"out-{name}"
    out.mkdir(exist_ok=True)
    doc = {
        "jobspec_version": "1.1.0",
        "sources": [str(src)],
        "output_dir": str(out),
        "output_name_template": "{source_name}_proxy",
        "proxy_profile": profile,
        "codec": codec,
        "container": container,
        "fps_mode": "preserve_source",
        "overwrite": True,
        **extra,
    }
    job = base / f"job-{name}.json"
    job.write_text(json.dumps(doc))
    proc = subprocess.run(
        [sys.executable, "-m", "proxx_cli", "plan", str(job)], capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        sys.exit(f"proxx plan failed:\n{proc.stderr}")
    commands = json.loads(proc.stdout)["clips"][0]["commands"]
    return next(c for c in commands if c["purpose"] == "ffmpeg encode")["argv"]


def cpu_run(argv: list[str]) -> tuple[float, float]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, capture_output=True, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime), wall


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=48)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--profile", default="offline_prores_proxy_1920x1080", choices=sorted(CODECS))
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-look-") as tmp:
        base = Path(tmp)
        src = make_source(
            base / "A001_C001.mov", size=args.size, rate="24000/1001", frames=args.frames, audio=(), reel="A001"
        )
        lut = write_cube(base / "show.cube")
        argvs = {name: encode_argv(base, src, args.profile, extra, name) for name, extra in variants(lut).items()}
        cpu: dict[str, list[float]] = {n: [] for n in argvs}
        wall: dict[str, list[float]] = {n: [] for n in argvs}
        for _ in range(args.repeat):
            for name, argv in argvs.items():
                c, w = cpu_run(argv)
                cpu[name].append(c)
                wall[name].append(w)
        plain = statistics.median(cpu["plain"]) / args.frames
        print(
            f"{args.profile}, {args.size} source, {args.frames} frames, median of {args.repeat}, {os.cpu_count()} CPUs"
        )
        print(f"{'variant':10} {'CPU ms/frame':>13} {'wall ms/frame':>14} {'extra CPU ms/frame':>19}")
        for name in argvs:
            c = statistics.median(cpu[name]) / args.frames
            w = statistics.median(wall[name]) / args.frames
            print(f"{name:10} {c * 1000:13.1f} {w * 1000:14.1f} {(c - plain) * 1000:+19.1f}")


if __name__ == "__main__":
    main()
