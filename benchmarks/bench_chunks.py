#!/usr/bin/env python3
"""Chunked intra encoding: one long clip split across workers, and the same SHA-256 as one pass.

    python benchmarks/bench_chunks.py [--seconds 60] [--size 1920x1080] [--chunk-seconds 30] [--fleet] [--keep DIR]

Makes a ``--seconds`` ProRes 422 HQ source (testsrc2, 25 fps, stereo) and encodes it to
ProRes Proxy 1080:
(a) one pass, ``proxx run --max-workers 1`` pinned to CPU 0 (``PROXX_CHUNK_SECONDS=0``);
(b) in 30 s chunks, ``proxx run --max-workers 2``, each FFmpeg pinned to a CPU of its own (0 or 1);
(c) with ``--fleet``: two ``proxx worker`` processes (each ``--max-workers 1``, one pinned to CPU 0, the
    other to CPU 1) on a private redis-server, ``proxx submit`` -> ``proxx wait``.
Prints wall times, the CPU seconds of (a) and (b) (what chunking costs in work: seeks, the join), the
speed-up (goal >= 1.7x), each run's timeline and whether every SHA-256 is the one pass's. Needs two
usable CPUs; other load on the machine shows in the wall times (run it on a quiet machine: a pinned
single pass can have a CPU to itself while the other CPU's load moves away, two pinned chunks cannot).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROXX = [sys.executable, "-m", "proxx_cli"]

#: FFmpeg pinned to the first CPU no other FFmpeg of this run holds (flock on one file per CPU)
PINNED_FFMPEG = """#!/bin/sh
for cpu in 0 1; do
  flock -n -E 200 "{locks}/cpu$cpu" taskset -c $cpu "{real}" "$@"
  code=$?
  [ $code -ne 200 ] && exit $code
done
exec taskset -c 0 "{real}" "$@"
"""


def make_long_source(path: Path, seconds: int, size: str) -> None:
    from proxx_engine_ffmpeg.binary import inspect_binary

    ffmpeg = inspect_binary().path
    subprocess.run(
        [
            ffmpeg,
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            f"testsrc2=size={size}:rate=25",
            "-f",
            "lavfi",
            "-i",
            "sine=frequency=440:sample_rate=48000",
            "-map",
            "0:v",
            "-map",
            "1:a",
            "-t",
            str(seconds),
            "-ac",
            "2",
            "-c:v",
            "prores_aw",
            "-profile:v",
            "3",
            "-pix_fmt",
            "yuv422p10le",
            "-c:a",
            "pcm_s24le",
            "-timecode",
            "01:00:00:00",
            str(path),
        ],
        check=True,
    )


def job_file(root: Path, source: Path, label: str) -> Path:
    out = root / f"out-{label}"
    out.mkdir()
    doc = {
        "jobspec_version": "1.0.0",
        "sources": [str(source)],
        "output_dir": str(out),
        "output_name_template": "{source_name}_proxy",
        "proxy_profile": "offline_prores_proxy_1920x1080",
        "codec": "prores",
        "container": "mov",
        "fps_mode": "preserve_source",
        "job_id": f"bench-{label}",
    }
    path = root / f"{label}.json"
    path.write_text(json.dumps(doc))
    return path


def cpu_of_children() -> float:
    """User + system CPU seconds of every child process waited for so far (proxx and its FFmpegs)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(argv: list[str], env: dict) -> tuple[float, dict]:
    t0, c0 = time.monotonic(), cpu_of_children()
    proc = subprocess.run(argv, env=env, capture_output=True, text=True)
    wall = time.monotonic() - t0
    assert proc.returncode == 0, proc.stderr[-2000:]
    result = json.loads(proc.stdout)
    result["_cpu_seconds"] = cpu_of_children() - c0
    return wall, result


def clip_of(result: dict) -> dict:
    clip = result["clips"][0]
    assert clip["status"] == "COMPLETED", clip["failure"]
    return clip


def timeline(clip: dict) -> str:
    """Each command of the clip: when it started (seconds after the clip started) and how long it ran."""
    from datetime import datetime

    def at(stamp: str) -> float:
        return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()

    t0 = at(clip["timing"]["started_at"])
    parts = []
    for c in clip["commands"]:
        purpose = "join" if "concat" in c["argv"] else "chunk" if any(".chunk0" in a for a in c["argv"]) else "cmd"
        parts.append(f"{purpose} +{at(c['timing']['started_at']) - t0:.1f}s/{c['timing']['seconds']:.1f}s")
    return "; ".join(parts) + f"; clip {clip['timing']['seconds']:.1f}s"


