#!/usr/bin/env python3
"""Proxx's fixed cost per job: `proxx run` against the bare FFmpeg commands it runs, and where the difference goes.

    python benchmarks/bench_fixed_cost.py [--repeat 7] [--clips 8] [--seconds 6] [--python VENV/bin/python]

One run, interleaved (proxx 1 clip, bare 1 clip, proxx N clips, bare N clips, ...; every other pair
runs its bare commands first), so machine load hits both halves of a pair alike; figures are medians
of per-pair ratios and differences.
  (1) one 6 s 1080p 23.976 ProRes HQ clip with two mono tracks and timecode -> H.264 720p:
      proxx/bare wall (goal <= 1.08) and proxx minus bare in seconds (the fixed cost per job, goal <= 0.15 s);
  (8) N such clips (copies, so each is its own file) in one job: proxx/bare wall (goal <= 1.02);
  Proxx's own time per one-clip job: its wall time minus the seconds its own commands took (from its
  result), which, unlike a difference of two encodes, does not vary with the encode (here by +-0.2 s);
  then one traced run of the one-clip job: the fixed cost by step (start-up, plugins, validation,
  probing, planning, what runs while FFmpeg encodes, probing the output, verification, fsync,
  hashing, publishing, the result, the end of job, interpreter exit).

"bare" is the exact argv(s) recorded in Proxx's result, run one after the other as a shell script
would (the AAC pass, then the encode), writing to another file; its output is checked to be
byte-identical to Proxx's. The FFmpeg binary-facts cache is warm and Proxx's own modules are
byte-compiled first, as `pip install` does for an installed wheel (an editable checkout with
PYTHONDONTWRITEBYTECODE=1 would compile ~80 modules from source in every run, ~0.09 s).

``--python`` measures the Proxx installed in another interpreter instead of this checkout: e.g. a venv
made as the README's quick start makes one (``pip install './proxx_core[probe]' ./proxx_cli
./proxx_engine_ffmpeg``: installed wheels, one engine), where this development venv has every plugin
installed and each package's folder on ``sys.path`` (every import searches them all).

Speed is measured here, never asserted in tests.
"""

from __future__ import annotations

import argparse
import compileall
import hashlib
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proxx_engine_ffmpeg.testmedia import make_source

PROFILE, CODEC, CONTAINER = "offline_h264_1280x720", "h264", "mp4"
ROOT = Path(__file__).resolve().parents[1]

#: (module, attribute, step) wrapped by the traced run; "Class.method" wraps a method
TRACED = (
    ("proxx_core.support.plugins", "load_engines", "load engines (entry points, plugins)"),
    ("proxx_core.pipeline.check", "check_job_file", "validate + plan (read, schema, preflight, probe, route, plan)"),
    ("proxx_core.pipeline.probe", "probe_all", "probe the source (by the probe helper, or PyAV here)"),
    ("proxx_engine_ffmpeg.engine", "FFmpegEngine.probe_output", "probe the output (PyAV)"),
    ("proxx_core.pipeline.runner", "verify_output", "verify (relink rules)"),
    ("proxx_core.io.tempclaim", "TempClaim.fsync", "fsync the output"),
    ("proxx_core.io.tempclaim", "TempClaim.sha256", "SHA-256 of the output"),
    ("proxx_core.pipeline.runner", "_publish", "publish (fsync + hash + checks + rename + dir fsync)"),
    ("proxx_core.pipeline.runner", "finished", "the job result (results.finished)"),
    ("proxx_core.pipeline.finish", "finish_job", "end of job (sinks, proxx_job_finished)"),
    ("proxx_core.pipeline.serialization", "dumps", "result JSON (dumps)"),
)

