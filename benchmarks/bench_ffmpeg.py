#!/usr/bin/env python3
"""Proxx vs the bare FFmpeg command it runs, and throughput vs --max-workers.

    python benchmarks/bench_ffmpeg.py [--seconds 10] [--profile offline_h264_1920x1080] [--repeat 3]

(a) makes a multi-second 1080p ProRes HQ source with two mono tracks and timecode, runs
    `proxx run` on it (wall time includes interpreter start, probing, planning, verification and
    hashing), then runs the exact ffmpeg argv recorded in the result on its own; prints the median
    wall-time ratio (goal: <= 1.10).
    Runs are paired and interleaved (proxx, bare, proxx, bare, ...); the figure is the median of the
    per-pair ratios, so machine load shared by both halves of a pair cancels out.
(c) the usual one-liner (`ffmpeg -i SRC -vf scale=-2:720 -c:v libx264 -crf 23 -c:a aac OUT.mp4`):
    wall-time ratio, and what it keeps (audio streams, timecode) next to Proxx's output.
(b) makes a batch of clips and prints clips/minute for `proxx run --max-workers 1`, `2` and `auto`.
(e) Proxx's fixed cost per job: a 3-frame clip run by Proxx minus the same argv(s) run bare.

Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proxx_engine_ffmpeg.testmedia import make_source

CODECS = {
    "offline_h264_1920x1080": ("h264", "mp4"),
    "offline_h264_1280x720": ("h264", "mp4"),
    "offline_prores_proxy_1920x1080": ("prores", "mov"),
    "offline_prores_lt_1920x1080": ("prores", "mov"),
    "offline_dnxhr_lb_1920x1080": ("dnxhr", "mxf"),
}


def job(sources, out: Path, profile: str) -> dict:
    codec, container = CODECS[profile]
    return {
        "jobspec_version": "1.0.0",
        "sources": [str(s) for s in sources],
        "output_dir": str(out),
        "output_name_template": "{source_name}_proxy",
        "proxy_profile": profile,
        "codec": codec,
        "container": container,
        "fps_mode": "preserve_source",
        "overwrite": True,
    }


def timed(argv) -> tuple[float, subprocess.CompletedProcess]:
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    return time.perf_counter() - t0, proc


def proxx_run(job_path: Path, workers: int | str = 1) -> tuple[float, dict]:
    seconds, proc = timed([sys.executable, "-m", "proxx_cli", "run", str(job_path), "--max-workers", str(workers)])
    if proc.returncode != 0:
        sys.exit(f"proxx run failed ({proc.returncode}):\n{proc.stderr}")
    return seconds, json.loads(proc.stdout)


def overhead(base: Path, seconds: int, profile: str, repeat: int) -> None:
    frames = round(seconds * 24000 / 1001)
    src = make_source(
        base / "A001_C001.mov", size="1920x1080", rate="24000/1001", frames=frames, timecode="01:00:00:00", audio=(1, 1)
    )
    out = base / "out"
    out.mkdir()
    job_path = base / "job.json"
    job_path.write_text(json.dumps(job([src], out, profile)))
    proxx_times, bare_times = [], []
    for _ in range(repeat):
        t, result = proxx_run(job_path)
        proxx_times.append(t)
        bare_out = base / ("bare." + CODECS[profile][1])
        t_bare = 0.0
        for command in result["clips"][0]["commands"]:  # the AAC pass (if any), then the encode
            argv = list(command["argv"])
            if argv[-1].endswith(".proxx-partial"):
                argv[-1] = "file:" + str(bare_out)
            t_cmd, proc = timed(argv)
            if proc.returncode != 0:
                sys.exit(proc.stderr)
            t_bare += t_cmd
        bare_times.append(t_bare)
        same = result["clips"][0]["output"]["sha256"] == __import__("hashlib").sha256(bare_out.read_bytes()).hexdigest()
    p, b = statistics.median(proxx_times), statistics.median(bare_times)
    ratios = [x / y for x, y in zip(proxx_times, bare_times, strict=False)]
    print(f"(a) {seconds} s 1920x1080 23.976 ProRes HQ, 2 mono tracks -> {profile}")
    print(
        f"    proxx run (probe+plan+encode+verify+hash): median {p:.2f} s over {repeat} runs "
        f"{[round(x, 2) for x in proxx_times]}"
    )
    print(f"    bare ffmpeg, same argv(s):                  median {b:.2f} s {[round(x, 2) for x in bare_times]}")
    print(
        f"    median per-pair ratio proxx/bare: {statistics.median(ratios):.3f} (goal <= 1.10); "
        f"bare output byte-identical to proxx's: {same}"
    )
    one_liner(base, src, result, repeat)
    handbrake(base, src, result, repeat)


def _keeps(path: Path) -> str:
    import av

    with av.open(str(path)) as c:
        tcs = {s.metadata.get("timecode") for s in c.streams if s.metadata.get("timecode")}
        return f"{len(c.streams.audio)} audio stream(s), timecode {sorted(tcs) or 'none'}"


def one_liner(base: Path, src: Path, result: dict, repeat: int) -> None:
    out = base / "oneliner.mp4"
    argv = [
        result["clips"][0]["commands"][-1]["argv"][0],
        "-y",
        "-hide_banner",
        "-loglevel",
        "error",
        "-i",
        str(src),
        "-vf",
        "scale=-2:720",
        "-c:v",
        "libx264",
        "-crf",
        "23",
        "-c:a",
        "aac",
        str(out),
    ]
    times = [timed(argv)[0] for _ in range(repeat)]
    proxx_out = Path(result["clips"][0]["output"]["path"])
    print(
        f"(c) one-liner `ffmpeg -i SRC -vf scale=-2:720 -c:v libx264 -crf 23 -c:a aac OUT.mp4`: "
        f"median {statistics.median(times):.2f} s"
    )
    print(f"    keeps: {_keeps(out)}; proxx keeps: {_keeps(proxx_out)}")


def handbrake(base: Path, src: Path, result: dict, repeat: int) -> None:
    """HandBrakeCLI with its usual preset and every audio track (where installed: Debian's
    handbrake-cli), beside Proxx's proxy of the same source: wall time and what each keeps."""
    exe = shutil.which("HandBrakeCLI")
    if exe is None:
        print("(d) HandBrakeCLI: not installed (apt-get install handbrake-cli), skipped")
        return
    out = base / "handbrake.mp4"
    argv = [exe, "-i", str(src), "-o", str(out), "--preset", "Fast 1080p30", "--all-audio"]
    times = [timed(argv)[0] for _ in range(repeat)]
    proxx_out = Path(result["clips"][0]["output"]["path"])
    print(f"(d) HandBrakeCLI --preset 'Fast 1080p30' --all-audio: median {statistics.median(times):.2f} s")
    print(f"    keeps: {_keeps(out)}; proxx keeps: {_keeps(proxx_out)}")