def fleet(root: Path, source: Path, env: dict, pinned: str) -> tuple[float, dict]:
    sys.path.insert(0, str(Path(__file__).parent))
    from bench_fleet import free_port, start_workers, stop

    port = free_port()
    broker = f"redis://127.0.0.1:{port}/0"
    redis_proc = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
        stdout=subprocess.DEVNULL,
    )
    time.sleep(0.5)
    try:
        workers = start_workers(2, broker, {**env, "PROXX_FFMPEG": pinned}, root, ("--max-workers", "1"))
        try:
            t0 = time.monotonic()
            sub = subprocess.run(
                [*PROXX, "submit", str(job_file(root, source, "fleet")), "--broker", broker],
                env=env,
                capture_output=True,
                text=True,
            )
            assert sub.returncode == 0, sub.stderr
            res = subprocess.run(
                [*PROXX, "wait", sub.stdout.strip(), "--broker", broker], env=env, capture_output=True, text=True
            )
            wall = time.monotonic() - t0
            assert res.returncode == 0, res.stderr[-2000:]
            return wall, json.loads(res.stdout)
        finally:
            stop(workers)
    finally:
        redis_proc.terminate()
        redis_proc.wait(timeout=10)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--size", default="1920x1080")
    ap.add_argument("--chunk-seconds", default="30", help="PROXX_CHUNK_SECONDS of the chunked runs")
    ap.add_argument("--fleet", action="store_true", help="also two real fleet workers (needs redis-server)")
    ap.add_argument("--keep", help="keep (and reuse) the source in this folder")
    args = ap.parse_args()
    if len(os.sched_getaffinity(0)) < 2 or shutil.which("taskset") is None or shutil.which("flock") is None:
        print("needs two usable CPUs, taskset and flock", file=sys.stderr)
        return 1
    from proxx_engine_ffmpeg.binary import inspect_binary

    root = Path(tempfile.mkdtemp(prefix="proxx-bench-chunks-"))
    keep = Path(args.keep) if args.keep else root
    keep.mkdir(parents=True, exist_ok=True)
    source = keep / f"LONG_{args.seconds}s_{args.size}.mov"
    try:
        if not source.exists():
            t0 = time.monotonic()
            make_long_source(source, args.seconds, args.size)
            print(f"source: {source.name}, {source.stat().st_size / 1e6:.0f} MB, made in {time.monotonic() - t0:.0f} s")
        (root / "locks").mkdir()
        pinned = root / "ffmpeg-pinned"
        pinned.write_text(PINNED_FFMPEG.format(locks=root / "locks", real=inspect_binary().path))
        pinned.chmod(0o755)
        env = {**os.environ, "PROXX_LOAD_PLUGINS": "ffmpeg", "PROXX_CHUNK_SECONDS": args.chunk_seconds}

        t_one, r_one = run(
            ["taskset", "-c", "0", *PROXX, "run", str(job_file(root, source, "one")), "--max-workers", "1"],
            {**env, "PROXX_CHUNK_SECONDS": "0"},
        )
        one = clip_of(r_one)
        print(
            f"(a) one pass, 1 worker on CPU 0:            {t_one:6.1f} s  CPU {r_one['_cpu_seconds']:.1f} s  "
            f"sha256 {one['output']['sha256'][:16]}"
        )

        t_two, r_two = run(
            [*PROXX, "run", str(job_file(root, source, "two")), "--max-workers", "2"],
            {**env, "PROXX_FFMPEG": str(pinned)},
        )
        two = clip_of(r_two)
        same = two["output"]["sha256"] == one["output"]["sha256"]
        print(
            f"(b) {two['chunks']['count']} chunks, 2 workers on CPU 0 and 1:   {t_two:6.1f} s  "
            f"CPU {r_two['_cpu_seconds']:.1f} s  x{t_one / t_two:.2f} (goal >= 1.7)  identical: {same}"
        )
        print(f"    {timeline(two)}")
        if args.fleet:
            t_fleet, r_fleet = fleet(root, source, env, str(pinned))
            clip = clip_of(r_fleet)
            same_f = clip["output"]["sha256"] == one["output"]["sha256"]
            print(
                f"(c) fleet, 2 workers (1 slot each), CPU 0/1: {t_fleet:6.1f} s  x{t_one / t_fleet:.2f}  "
                f"chunks {(clip.get('chunks') or {}).get('count')}  identical: {same_f}"
            )
            print(f"    {timeline(clip)}")
            same = same and same_f
    finally:
        shutil.rmtree(root, ignore_errors=True)
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
