#!/usr/bin/env python3
"""Watch-folder drain rate: how fast queued specs are claimed, refused and filed, and whether the
cost per job stays flat as the queue drains (issue 12: "a watch folder that drains at a constant rate").

    python benchmarks/bench_watch.py [--sizes 500 2000 10000] [--mode polling|events]

For each size N, N *invalid* specs (``{"jobspec_version": "1.0.0"}``: they are read, validated,
refused and filed like any job, without encoding, as the issue measured) are dropped into
``pending/`` the documented way (hidden name, then rename), then one in-process watcher drains them
with ``once``. Printed per size: jobs/s over the drain, ms per job over the first and the last 10 %
of jobs (from the finish times of consecutive jobs), time to the first claim, and per job: lstat
calls, validations and fsyncs. Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import tempfile
import time
from datetime import datetime
from pathlib import Path

from proxx_core.pipeline import check as api
from proxx_core.support.plugins import load_engines
from proxx_core.watch import Watcher


def _stamp(line: str) -> float:
    return datetime.fromisoformat(line.split(" ", 1)[0].replace("Z", "+00:00")).timestamp()


def drain(n: int, mode: str) -> dict[str, float]:
    from proxx_engine_ffmpeg import plugin

    engines = load_engines(plugins=[plugin], entry_points=False)
    with tempfile.TemporaryDirectory(prefix="proxx-bench-watch-") as tmp:
        w = Path(tmp)
        pending = w / "pending"
        pending.mkdir()
        for i in range(n):
            hidden = pending / f".job{i:06d}.json.tmp"
            hidden.write_text('{"jobspec_version": "1.0.0"}')
            os.rename(hidden, pending / f"job{i:06d}.json")
        counts = {"validate": 0, "fsync": 0, "lstat": 0}
        real_check, real_fsync, real_lstat = api.check_document, os.fsync, os.lstat

        def check(*a, **k):
            counts["validate"] += 1
            return real_check(*a, **k)

        def fsync(*a, **k):
            counts["fsync"] += 1
            return real_fsync(*a, **k)

        def lstat(*a, **k):
            counts["lstat"] += 1
            return real_lstat(*a, **k)

        api.check_document, os.fsync, os.lstat = check, fsync, lstat
        try:
            log = io.StringIO()
            watcher = Watcher(w, engines, once=True, poll_seconds=2.0 if mode == "polling" else None, stream=log)
            t0 = time.time()
            watcher.run()
            t1 = time.time()
        finally:
            api.check_document, os.fsync, os.lstat = real_check, real_fsync, real_lstat
        lines = log.getvalue().splitlines()
        finished = [_stamp(x) for x in lines if " event=finished " in x]
        claimed = [_stamp(x) for x in lines if " event=claimed " in x]
        assert len(finished) == n, f"{len(finished)} of {n} filed"
        gaps = [b - a for a, b in zip(finished, finished[1:], strict=False)]
        tenth = max(1, len(gaps) // 10)
        return {
            "jobs": n,
            "jobs_per_s": n / (finished[-1] - claimed[0]),
            "ms_first_10pct": 1000 * statistics.mean(gaps[:tenth]),
            "ms_last_10pct": 1000 * statistics.mean(gaps[-tenth:]),
            "first_claim_s": claimed[0] - t0,
            "wall_s": t1 - t0,
            "lstat_per_job": counts["lstat"] / n,
            "validations_per_job": counts["validate"] / n,
            "fsyncs_per_job": counts["fsync"] / n,
            "listed_per_job": watcher.queue.checks["listed"] / n,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[500, 2000])
    parser.add_argument("--mode", choices=("polling", "events"), default="polling")
    args = parser.parse_args()
    cols = (
        "jobs",
        "jobs_per_s",
        "ms_first_10pct",
        "ms_last_10pct",
        "first_claim_s",
        "wall_s",
        "lstat_per_job",
        "validations_per_job",
        "fsyncs_per_job",
        "listed_per_job",
    )
    print("| " + " | ".join(cols) + " |")
    print("|" + "---|" * len(cols))
    for n in args.sizes:
        row = drain(n, args.mode)
        print("| " + " | ".join(f"{row[c]:.0f}" if c == "jobs" else f"{row[c]:.2f}" for c in cols) + " |", flush=True)


if __name__ == "__main__":
    main()