def throughput(base: Path, clips: int, profile: str) -> None:
    media = base / "batch"
    media.mkdir()
    srcs = [
        make_source(
            media / f"B{i:03d}.mov", size="1280x720", rate="25/1", frames=50, timecode=f"0{i % 10}:00:00:00", audio=(2,)
        )
        for i in range(clips)
    ]
    print(f"(b) batch of {clips} clips, 2 s 1280x720 25p ProRes HQ + stereo -> {profile}")
    for workers in (1, 2, "auto"):
        out = base / f"tp{workers}"
        out.mkdir()
        job_path = base / f"tp{workers}.json"
        job_path.write_text(json.dumps(job(srcs, out, profile)))
        t, res = proxx_run(job_path, workers)
        chosen = res["timing"]["workers"]["max_workers"]
        print(f"    --max-workers {workers} (ran {chosen}): {t:.2f} s, {clips / t * 60:.1f} clips/minute")


def fixed_cost(base: Path, profile: str, repeat: int) -> None:
    """Proxx's cost per job that does not grow with the clip: a 3-frame clip, run by Proxx and as its
    bare argv(s), interleaved; the per-pair difference is start-up, plugins, validation, probes,
    verification, hashing and the result."""
    folder = base / "fixed"
    (folder / "out").mkdir(parents=True)
    src = make_source(folder / "A001_C002.mov", size="1920x1080", frames=3, audio=(1, 1))
    job_path = folder / "job.json"
    job_path.write_text(json.dumps(job([src], folder / "out", profile)))
    diffs = []
    for _ in range(repeat):
        t, result = proxx_run(job_path)
        bare = 0.0
        for command in result["clips"][0]["commands"]:
            argv = list(command["argv"])
            if argv[-1].endswith(".proxx-partial"):
                argv[-1] = "file:" + str(folder / ("bare." + CODECS[profile][1]))
            bare += timed(argv)[0]
        diffs.append(t - bare)
    print(
        f"(e) fixed cost per job (3-frame 1080p clip, proxx run minus its bare argv): median "
        f"{statistics.median(diffs):.3f} s, fastest {min(diffs):.3f} s over {repeat} pairs"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=int, default=10)
    ap.add_argument("--profile", default="offline_h264_1920x1080", choices=sorted(CODECS))
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--clips", type=int, default=8)
    args = ap.parse_args()
    base = Path(tempfile.mkdtemp(prefix="proxx-bench-"))
    try:
        print(f"machine: {os.cpu_count()} CPUs; python {sys.version.split()[0]}")
        fixed_cost(base, args.profile, max(args.repeat, 5))
        overhead(base, args.seconds, args.profile, args.repeat)
        throughput(base, args.clips, args.profile)
    finally:
        shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    main()
