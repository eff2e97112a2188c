"""First real run: render one clip of each camera-RAW family on a real Resolve and write evidence.

    python -m proxx_engine_resolve.firstrun --sources A.R3D B.braw C.ari ... --out report.json

Each source goes through the engine exactly as a job would (probe, claim, plan, execute, verify),
one at a time, into ``--output-dir`` (default: a ``firstrun-proxies`` folder beside the report).
The report is JSON (``schema`` = :data:`SCHEMA`, ``version`` = :data:`VERSION`): the Resolve
edition/version, the OS and Python, and per clip its RAW family, the outcome (``ok`` or a failure
category and message), every verification check, and the worker's stderr tail (which carries the
worker's notes: blocked-switch recoveries, DeleteProject retries, the read-back frame rate).
Families of :data:`proxx_engine_resolve.engine.READS` with no source are listed as ``untested``.
:func:`read_report` reads a report back (and refuses one it does not understand).

Exit code: 0 every clip verified, 3 some did, 2 none did, 4 Resolve unusable, 1 bad arguments.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import threading
from pathlib import Path

SCHEMA = "proxx-resolve-firstrun"
VERSION = 1
DEFAULT_PROFILE = "offline_prores_proxy_1920x1080"


def _clip(engine, source: Path, profile_name: str, outdir: Path, index: int) -> dict:
    from proxx_core import PROFILES, ClipFailure, ClipRequest, ProxxError, Refusal
    from proxx_core.kit import fit_raster, verify_output

    from .detect import detect_raw

    det = detect_raw(source)
    entry: dict = {
        "source": str(source),
        "family": det.tag if det else None,
        "format_tag": det.format_tag if det else None,
        "profile": profile_name,
    }
    if det is None:
        return {
            **entry,
            "ok": False,
            "category": "unsupported_source",
            "message": "not recognised as camera RAW by its signature",
        }
    try:
        info = engine.probe(source)
        profile = PROFILES[profile_name]
        claim = engine.claim(info, profile)
        if isinstance(claim, Refusal):
            return {**entry, "ok": False, "category": claim.category or "validation", "message": claim.reason}
        w, h = fit_raster(info.video, profile)
        out = outdir / f"{source.stem}_{profile_name}.{profile.container}"
        if out.exists():
            return {
                **entry,
                "ok": False,
                "category": "output_exists",
                "message": f"{out} exists; use a new --output-dir",
            }
        temp = outdir / f".{out.name}.proxx-partial"
        req = ClipRequest(
            index=index,
            source=str(source),
            source_info=info,
            profile=profile,
            output_path=str(out),
            temp_path=str(temp),
            width=w,
            height=h,
        )
        plan = engine.plan(req)
        records = engine.execute(plan, threading.Event())
        v = verify_output(plan, engine.probe_output(plan), engine)  # the core's verdict, as a run applies it
        entry.update(
            {
                "frame_rate": str(info.video.frame_rate),
                "frame_count": info.video.frame_count,
                "start_timecode": info.start_timecode,
                "audio_channels": sum(a.channels for a in info.audio),
                "checks": [{"name": c.name, "expected": c.expected, "actual": c.actual, "ok": c.ok} for c in v.checks],
                "records": [_record(r) for r in records],
            }
        )
        if not v.ok:
            temp.unlink(missing_ok=True)
            bad = ", ".join(c.name for c in v.checks if not c.ok)
            return {**entry, "ok": False, "category": "verification_failed", "message": f"failed checks: {bad}"}
        os.replace(temp, out)
        return {**entry, "ok": True, "output": str(out)}
    except ClipFailure as exc:
        return {
            **entry,
            "ok": False,
            "category": exc.category,
            "message": exc.message,
            "records": [_record(r) for r in exc.records],
        }
    except ProxxError as exc:
        return {**entry, "ok": False, "category": exc.category, "message": str(exc)}


def _record(r) -> dict:
    return {"argv": list(r.argv), "exit_code": r.exit_code, "stderr_tail": r.stderr_tail, "timing": dict(r.timing)}


def run(
    sources: list[Path], out: Path, *, output_dir: Path | None = None, profile: str = DEFAULT_PROFILE, engine=None
) -> dict:
    """Render each source and write the report to ``out``; return the report."""
    from proxx_core.kit import now_rfc3339

    from . import __version__
    from .engine import READS, ResolveEngine

    engine = engine or ResolveEngine.from_environment()
    outdir = Path(output_dir or out.parent / "firstrun-proxies")
    outdir.mkdir(parents=True, exist_ok=True)
    caps = engine.capabilities()
    report: dict = {
        "schema": SCHEMA,
        "version": VERSION,
        "created_at": now_rfc3339(),
        "proxx_engine_resolve": __version__,
        "host": {
            "os": platform.system(),
            "os_release": platform.release(),
            "machine": platform.machine(),
            "python": sys.version.split()[0],
            "python_home": sys.base_prefix,
        },
        "engine": {
            "available": caps.available,
            "unavailable_reason": caps.unavailable_reason,
            "notes": list(caps.notes),
            "profiles": list(caps.profiles),
            "build": engine.identity().build if caps.available else None,
        },
        "clips": [],
    }
    if caps.available:
        report["clips"] = [_clip(engine, Path(s).resolve(), profile, outdir, i) for i, s in enumerate(sources, 1)]
    tested = {c["family"] for c in report["clips"] if c.get("family")}
    report["untested_families"] = sorted(set(READS) - tested)
    tmp = out.with_name(f".{out.name}.partial")
    tmp.write_text(json.dumps(report, indent=2, sort_keys=True, default=str) + "\n", encoding="utf-8")
    os.replace(tmp, out)
    return report


def read_report(path) -> dict:
    """Read a first-run report back; ValueError naming the problem if it is not one this code knows."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ValueError(f"{path}: not a readable JSON report ({exc})") from exc
    if not isinstance(data, dict) or data.get("schema") != SCHEMA:
        raise ValueError(
            f"{path}: schema is {data.get('schema') if isinstance(data, dict) else None!r}, expected {SCHEMA!r}"
        )
    if data.get("version") != VERSION:
        raise ValueError(f"{path}: report version {data.get('version')!r}; this Proxx reads version {VERSION}")
    for key, kind in (("host", dict), ("engine", dict), ("clips", list), ("untested_families", list)):
        if not isinstance(data.get(key), kind):
            raise ValueError(f"{path}: field {key!r} missing or not a {kind.__name__}")
    for i, clip in enumerate(data["clips"]):
        missing = [k for k in ("source", "family", "ok") if k not in clip]
        if missing or (not clip["ok"] and not clip.get("category")):
            raise ValueError(f"{path}: clips[{i}] lacks {missing or ['category']}")
    return data


