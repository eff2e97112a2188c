"""How many clips to encode at once on this node (``--max-workers auto``), and how many threads an
intra encoder may use.

Throughput comes from running clips side by side: x264's thread count is part of its output, so it
is pinned (4) and never grows with the node. Intra encoders (ProRes, DNxHR) give identical bytes at
1, 2, 4 and 8 threads (tests/ffmpeg/test_determinism_threads.py), so they get the node's usable
CPUs up to 8 — the largest count that test proves. ``auto`` then runs as many clips at once as the
CPUs hold at that budget, no more than memory allows and no more than the job has clips.

Usable CPUs are the process's CPU affinity (``os.sched_getaffinity``: taskset, cpusets) and, in a
container, the cgroup v2 CPU quota (``cpu.max``), whichever is smaller.
"""

from __future__ import annotations

import math
import os
from typing import Any

import attrs

from ..contract.errors import shown

AUTO = "auto"
#: x264's pinned thread count (its bytes depend on it); the FFmpeg engine uses the same number
H264_THREADS = 4
#: the largest intra-encoder thread count proven byte-identical by the test suite
MAX_INTRA_THREADS = 8
#: memory one encoding clip may need (decode of a large camera frame, scaler, encoder frame threads)
MEMORY_PER_CLIP = 1536 * 1024 * 1024
_CGROUP_CPU_MAX = "/sys/fs/cgroup/cpu.max"


def usable_cpus() -> int:
    """CPUs this process may use: affinity, capped by a cgroup v2 CPU quota when there is one."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        cpus = os.cpu_count() or 1
    try:
        with open(_CGROUP_CPU_MAX, encoding="ascii") as fh:
            quota, period = fh.read().split()[:2]
        if quota != "max":
            cpus = min(cpus, max(1, math.ceil(int(quota) / int(period))))
    except (OSError, ValueError):
        pass
    return max(1, cpus)


def available_memory() -> int | None:
    """Bytes of memory available for new work (``MemAvailable``), or None when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def intra_threads(cpus: int | None = None) -> int:
    """Threads for one intra (ProRes/DNxHR) encode: the node's usable CPUs, at most 8."""
    return max(1, min(cpus if cpus is not None else usable_cpus(), MAX_INTRA_THREADS))


def threads_per_clip(codec: str, cpus: int | None = None) -> int:
    """Threads one clip of a profile with this codec keeps busy."""
    return H264_THREADS if codec == "h264" else intra_threads(cpus)


@attrs.frozen(kw_only=True)
class WorkerChoice:
    """The worker count a run used and why (recorded in the result under ``timing.workers``)."""

    requested: int | str
    max_workers: int
    usable_cpus: int
    threads_per_clip: int | None = None
    memory_limit: int | None = None

    def record(self) -> dict[str, Any]:
        return attrs.asdict(self)


def choose(
    requested: int | str,
    *,
    codec: str | None = None,
    clips: int | None = None,
    cpus: int | None = None,
    memory: int | None = None,
) -> WorkerChoice:
    """Resolve ``--max-workers`` (a positive int, or ``"auto"``) for a job of ``clips`` clips."""
    cpus = usable_cpus() if cpus is None else cpus
    if requested != AUTO:
        if not isinstance(requested, int) or isinstance(requested, bool) or requested < 1:
            raise ValueError(f"max_workers must be a whole number of at least 1 or {AUTO!r}, not {shown(requested)}")
        return WorkerChoice(requested=requested, max_workers=requested, usable_cpus=cpus)
    threads = threads_per_clip(codec or "h264", cpus)
    workers = max(1, cpus // threads)
    memory = available_memory() if memory is None else memory
    memory_limit = max(1, memory // MEMORY_PER_CLIP) if memory is not None else None
    if memory_limit is not None:
        workers = min(workers, memory_limit)
    if clips:
        workers = min(workers, clips)
    return WorkerChoice(
        requested=AUTO, max_workers=workers, usable_cpus=cpus, threads_per_clip=threads, memory_limit=memory_limit
    )
