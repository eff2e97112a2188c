#!/usr/bin/env python3
"""Renditions from one decode vs one single-rendition job per rendition: CPU seconds (issue 26).

    python benchmarks/bench_renditions.py [--seconds 4] [--size 3840x2160] [--repeat 3]

Makes a noisy 4K ProRes 422 HQ source with two stereo tracks and timecode (testmedia), then, in one run
and interleaved (renditions, the two single jobs, renditions, ...), the common dailies order:

- **together**: one JobSpec 1.2 job with two renditions, DNxHR LB in ``avid_mxf`` and H.264 720p in a
  ``review/`` folder: one ffmpeg process decodes the source once for both (plus the AAC pass);
- **apart**: the same two renditions as two single-rendition jobs, each decoding the source.

CPU is the kernel's accounting of everything ``proxx run`` and its ffmpeg children used
(``resource.getrusage(RUSAGE_CHILDREN)``, user + system), so load from other processes does not count.
Prints each pair and the median of the per-pair ratios together/apart (goal: <= 0.70), and checks that
each rendition's bytes equal its single job's. Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proxx_engine_ffmpeg.testmedia import make_source

DNXHR, H264_720 = "offline_dnxhr_lb_1920x1080", "offline_h264_1280x720"


def cpu_of(argv: list[str]) -> tuple[float, float, dict]:
    """(CPU seconds, wall seconds, result) of one `proxx run`."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.exit(f"proxx run failed ({proc.returncode}):\n{proc.stderr}")
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return cpu, wall, json.loads(proc.stdout)


def run(job: Path) -> tuple[float, float, dict]:
    return cpu_of([sys.executable, "-m", "proxx_cli", "run", str(job), "--max-workers", "1"])


def digests(clip: dict) -> list[str]:
    out = clip["output"]
    return [f["sha256"] for f in out["files"]] if out.get("files") else [out["sha256"]]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seconds", type=float, default=4.0)
    ap.add_argument("--size", default="3840x2160")
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="proxx-bench-renditions-") as tmp:
        base = Path(tmp)
        frames = round(args.seconds * 24000 / 1001)
        print(
            f"making a {args.seconds:g} s {args.size} ProRes 422 HQ source (grain, two stereo tracks) ...", flush=True
        )
        src = make_source(
            base / "A001_C001.mov",
            size=args.size,
            rate="24000/1001",
            frames=frames,
            timecode="01:00:00:00",
            audio=(2, 2),
            extra=("-vf", "noise=alls=6:allf=t"),
            timeout=3600,
        )
        out, review = base / "out", base / "out" / "review"
        review.mkdir(parents=True)
        common = {"jobspec_version": "1.2.0", "sources": [str(src)], "existing_outputs": "overwrite"}
        avid = {"proxy_profile": DNXHR, "layout": "avid_mxf", "output_name_template": "{source_name}"}
        h264 = {"proxy_profile": H264_720, "output_dir": str(review), "output_name_template": "{source_name}"}
        jobs = {
            "together": {
                **common,
                "output_dir": str(out),
                "renditions": [{"name": "avid", **avid}, {"name": "review", **h264}],
            },
            "dnxhr": {**common, "output_dir": str(out), **avid},
            "h264": {**common, **h264},
        }
        paths = {}
        for name, doc in jobs.items():
            paths[name] = base / f"{name}.json"
            paths[name].write_text(json.dumps(doc))
        ratios = []
        print(
            f"{'round':>5} {'together CPU s':>15} {'apart CPU s':>12} {'ratio':>6} {'together wall s':>16} "
            f"{'apart wall s':>13}"
        )
        for r in range(args.repeat):
            cpu_t, wall_t, result_t = run(paths["together"])
            cpu_d, wall_d, result_d = run(paths["dnxhr"])
            cpu_h, wall_h, result_h = run(paths["h264"])
            made = {c["rendition"]: digests(c) for c in result_t["clips"]}
            alone = {"avid": digests(result_d["clips"][0]), "review": digests(result_h["clips"][0])}
            if made != alone:
                sys.exit(f"the renditions' bytes differ from the single jobs': {made} vs {alone}")
            ratio = cpu_t / (cpu_d + cpu_h)
            ratios.append(ratio)
            print(
                f"{r + 1:>5} {cpu_t:>15.2f} {cpu_d + cpu_h:>12.2f} {ratio:>6.3f} {wall_t:>16.2f} "
                f"{wall_d + wall_h:>13.2f}   (DNxHR {cpu_d:.2f}, H.264 {cpu_h:.2f})",
                flush=True,
            )
        print(
            f"median CPU ratio together/apart: {statistics.median(ratios):.3f} (goal <= 0.70); "
            f"bytes identical to the single jobs in every round"
        )


if __name__ == "__main__":
    main()