#: the traced child: wraps TRACED as their modules are imported (so imports stay where they happen),
#: marks every FFmpeg spawn and reap, and writes CLOCK_MONOTONIC marks, shared with this process
TRACER = r"""
import functools, importlib.abc, importlib.machinery, json, os, subprocess, sys, threading, time
marks = []
def mark(what): marks.append((time.monotonic(), what, threading.current_thread().name))
mark("interpreter ready")
TRACED = {}
for module, attr, step in json.loads(os.environ["PROXX_BENCH_TRACED"]):
    TRACED.setdefault(module, []).append((attr, step))
def wrapped(f, step):
    @functools.wraps(f)
    def g(*a, **k):
        mark(step + " >")
        try:
            return f(*a, **k)
        finally:
            mark(step + " <")
    return g
class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in TRACED:
            return None
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is None:
            return None
        run = spec.loader.exec_module
        def exec_module(module):
            run(module)
            for attr, step in TRACED[name]:
                owner, _, method = attr.rpartition(".")
                target = getattr(module, owner) if owner else module
                setattr(target, method or attr, wrapped(getattr(target, method or attr), step))
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, Hook())
init = subprocess.Popen.__init__
def popen(self, *a, **k):
    argv = a[0] if a else k.get("args")
    helper = bool(argv) and argv[0] == sys.executable  # the probe helper, not an encoder
    mark("helper >" if helper else "ffmpeg >")
    init(self, *a, **k)
    self._proxx_helper = helper
subprocess.Popen.__init__ = popen
wait = subprocess.Popen.wait
def reaped(self, *a, **k):
    code = wait(self, *a, **k)
    if not getattr(self, "_proxx_helper", False):
        mark("ffmpeg <")
    return code
subprocess.Popen.wait = reaped
from proxx_cli import main as cli
sys.argv = ["proxx", "run", sys.argv[1]]
cli.prepare(sys.argv[1:])  # what the executable does first (the probe helper, the attrs code cache)
mark("helpers started")
try:
    code = cli.main()
finally:
    mark("main returned")
    with open(os.environ["PROXX_BENCH_MARKS"], "w") as fh:
        json.dump(marks, fh)
cli.gcstartup.before_exit()
cli.gcstartup.exit_now(code)
"""


def write_job(path: Path, sources: list[Path], out: Path) -> Path:
    out.mkdir(parents=True, exist_ok=True)
    path.write_text(
        json.dumps(
            {
                "jobspec_version": "1.0.0",
                "sources": [str(s) for s in sources],
                "output_dir": str(out),
                "output_name_template": "{source_name}_proxy",
                "proxy_profile": PROFILE,
                "codec": CODEC,
                "container": CONTAINER,
                "fps_mode": "preserve_source",
                "overwrite": True,
            }
        )
    )
    return path


#: CPU seconds of every child reaped so far (a child's own children included once it reaped them)
CPU = [0.0]


