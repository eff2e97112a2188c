"""``proxx dashboard DIR``: added to the CLI through the ``proxx_register_commands`` hook (this module is
the ``proxx.commands`` entry point ``dashboard``), so ``proxx_cli`` never imports this distribution.
Serves with uvicorn; refuses an address other than loopback without a token."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import Any

from proxx_core import hookimpl

from .auth import ENV, is_loopback
from .settings import DEFAULT_HOST, DEFAULT_PORT, DEFAULT_STALL_SECONDS


@hookimpl
def proxx_register_commands(add: Any) -> None:
    """``dashboard``, through the CLI's ``add(name, help, func)``."""
    p = add(
        "dashboard",
        "Serve a read-only live status page (and Prometheus /metrics) for a watch folder: "
        "nodes, worker slots, jobs, recent history. Binds to 127.0.0.1 unless --host is given, "
        "which then needs a token (--token or PROXX_DASHBOARD_TOKEN). Guide: proxx docs status-page",
        run,
    )
    p.add_argument("dir", nargs="?", help="the watch folder (the one `proxx watch DIR` drains)")
    p.add_argument(
        "--broker",
        metavar="URL",
        default=None,
        help="also (or only) show a fleet: its Redis URL, as `proxx worker --broker` (needs proxx-fleet)",
    )
    p.add_argument(
        "--fleet-job",
        action="append",
        default=[],
        metavar="ID",
        help="keep this fleet job on the page, finished or not (repeatable); others show while running",
    )
    p.add_argument(
        "--host",
        default=DEFAULT_HOST,
        help=f"address to listen on (default {DEFAULT_HOST}); any other than loopback requires a token",
    )
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"TCP port (default {DEFAULT_PORT})")
    p.add_argument("--token", default=None, help=f"require this token (default ${ENV}); required off loopback")
    p.add_argument(
        "--node",
        default=None,
        help="this machine's node name as its watchers record it (default "
        "$PROXX_WATCH_NODE, else the host name): owners of this node are "
        "judged by their process, others by their heartbeat",
    )
    p.add_argument(
        "--stall-seconds",
        type=float,
        default=DEFAULT_STALL_SECONDS,
        metavar="S",
        help=f"flag a clip stalled after S seconds without progress (default {DEFAULT_STALL_SECONDS:g})",
    )


def refusal(host: str, token: str | None, folder: Path | None, broker: str | None = None) -> str | None:
    """Why the dashboard must not start, or None."""
    if folder is None and not broker:
        return "proxx dashboard: give a watch folder (DIR), a fleet (--broker URL), or both"
    if folder is not None and not folder.is_dir():
        return (
            f"proxx dashboard: {folder} is not a watch folder (no such directory); give the folder `proxx watch` uses"
        )
    if not is_loopback(host) and not token:
        return (
            f"proxx dashboard: --host {host} is reachable from other machines, so a token is required: "
            f"pass --token <secret> or set {ENV} (or bind to 127.0.0.1)"
        )
    return None


def run(args: argparse.Namespace) -> int:
    token = args.token or os.environ.get(ENV) or None
    folder = Path(args.dir) if args.dir else None
    why = refusal(args.host, token, folder, args.broker)
    if why:
        print(why, file=sys.stderr, flush=True)
        return 1
    import uvicorn

    from .app import create_app
    from .model import Combined, Reader
    from .watchreader import WatchFolderReader

    readers: list[Reader] = []
    shown_sources = []
    if folder is not None:
        watch = WatchFolderReader(folder, node=args.node, stall_seconds=args.stall_seconds)
        readers.append(watch)
        shown_sources.append(str(watch.root))
    if args.broker:
        from .fleetreader import FleetReader

        try:
            fleet = FleetReader(args.broker, follow=args.fleet_job)
        except ImportError:
            print(
                "proxx dashboard: --broker needs the proxx-fleet distribution: pip install ./proxx_fleet "
                "(from a clone of the Proxx repository)",
                file=sys.stderr,
                flush=True,
            )
            return 1
        readers.append(fleet)
        shown_sources.append(fleet.url)
    reader = Combined(readers)
    app = create_app(reader, token=token)
    shown = f"[{args.host}]" if ":" in args.host else args.host
    print(
        f"proxx dashboard: {' + '.join(shown_sources)} at http://{shown}:{args.port}/"
        + (" (token required)" if token else ""),
        file=sys.stderr,
        flush=True,
    )
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning", access_log=False)
    return 0
