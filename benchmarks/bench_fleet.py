#!/usr/bin/env python3
"""Fleet overhead: `proxx submit` -> `proxx wait` through Celery + Redis vs `proxx run`, and
throughput with two workers vs one, for many tiny clips on loopback.

    python benchmarks/bench_fleet.py [--clips 100] [--secure]

Needs `redis-server` on PATH and proxx-fleet installed. Starts its own redis-server on a free
loopback port and `proxx worker` processes (each --max-workers 1), all FFmpeg-only.

Prints: (a) wall time of `proxx run --max-workers 1`; (b) submit -> result with one worker, and the
per-clip overhead (b - a) / clips (goal < 50 ms); (c) the same with two workers, and the speed-up.
Worker start-up is not counted (workers are long-lived services). Speed is measured here, never
asserted in tests. ``--secure``: Redis over TLS with the ACL user of docs/fleet.md (a test CA made
with openssl) and workers logging JSON lines: the overhead with logging, monitoring and TLS on.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from proxx_engine_ffmpeg.testmedia import make_source

PROXX = [sys.executable, "-m", "proxx_cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def job_file(root: Path, sources: list[Path], job_id: str) -> Path:
    out = root / f"out-{job_id}"
    out.mkdir()
    doc = {
        "jobspec_version": "1.0.0",
        "sources": [str(s) for s in sources],
        "output_dir": str(out),
        "output_name_template": "{source_name}_proxy",
        "proxy_profile": "offline_prores_proxy_1920x1080",
        "codec": "prores",
        "container": "mov",
        "fps_mode": "preserve_source",
        "job_id": job_id,
    }
    path = root / f"{job_id}.json"
    path.write_text(json.dumps(doc))
    return path


def secure_redis(root: Path, port: int) -> tuple[list[str], str]:
    """redis-server arguments for TLS only + an ACL user, and the rediss:// URL the fleet uses."""

    def openssl(*args: str) -> None:
        subprocess.run(["openssl", *args], cwd=root, check=True, capture_output=True)

    openssl(
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "1",
        "-subj",
        "/CN=bench CA",
    )
    openssl(
        "req", "-newkey", "rsa:2048", "-nodes", "-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=127.0.0.1"
    )
    (root / "san.cnf").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl(
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "1",
        "-extfile",
        "san.cnf",
    )
    (root / "users.acl").write_text("user default off\nuser proxx on >bench-secret ~* &* +@all -@dangerous +info\n")
    args = [
        "--port",
        "0",
        "--tls-port",
        str(port),
        "--tls-cert-file",
        str(root / "server.pem"),
        "--tls-key-file",
        str(root / "server.key"),
        "--tls-ca-cert-file",
        str(root / "ca.pem"),
        "--tls-auth-clients",
        "no",
        "--aclfile",
        str(root / "users.acl"),
    ]
    return args, (
        f"rediss://proxx:bench-secret@127.0.0.1:{port}/0?ssl_cert_reqs=required&ssl_ca_certs={root / 'ca.pem'}"
    )


def start_workers(n: int, broker: str, env: dict, root: Path, extra: tuple[str, ...] = ()) -> list[subprocess.Popen]:
    import redis

    procs = [
        subprocess.Popen(
            [*PROXX, "worker", "--broker", broker, "--name", f"bench-{i}", "--heartbeat", "1", *extra],
            env=env,
            stdout=open(root / f"worker-{i}.log", "wb"),
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        for i in range(n)
    ]
    r = redis.Redis.from_url(broker)
    while sum(bool(r.exists(f"proxx:v1:worker:bench-{i}")) for i in range(n)) < n:
        time.sleep(0.1)
    time.sleep(1.0)
    return procs


def stop(procs: list[subprocess.Popen]) -> None:
    for p in procs:
        p.send_signal(signal.SIGTERM)
    for p in procs:
        p.wait(timeout=30)


def fleet_run(job: Path, broker: str, env: dict) -> float:
    t0 = time.monotonic()
    sub = subprocess.run([*PROXX, "submit", str(job), "--broker", broker], env=env, capture_output=True, text=True)
    assert sub.returncode == 0, sub.stderr
    res = subprocess.run(
        [*PROXX, "wait", sub.stdout.strip(), "--broker", broker], env=env, capture_output=True, text=True
    )
    assert res.returncode == 0, res.stderr[-2000:]
    return time.monotonic() - t0


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clips", type=int, default=100)
    ap.add_argument("--secure", action="store_true", help="TLS + ACL user, workers logging JSON lines")
    args = ap.parse_args()
    if shutil.which("redis-server") is None:
        print("redis-server not found", file=sys.stderr)
        return 1
    root = Path(tempfile.mkdtemp(prefix="proxx-bench-fleet-"))
    env = {**os.environ, "PROXX_LOAD_PLUGINS": "ffmpeg"}
    (root / "src").mkdir()
    one = make_source(root / "src" / "c0000.mov", size="64x36", frames=2, audio=(1,))
    sources = [one] + [shutil.copyfile(one, root / "src" / f"c{i:04d}.mov") for i in range(1, args.clips)]
    port = free_port()
    listen, broker = secure_redis(root, port) if args.secure else (["--port", str(port)], f"redis://127.0.0.1:{port}/0")
    redis_proc = subprocess.Popen(
        ["redis-server", *listen, "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], stdout=subprocess.DEVNULL
    )
    extra = ("--log-format", "json") if args.secure else ()
    time.sleep(0.5)
    try:
        t0 = time.monotonic()
        run = subprocess.run(
            [*PROXX, "run", str(job_file(root, sources, "local")), "--max-workers", "1"],
            env=env,
            capture_output=True,
            text=True,
        )
        assert run.returncode == 0, run.stderr[-2000:]
        t_run = time.monotonic() - t0
        print(
            f"(a) proxx run, {args.clips} clips, 1 at a time: {t_run:.2f} s ({1000 * t_run / args.clips:.1f} ms/clip)"
        )

        workers = start_workers(1, broker, env, root, extra)
        t_one = fleet_run(job_file(root, sources, "fleet-1"), broker, env)
        stop(workers)
        print(
            f"(b) submit -> wait, 1 worker:  {t_one:.2f} s; overhead vs run "
            f"{1000 * (t_one - t_run) / args.clips:+.1f} ms/clip (goal < 50)"
        )

        workers = start_workers(2, broker, env, root, extra)
        t_two = fleet_run(job_file(root, sources, "fleet-2"), broker, env)
        stop(workers)
        print(
            f"(c) submit -> wait, 2 workers: {t_two:.2f} s; {args.clips / t_two:.1f} clips/s vs "
            f"{args.clips / t_one:.1f} with one (x{t_one / t_two:.2f})"
        )
    finally:
        redis_proc.terminate()
        redis_proc.wait(timeout=10)
        shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
