#!/usr/bin/env python3
"""The status page's cost: answer time with 1,000 clips known, and reads of the watch folder with
20 pages polling at once.

    python benchmarks/bench_dashboard.py [--jobs 100] [--clips 10] [--pollers 20] [--seconds 5]

Builds a watch folder of ``jobs`` filed results of ``clips`` clips each (one clip in ten failed,
with a stderr tail) plus a live watch process (this one) running a job with two clips encoding,
serves it with ``proxx_dashboard`` under uvicorn on loopback, and lets ``pollers`` threads ask for
``/live`` (what an open page polls) back to back, one more for ``/`` and ``/metrics``. Prints the
cost of one read of the folder (cold and with the result cache), each endpoint's answer times, and
how many times the folder was read against the seconds elapsed. Exits 1 if a p95 is 100 ms or more
or the folder was read more than once per second.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import uvicorn

from proxx_core.contract.progress import ProgressEvent
from proxx_core.watch.live import LiveRecord
from proxx_core.watch.owner import Owner, register
from proxx_dashboard.app import create_app
from proxx_dashboard.watchreader import WatchFolderReader


def make_folder(root: Path, jobs: int, clips: int) -> Owner:
    for sub in ("pending", "running", "completed", "failed"):
        (root / sub).mkdir(parents=True)
    for j in range(jobs):
        rows = []
        for i in range(1, clips + 1):
            failed = (j * clips + i) % 10 == 0
            rows.append(
                {
                    "index": i,
                    "status": "FAILED" if failed else "COMPLETED",
                    "source": {"path": f"/media/A{j:03d}/C{i:04d}.mov", "info": {"duration_seconds": 30.0}},
                    "failure": {"category": "engine_failed", "message": "ffmpeg exited 1"} if failed else None,
                    "commands": [
                        {
                            "argv": ["ffmpeg"],
                            "exit_code": 1 if failed else 0,
                            "stderr_tail": "Error opening input\nConversion failed!\n" if failed else "",
                        }
                    ],
                }
            )
        status = "PARTIAL" if any(r["status"] == "FAILED" for r in rows) else "COMPLETED"
        dest = root / ("completed" if status == "COMPLETED" else "failed")
        result = {
            "job_id": f"job-{j:016x}",
            "status": status,
            "clips": rows,
            "problems": [],
            "deliverables": [],
            "timing": {
                "started_at": "2026-12-06T20:00:00.000Z",
                "finished_at": f"2026-12-06T20:{j % 60:02d}:00.000Z",
                "seconds": 12.5,
                "watch": {"owner": {"node": "render01"}},
            },
        }
        (dest / f"A{j:03d}.result.json").write_text(json.dumps(result))
        (dest / f"A{j:03d}.json").write_text("{}")
    for p in range(20):
        (root / "pending" / f"Z{p:03d}.json").write_text("{}")
    me = Owner.current(node="bench")
    owner_dir = register(root / "running", me)
    (owner_dir / "live.json").write_text("{}")
    live = LiveRecord(owner_dir, node="bench", pid=me.pid, max_workers=2, engines={"ffmpeg": {"version": "1.1.0"}})
    live.job_started("live.json", "job-live", {1: 60.0, 2: 60.0, 3: 60.0}, 2)
    for i in (1, 2):
        live.event("live.json", ProgressEvent(event="start", index=i, source=f"/m/{i}.mov", output="o"))
        live.event(
            "live.json",
            ProgressEvent(
                event="progress",
                index=i,
                source=f"/m/{i}.mov",
                output="o",
                percent=40.0,
                fps=50.0,
                speed=2.0,
                eta_seconds=18.0,
            ),
        )
    live.write()
    return me


def poll(url: str, until: float, times: list[float]) -> None:
    while time.monotonic() < until:
        began = time.perf_counter()
        with urllib.request.urlopen(url, timeout=10) as response:
            response.read()
        times.append(time.perf_counter() - began)


def describe(name: str, times: list[float]) -> tuple[str, float]:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[int(0.95 * (len(ms) - 1))]
    return (
        f"  {name:<12} {len(ms):6d} answers  median {statistics.median(ms):6.1f} ms  p95 {p95:6.1f} ms  "
        f"max {ms[-1]:6.1f} ms"
    ), p95


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--jobs", type=int, default=100)
    ap.add_argument("--clips", type=int, default=10)
    ap.add_argument("--pollers", type=int, default=20)
    ap.add_argument("--seconds", type=float, default=5.0)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "watch"
        make_folder(root, args.jobs, args.clips)
        print(
            f"watch folder: {args.jobs} filed jobs x {args.clips} clips = {args.jobs * args.clips} clips known, "
            f"20 pending, 1 running job with 2 clips encoding"
        )
        reader = WatchFolderReader(root, node="bench")
        began = time.perf_counter()
        snap = reader.read()
        cold = time.perf_counter() - began
        began = time.perf_counter()
        reader.read()
        warm = time.perf_counter() - began
        assert sum(snap.clips_by_status.values()) == args.jobs * args.clips + 2, snap.clips_by_status
        print(
            f"one read of the folder: {cold * 1000:.1f} ms cold (every result parsed), {warm * 1000:.1f} ms after "
            f"(results cached by size and mtime)"
        )

        app = create_app(WatchFolderReader(root, node="bench"))
        config = uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning", access_log=False)
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, daemon=True)
        thread.start()
        while not server.started:
            time.sleep(0.02)
        port = server.servers[0].sockets[0].getsockname()[1]
        base = f"http://127.0.0.1:{port}/"
        keeper = app.state.keeper
        poll(base + "live", time.monotonic() + 0.5, [])  # warm up
        start_reads, started = keeper.refreshes, time.monotonic()
        until = started + args.seconds
        results: dict[str, list[float]] = {"/live": [], "/": [], "/metrics": []}
        threads = [
            threading.Thread(target=poll, args=(base + "live", until, results["/live"])) for _ in range(args.pollers)
        ]
        threads.append(
            threading.Thread(
                target=lambda: [poll(base, until, results["/"]), poll(base + "metrics", until, results["/metrics"])]
            )
        )
        threads.append(threading.Thread(target=poll, args=(base + "metrics", until, results["/metrics"])))
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.monotonic() - started
        reads = keeper.refreshes - start_reads
        server.should_exit = True
        thread.join(timeout=5)
    print(f"{args.pollers} pollers of /live + 1 of / and /metrics for {elapsed:.1f} s ({os.cpu_count()} CPUs, shared):")
    worst = 0.0
    for name, times in results.items():
        if times:
            line, p95 = describe(name, times)
            worst = max(worst, p95)
            print(line)
    print(f"reads of the watch folder: {reads} in {elapsed:.1f} s (limit: one per second, {int(elapsed) + 1})")
    ok = worst < 100 and reads <= int(elapsed) + 1
    print("OK" if ok else "FAILED: p95 >= 100 ms or more than one read per second")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