def summary(report: dict) -> str:
    lines = [f"Resolve: {report['engine'].get('build') or report['engine'].get('unavailable_reason')}"]
    for c in report["clips"]:
        lines.append(
            f"  {c.get('family') or '?':12} {'ok' if c['ok'] else c['category']:20} {c['source']}"
            + ("" if c["ok"] else f"\n      {c.get('message')}")
        )
    if report["untested_families"]:
        lines.append("untested families: " + ", ".join(report["untested_families"]))
    return "\n".join(lines)


def exit_code(report: dict) -> int:
    if not report["engine"]["available"]:
        return 4
    oks = [c["ok"] for c in report["clips"]]
    if oks and all(oks):
        return 0
    return 3 if any(oks) else 2


def main(argv=None) -> int:
    p = argparse.ArgumentParser(
        prog="python -m proxx_engine_resolve.firstrun",
        description="Render one clip of each camera-RAW family with DaVinci Resolve "
        "and write a JSON report of what happened",
    )
    p.add_argument("--sources", nargs="+", required=True, help="one clip per RAW family (R3D, BRAW, ARRIRAW, ...)")
    p.add_argument("--out", required=True, help="report file to write (JSON)")
    p.add_argument("--output-dir", help="where the proxies go (default: firstrun-proxies beside the report)")
    p.add_argument("--profile", default=DEFAULT_PROFILE)
    args = p.parse_args(argv)
    missing = [s for s in args.sources if not Path(s).is_file()]
    if missing:
        p.error(f"no such file: {', '.join(missing)}")
    from proxx_core import PROFILES

    if args.profile not in PROFILES:
        p.error(f"unknown profile {args.profile!r}")
    report = run(
        [Path(s) for s in args.sources],
        Path(args.out),
        output_dir=Path(args.output_dir) if args.output_dir else None,
        profile=args.profile,
    )
    print(summary(report))
    print(f"report: {args.out}")
    return exit_code(report)


if __name__ == "__main__":
    sys.exit(main())