def timed(argv: list[str], env: dict[str, str] | None = None) -> tuple[float, subprocess.CompletedProcess[str]]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env)
    seconds = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    CPU[0] += (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return seconds, proc


PACKAGES = (
    "proxx_core",
    "proxx_cli",
    "proxx_engine_ffmpeg",
    "proxx_engine_resolve",
    "proxx_fleet",
    "proxx_deliver",
    "proxx_report",
    "proxx_notify",
    "proxx_dashboard",
)


def checkout_env(tree: Path | None) -> dict[str, str] | None:
    """The environment that runs another checkout's Proxx (``--baseline``) with this venv's libraries."""
    if tree is None:
        return None
    return {**os.environ, "PYTHONPATH": os.pathsep.join(str(tree / p) for p in PACKAGES)}


#: the interpreter whose Proxx is measured (``--python``)
PYTHON = [sys.executable]


def proxx(job: Path, env: dict[str, str] | None = None) -> tuple[float, dict]:
    seconds, proc = timed([PYTHON[0], "-m", "proxx_cli", "run", str(job), "--max-workers", "1"], env)
    if proc.returncode != 0:
        sys.exit(f"proxx run failed ({proc.returncode}):\n{proc.stderr}")
    return seconds, json.loads(proc.stdout)


def bare(result: dict, folder: Path) -> tuple[float, list[str]]:
    """Every clip's recorded argv(s) in order, each writing to a file of its own; their SHA-256."""
    total, digests = 0.0, []
    for clip in result["clips"]:
        out = folder / ("bare-" + Path(clip["output"]["path"]).name)
        for command in clip["commands"]:
            argv = [a.replace(".proxx-partial", ".bare-partial") for a in command["argv"]]
            if not argv[-1].endswith(".audio"):
                argv[-1] = "file:" + str(out)
            seconds, proc = timed(argv)
            if proc.returncode != 0:
                sys.exit(proc.stderr)
            total += seconds
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
    return total, digests


def pair(job: Path, last: dict, folder: Path, bare_first: bool) -> tuple[float, float, dict, list[str], float, float]:
    """One Proxx run and one run of its bare commands (the previous result's argv, the same every run),
    in the given order: (proxx s, bare s, result, bare digests, proxx CPU s, bare CPU s)."""

    def run_bare(result: dict) -> tuple[float, list[str], float]:
        cpu0 = CPU[0]
        seconds, digests = bare(result, folder)
        return seconds, digests, CPU[0] - cpu0

    if bare_first:
        b, digests, bare_cpu = run_bare(last)
    cpu0 = CPU[0]
    t, result = proxx(job)
    cpu = CPU[0] - cpu0
    if not bare_first:
        b, digests, bare_cpu = run_bare(result)
    return t, b, result, digests, cpu, bare_cpu


def commands_seconds(result: dict) -> float:
    """The seconds every command of a result took, as Proxx timed them (spawn to reap)."""
    return sum(c["timing"]["seconds"] for clip in result["clips"] for c in clip["commands"])


def traced_breakdown(job: Path, folder: Path, bare_seconds: float) -> None:
    """One more Proxx run of the one-clip job with marks around each step: where the fixed cost goes."""
    marks_file = folder / "marks.json"
    script = folder / "tracer.py"
    script.write_text(TRACER)
    env = dict(os.environ, PROXX_BENCH_TRACED=json.dumps(TRACED), PROXX_BENCH_MARKS=str(marks_file))
    t0 = time.monotonic()
    proc = subprocess.run(
        [PYTHON[0], str(script), str(job)], capture_output=True, text=True, stdin=subprocess.DEVNULL, env=env
    )
    t_end = time.monotonic()
    if proc.returncode != 0:
        sys.exit(f"traced run failed:\n{proc.stderr}")
    marks = [(t - t0, what, thread) for t, what, thread in json.loads(marks_file.read_text())]
    spans: dict[str, float] = {}
    opened: dict[str, float] = {}
    for t, what, _ in marks:
        step, _, edge = what.rpartition(" ")
        if edge == ">":
            opened[step] = t
        elif edge == "<" and step in opened:
            spans[step] = spans.get(step, 0.0) + t - opened.pop(step)
    first_spawn = next(t for t, w, _ in marks if w == "ffmpeg >")
    last_reap = max(t for t, w, _ in marks if w == "ffmpeg <")
    returned = next(t for t, w, _ in marks if w == "main returned")
    ready = marks[0][0]
    total = t_end - t0
    print(
        f"\nwhere the fixed cost goes (one traced run, one clip; wall {total:.3f} s, bare {bare_seconds:.3f} s, "
        f"difference {total - bare_seconds:+.3f} s):"
    )
    print("| phase / step | seconds |")
    print("| --- | --- |")
    rows = [
        ("interpreter start (to the first line of the script)", ready),
        (
            "**before the first FFmpeg command** (imports, plugins, validation, probe, plan, temp claims)",
            first_spawn - ready,
        ),
    ]
    for step in (
        "load engines (entry points, plugins)",
        "validate + plan (read, schema, preflight, probe, route, plan)",
        "probe the source (by the probe helper, or PyAV here)",
    ):
        rows.append((f"  of which: {step}", spans.get(step, 0.0)))
    rows.append(("FFmpeg commands under Proxx (first spawn to last reap)", last_reap - first_spawn))
    rows.append(("**after the last FFmpeg command** (to main's return)", returned - last_reap))
    for step in (
        "probe the output (PyAV)",
        "verify (relink rules)",
        "publish (fsync + hash + checks + rename + dir fsync)",
        "fsync the output",
        "SHA-256 of the output",
        "the job result (results.finished)",
        "end of job (sinks, proxx_job_finished)",
        "result JSON (dumps)",
    ):
        rows.append((f"  of which: {step}", spans.get(step, 0.0)))
    rows.append(("interpreter exit (main's return to the process reaped)", total - returned))
    for name, seconds in rows:
        print(f"| {name} | {seconds:.3f} |")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--repeat", type=int, default=7)
    ap.add_argument("--clips", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=6)
    ap.add_argument(
        "--baseline",
        type=Path,
        metavar="CHECKOUT",
        help="also run another checkout's Proxx (e.g. a `git worktree` of the previous commit), "
        "interleaved with this one, against the same bare commands",
    )
    ap.add_argument(
        "--python",
        metavar="INTERPRETER",
        help="measure the Proxx installed for this interpreter (e.g. a venv as the README's quick start makes it)",
    )
    args = ap.parse_args()
    if args.python:
        PYTHON[0] = args.python
    for tree in (ROOT, args.baseline) if args.baseline else (ROOT,):
        for package in PACKAGES:
            compileall.compile_dir(str(tree / package), quiet=1)  # what pip does for an installed wheel
    old_env = checkout_env(args.baseline)
    base = Path(tempfile.mkdtemp(prefix="proxx-bench-fixed-"))
    try:
        frames = round(args.seconds * 24000 / 1001)
        seed = make_source(
            base / "A001_C001.mov",
            size="1920x1080",
            rate="24000/1001",
            frames=frames,
            timecode="01:00:00:00",
            audio=(1, 1),
        )
        many = [seed] + [Path(shutil.copy(seed, base / f"A001_C{i:03d}.mov")) for i in range(2, args.clips + 1)]
        one_job = write_job(base / "one.json", [seed], base / "out1")
        many_job = write_job(base / "many.json", many, base / f"out{args.clips}")
        _, last_one = proxx(one_job)  # warm the binary-facts cache and the page cache
        _, last_many = proxx(many_job)
        one_ratio, one_diff, many_ratio = [], [], []
        old: dict[str, list[float]] = {"one_ratio": [], "one_diff": [], "many_ratio": [], "one_cpu": []}
        one_p, one_b, many_p, many_b = [], [], [], []
        same = True
        one_cpu: list[float] = []
        own: dict[str, list[float]] = {"new": [], "old": []}  # wall minus the seconds its commands took
        commands_over_bare: list[float] = []  # the same argv under Proxx minus bare: the encodes' spread
        for i in range(args.repeat):
            # odd pairs run the bare commands first (the argv of every run is the same), so whatever
            # favours the first or the second of two runs favours each side alike
            bare_first = i % 2 == 1
            t, b, last_one, digests, cpu, bare_cpu = pair(one_job, last_one, base, bare_first)
            one_cpu.append(cpu - bare_cpu)
            same &= digests == [c["output"]["sha256"] for c in last_one["clips"]]
            one_p.append(t), one_b.append(b), one_ratio.append(t / b), one_diff.append(t - b)
            commands = commands_seconds(last_one)
            own["new"].append(t - commands)
            commands_over_bare.append(commands - b)
            if old_env is not None:  # the baseline right after, against the bare commands just run
                cpu0 = CPU[0]
                t_old, old_result = proxx(one_job, old_env)
                own["old"].append(t_old - commands_seconds(old_result))
                old["one_cpu"].append(CPU[0] - cpu0 - bare_cpu)
                old["one_ratio"].append(t_old / b), old["one_diff"].append(t_old - b)
            t, b, last_many, digests, _, _ = pair(many_job, last_many, base, bare_first)
            same &= digests == [c["output"]["sha256"] for c in last_many["clips"]]
            many_p.append(t), many_b.append(b), many_ratio.append(t / b)
            if old_env is not None:
                t_old, _ = proxx(many_job, old_env)
                old["many_ratio"].append(t_old / b)
        print(
            f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
            f"python {sys.version.split()[0]}; "
            f"{args.repeat} interleaved pairs each"
        )
        print(
            f"{args.seconds} s 1920x1080 23.976 ProRes HQ, 2 mono tracks -> {PROFILE}; "
            f"bare outputs byte-identical to Proxx's: {same}"
        )
        print("| job | proxx median s | bare median s | median proxx/bare | goal |")
        print("| --- | --- | --- | --- | --- |")
        print(
            f"| 1 clip | {statistics.median(one_p):.3f} | {statistics.median(one_b):.3f} | "
            f"**{statistics.median(one_ratio):.3f}** | <= 1.08 |"
        )
        print(
            f"| {args.clips} clips | {statistics.median(many_p):.3f} | {statistics.median(many_b):.3f} | "
            f"**{statistics.median(many_ratio):.3f}** | <= 1.02 |"
        )
        print(
            f"fixed cost per job (1 clip, proxx minus bare): median **{statistics.median(one_diff):.3f} s**, "
            f"fastest {min(one_diff):.3f} s (goal <= 0.15 s); Proxx's own CPU (its and its children's "
            f"minus the bare commands'): median {statistics.median(one_cpu):.3f} s"
        )
        print(
            f"Proxx's own time per one-clip job (its wall time minus the seconds its own commands took, as its "
            f"result records them; steadier than a difference of two encodes): median "
            f"**{statistics.median(own['new']):.3f} s**"
            + (f"; baseline {statistics.median(own['old']):.3f} s" if own["old"] else "")
        )
        print(
            f"spread of the one-clip pairs: proxx/bare quartiles {_quartiles(one_ratio, '.3f')}; Proxx's commands "
            f"minus the same bare commands (so fixed cost = own time + this): median "
            f"{statistics.median(commands_over_bare):+.3f} s, quartiles {_quartiles(commands_over_bare, '+.3f')} s"
        )
        if old_env is not None:
            print(
                f"baseline {args.baseline}: 1 clip proxx/bare {statistics.median(old['one_ratio']):.3f}, "
                f"{args.clips} clips {statistics.median(old['many_ratio']):.3f}, fixed cost per job median "
                f"{statistics.median(old['one_diff']):.3f} s, fastest {min(old['one_diff']):.3f} s; its own CPU "
                f"median {statistics.median(old['one_cpu']):.3f} s"
            )
        traced_breakdown(one_job, base, statistics.median(one_b))
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _quartiles(values: list[float], spec: str) -> str:
    q1, _, q3 = statistics.quantiles(values, n=4) if len(values) > 1 else (values[0],) * 3
    return f"{q1:{spec}}–{q3:{spec}}"


if __name__ == "__main__":
    main()
