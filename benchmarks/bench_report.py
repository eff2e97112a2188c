#!/usr/bin/env python3
"""The job report of a 200-clip job: how long the ``report`` sink takes (target: under 10 s).

    python benchmarks/bench_report.py [--clips 200] [--size 1920x1080] [--frames 48] [--processes 2]

Makes 4 real sources with the pinned FFmpeg (testsrc2, ProRes 422 HQ), runs a real ``proxx run``
job on them (offline_prores_proxy_1920x1080: real, verified 1080p proxies), then builds a synthetic
result of ``--clips`` clips by repeating those verified clips (new index and source name, same
proxy files) and times the sink's steps as the sink runs them: thumbnails (6 decodes per clip, the
poster being one of the contact frames, each found by a seek) and the PDF (WeasyPrint), both made
in parts of clips by this process and worker processes, joined with pypdf (proxx_report.parts); then the HTML page
and the two atomic writes. Both grow linearly with the clip count and not with clip length
(intra-frame proxies). Indicative only: a shared 2-core machine.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from proxx_core.contract.sinks import DeliveryJob  # noqa: E402
from proxx_core.features.deliverables import write_sidecar  # noqa: E402
from proxx_engine_ffmpeg.testmedia import make_source  # noqa: E402
from proxx_report.facts import clip_facts, job_facts  # noqa: E402
from proxx_report.parts import PART_CLIPS, PROCESSES, render_all  # noqa: E402
from proxx_report.render import report_html  # noqa: E402
from proxxtest import job_doc  # noqa: E402


def real_result(work: Path, size: str, frames: int) -> dict:
    media, out = work / "media", work / "out"
    media.mkdir()
    out.mkdir()
    sources = [
        make_source(
            media / f"A00{i}_C00{i}.mov",
            size=size,
            rate="24000/1001",
            frames=frames,
            timecode=f"1{i}:00:00:00",
            audio=(2,),
        )
        for i in range(1, 5)
    ]
    job = work / "job.json"
    job.write_text(json.dumps(job_doc(sources, out, jobspec_version="1.1.0", job_id="bench")))
    proc = subprocess.run([sys.executable, "-m", "proxx_cli", "run", str(job)], capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"proxx run failed: {proc.stderr[-2000:]}")
    return json.loads(proc.stdout)


def repeated(result: dict, count: int) -> dict:
    clips = []
    for i in range(count):
        clip = json.loads(json.dumps(result["clips"][i % len(result["clips"])]))
        clip["index"] = i + 1
        clip["source"]["path"] = str(Path(clip["source"]["path"]).with_name(f"R{i + 1:03d}_C001.mov"))
        clips.append(clip)
    return {**result, "clips": clips}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clips", type=int, default=200)
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--frames", type=int, default=48)
    parser.add_argument("--processes", type=int, default=PROCESSES, help="worker processes (1: all in-process)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="proxx-bench-report-") as tmp:
        work = Path(tmp)
        result = repeated(real_result(work, args.size, args.frames), args.clips)
        job = DeliveryJob(result=result, folder=str(work / "out"), overwrite=True)
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        marks = [(time.perf_counter(), time.process_time())]
        summary, facts = job_facts(result), [clip_facts(clip) for clip in result["clips"]]
        pictures, pdf = render_all(summary, facts, processes=args.processes)
        marks.append((time.perf_counter(), time.process_time()))
        html = report_html(summary, list(zip(facts, pictures, strict=True)))
        marks.append((time.perf_counter(), time.process_time()))
        write_sidecar(job, "report", "bench.report.html", html.encode("utf-8"))
        write_sidecar(job, "report", "bench.report.pdf", pdf)
        marks.append((time.perf_counter(), time.process_time()))
        pages = subprocess.run(
            ["pdfinfo", str(work / "out" / "bench.report.pdf")], capture_output=True, text=True
        ).stdout
        npages = next((ln.split()[-1] for ln in pages.splitlines() if ln.startswith("Pages:")), "?")
        children = resource.getrusage(resource.RUSAGE_CHILDREN)
        print(f"{args.clips} clips, proxies {args.size} ProRes Proxy, {args.frames} frames each, {os.cpu_count()} CPUs")

        def step(i: int) -> str:
            (w0, c0), (w1, c1) = marks[i], marks[i + 1]
            return f"{w1 - w0:6.2f} s wall {c1 - c0:6.2f} s CPU here"

        workers = children.ru_utime + children.ru_stime - before.ru_utime - before.ru_stime
        print(
            f"  thumbnails + pdf  {step(0)}, {workers:6.2f} s CPU in workers "
            f"({len(pdf) / 1e6:.1f} MB, {npages} pages; parts of at most {PART_CLIPS} clips, "
            f"{args.processes} processes)"
        )
        print(f"  html              {step(1)}  ({len(html) / 1e6:.1f} MB)")
        print(f"  writes            {step(2)}")
        wall = marks[-1][0] - marks[0][0]
        cpu = workers + marks[-1][1] - marks[0][1]
        print(
            f"  total             {wall:6.2f} s wall {cpu:6.2f} s CPU (target < 10 s; load average "
            f"{os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs)"
        )


if __name__ == "__main__":
    main()
