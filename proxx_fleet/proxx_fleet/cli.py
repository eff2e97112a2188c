"""The fleet commands of `proxx`, added through the ``proxx_register_commands`` hook (entry-point group
``proxx.commands``: the CLI loads this module only for these commands and ``proxx --help``).

Exit codes: submit 0 queued (job id on stdout), 1 invalid JobSpec or no live worker can take a
clip, 4 system error (job file unreadable, Redis unreachable); wait as `proxx run` (0/2/3/4) and
4 on --timeout; status/cancel 0, 1 unknown job; worker 0 on shutdown, 1 no usable engine / bad
node config; workers 0.
"""

from __future__ import annotations

import argparse
import functools
import json
import sys

from proxx_core import hookimpl

#: more clips at once than this on one worker is a typo
MAX_WORKERS = 256


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _out(doc) -> None:
    sys.stdout.write(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    sys.stdout.flush()


def _system_errors(func):
    """Redis/Celery connection trouble is a system error (exit 4) with a plain message."""

    @functools.wraps(func)
    def wrapper(args):
        from kombu.exceptions import OperationalError
        from redis.exceptions import RedisError

        try:
            return func(args)
        except (RedisError, OperationalError) as exc:
            from .settings import shown

            _err(f"proxx {args.command}: cannot talk to the broker {shown(args.broker)}: {exc}")
            return 4

    return wrapper


def _shown(url: str) -> str:
    from .settings import shown

    return shown(url)


def _broker(args) -> str | None:
    from .settings import BROKER_ENV, broker_url

    url = broker_url(getattr(args, "broker", None))
    if not url:
        _err(f"proxx {args.command}: no broker: pass --broker redis://HOST:6379/0 or set {BROKER_ENV}")
    args.broker = url
    return url


@_system_errors
def cmd_worker(args) -> int:
    from proxx_core import CONFIG_ENV, ProxxError, load_engines, load_node_config

    from .settings import heartbeat_seconds
    from .worker import default_name, run_worker

    if not _broker(args):
        return 1
    try:
        config = load_node_config(args.config)
    except ProxxError as exc:
        _err(f"proxx worker: {exc.message}")
        return 1
    if args.config:  # plugins that read the node config (proxx-notify) read the one given here
        import os

        os.environ[CONFIG_ENV] = str(args.config)
    return run_worker(
        broker=args.broker,
        name=args.name or default_name(),
        engines=load_engines(),
        config=config,
        max_workers=args.max_workers,
        heartbeat=heartbeat_seconds(args.heartbeat),
        loglevel=args.loglevel,
        log_format=args.log_format,
    )


@_system_errors
def cmd_submit(args) -> int:
    from proxx_core import ProxxError

    from .store import Store
    from .submit import capacity_problems, enqueue, plan_submission, policy_warnings, unfinished
    from .units import clip_label

    if not _broker(args):
        return 1
    try:
        document = _submitted_document(args)
    except _Refused as exc:
        return _refuse(args.job, exc.problems)
    except _SystemError as exc:  # the job file cannot be read
        _err(f"proxx submit: {exc}")
        return 4
    except ProxxError as exc:  # a usage problem: no profile for media, an unknown preset, a bad node config
        _err(f"proxx submit: {exc.message}")
        return 1
    from proxx_core import load_engines

    sub = plan_submission(document, load_engines())
    if sub.problems:
        return _refuse(args.job, sub.problems)
    assert sub.job_id is not None  # a submission without problems has its job id
    store = Store(args.broker)
    live = store.live_workers()
    problems = capacity_problems(sub, live, document)
    if problems:
        return _refuse(args.job, problems, "no live worker can take every clip; nothing was queued")
    for warning in policy_warnings(sub, live, document):
        _err(f"proxx submit: {args.job}: warning: {warning}")
    if unfinished(store, sub.job_id):
        _err(
            f"proxx submit: job {sub.job_id} is already queued or running; see `proxx status {sub.job_id}`, "
            f"or set a new /job_id to submit it again"
        )
        return 1
    enqueue(store, args.broker, document, sub)
    by_queue: dict[str, int] = {}
    for q in sub.queues:
        if q is not None:
            by_queue[q] = by_queue.get(q, 0) + 1
    for number, problem in sub.refused:
        _err(
            f"proxx submit: {args.job}: refused {clip_label(document, number)}: {problem.path}: {problem.message} "
            f"(unsupported_sources: fail_clip; reported FAILED, the others run)"
        )
    together = f" as {len(sub.tasks)} task(s)" if len(sub.tasks) != sub.queued else ""  # renditions from one decode
    _err(
        f"proxx submit: job {sub.job_id}: {sub.queued} clip(s) queued{together} ("
        + ", ".join(f"{n} on {q}" for q, n in sorted(by_queue.items()))
        + ")"
        + (f", {len(sub.refused)} refused" if sub.refused else "")
    )
    sys.stdout.write(sub.job_id + "\n")
    return 0


class _SystemError(Exception):
    pass


class _Refused(Exception):
    def __init__(self, problems):
        super().__init__("refused")
        self.problems = problems


def _submitted_document(args) -> dict:
    """The JobSpec to queue: a job file, or one built from media folders and cards (``--profile`` /
    ``--preset``, as ``proxx run``, through the CLI's front door the hook was given: ``args.inputs_of``).
    Folder sources are expanded here, once, so every worker gets the same list of files (a worker never
    lists a folder itself)."""
    from proxx_core import JobFileError, Problem, SpecInvalid, expand_document, read_document

    front = args.inputs_of
    if front is not None and front.building(args):
        args.job = "job"
        document, problems, _ = front.build_job(args, _err)  # a usage problem raises ProxxError
        if problems:
            raise _Refused([Problem(path="/sources", message=f"{where}: {message}") for where, message in problems])
    else:
        args.job = args.inputs[0]
        try:
            document = read_document(args.job)
        except JobFileError as exc:
            raise _SystemError(exc.message) from None
        except SpecInvalid as exc:
            raise _Refused(list(exc.problems)) from None
    expanded, _, folder_problems = expand_document(document)
    if folder_problems:
        raise _Refused([Problem(path=f"/sources/{i}", message=m) for i, m in folder_problems])
    return expanded  # type: ignore[no-any-return]


def _refuse(path, problems, summary: str = "nothing was queued") -> int:
    for p in problems:
        _err(f"proxx submit: {path}: {p.path or '/'}: {p.message}")
    _err(f"proxx submit: {path}: {len(problems)} problem(s); {summary}")
    return 1


@_system_errors
def cmd_status(args) -> int:
    from .report import lost_lines, refresh, status_doc
    from .store import Store

    if not _broker(args):
        return 1
    got = refresh(Store(args.broker), args.job_id, by=_looker("status"))
    if got is None:
        _err(f"proxx status: no job {args.job_id!r} on {_shown(args.broker)}")
        return 1
    doc = status_doc(args.job_id, *got)
    _err(f"proxx status: job {args.job_id}: " + ", ".join(f"{n} {s}" for s, n in sorted(doc["counts"].items())))
    for line in lost_lines(args.job_id, doc["lost_workers"]):
        _err(f"proxx status: {line}")
    _out(doc)
    return 0


@_system_errors
def cmd_wait(args) -> int:
    import os
    import socket
    import time

    from proxx_core import load_engines

    from .end import await_final
    from .report import lost_lines, lost_workers, progress_line, status_doc, wait_for
    from .store import Store

    if not _broker(args):
        return 1
    store = Store(args.broker)
    started = time.monotonic()
    shown = [""]  # the last progress line written
    told: set[tuple[int, str | None]] = set()  # the lost clips (index, rendition) already announced
    tty = sys.stderr.isatty()

    def on_poll(job, clips) -> None:
        """Every lost worker is announced once, as soon as the fleet has recorded it; a terminal
        also sees the job move (a pipe or log file gets no progress line)."""
        for entry in status_doc(args.job_id, job, clips)["lost_workers"]:
            new = [c for c in entry["clips"] if (c["index"], c.get("rendition")) not in told]
            if new:
                told.update((c["index"], c.get("rendition")) for c in new)
                line = lost_lines(args.job_id, [{**entry, "clips": new}])[0]
                sys.stderr.write(("\r\x1b[2K" if shown[0] else "") + f"proxx wait: {line}\n")
                shown[0] = ""
        line = progress_line(args.job_id, job, clips) if tty else ""
        if line and line != shown[0]:
            sys.stderr.write("\r\x1b[2K" + line)
            shown[0] = line
        sys.stderr.flush()

    try:
        got = wait_for(store, args.job_id, timeout=args.timeout, on_poll=on_poll, by=_looker("wait"))
        if shown[0]:
            sys.stderr.write("\n")
    except KeyError:
        _err(f"proxx wait: no job {args.job_id!r} on {_shown(args.broker)}")
        return 1
    left = None if args.timeout is None else max(0.0, args.timeout - (time.monotonic() - started))
    result, note = (
        (None, None)
        if got is None
        else await_final(
            store, args.job_id, load_engines, by=f"wait@{socket.gethostname()}:{os.getpid()}", timeout=left
        )
    )
    if result is None:
        _err(f"proxx wait: job {args.job_id} not finished after {args.timeout:g} s; `proxx status {args.job_id}`")
        return 4
    for clip in result["clips"]:
        if clip["failure"]:
            rendition = f" rendition {clip['rendition']!r}" if clip.get("rendition") else ""
            _err(
                f"proxx: clip {clip['index']}{rendition} ({clip['source']['path']}): {clip['failure']['category']}: "
                f"{clip['failure']['message']}"
            )
    for deliverable in result.get("deliverables") or ():
        if deliverable.get("error"):
            _err(f"proxx: deliverable {deliverable['name']!r} was not written: {deliverable['error']}")
    if note:
        _err(f"proxx wait: {note}")
    for line in lost_lines(args.job_id, lost_workers(_result_rows(result))):
        _err(f"proxx wait: {line}")
    _err(f"proxx: job {args.job_id}: {result['status']}")
    _out(result)
    return int(result["exit_code"])


def _looker(command: str) -> str:
    """Who records a loss noticed by this command (``node.lost.recorded_by``)."""
    import os
    import socket

    return f"proxx {command}@{socket.gethostname()}:{os.getpid()}"


def _result_rows(result: dict) -> list[dict]:
    """The final result's clips as the rows :func:`report.lost_workers` reads."""
    from .clips import lost_of

    return [
        {
            "index": c["index"],
            "rendition": c.get("rendition"),
            "source": (c.get("node") or {}).get("submitted", {}).get("source") or c["source"]["path"],
            "lost": lost_of(c),
        }
        for c in result["clips"]
    ]


@_system_errors
def cmd_cancel(args) -> int:
    from .report import cancel
    from .store import Store

    if not _broker(args):
        return 1
    store = Store(args.broker)
    done = cancel(store, args.job_id)
    if done is None:
        _err(f"proxx cancel: no job {args.job_id!r} on {_shown(args.broker)}")
        return 1
    _err(
        f"proxx cancel: job {args.job_id}: {done['cancelled_queued']} queued clip(s) cancelled, "
        f"{done['interrupting_running']} running clip(s) being interrupted"
    )
    if not done["interrupting_running"]:  # nothing left to finish a clip: end the job here (once, see end.py)
        import os
        import socket

        from proxx_core import load_engines

        from .end import end_job

        end_job(store, args.job_id, load_engines(), by=f"cancel@{socket.gethostname()}:{os.getpid()}")
    _out({"job_id": args.job_id, **done})
    return 0


@_system_errors
def cmd_workers(args) -> int:
    from .store import Store

    if not _broker(args):
        return 1
    workers = Store(args.broker).live_workers()
    for w in workers:
        builds = ", ".join(
            f"{n} {e.get('version')} {(e.get('binary_sha256') or '-')[:12]}" for n, e in sorted(w["engines"].items())
        )
        _err(f"{w['node']}: {builds}; load {w['load']}/{w['max_workers']}; heartbeat {w['heartbeat_at']}")
    if not workers:
        _err("proxx workers: no live worker")
    _out({"workers": workers})
    return 0


def _positive(text: str) -> int:
    """--max-workers: a whole number from 1 to MAX_WORKERS."""
    from proxx_core.kit import shown  # the kit on use: `proxx --help` loads this module

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number") from None
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_WORKERS}, not {shown(value)}")
    return value


def _positive_seconds(text: str) -> float:
    """--heartbeat, --timeout: a finite number of seconds greater than 0 (``inf`` and ``nan`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        from proxx_core.kit import shown

        raise argparse.ArgumentTypeError(f"{shown(text)} is not a number of seconds") from None
    if not 0 < value < float("inf"):  # also false for nan
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds greater than 0, not {text}")
    return value


@hookimpl
def proxx_register_commands(add, inputs) -> None:
    """The fleet subcommands, through the CLI's ``add(name, help, func)``; ``inputs`` (the CLI's front
    door, :class:`proxx_core.kit.JobInputs`) gives `submit` the inputs of `proxx run`."""
    positive, positive_float = _positive, _positive_seconds

    def broker(p):
        p.add_argument("--broker", metavar="URL", help="Redis URL, e.g. redis://HOST:6379/0 (default $PROXX_BROKER)")
        return p

    p = broker(
        add(
            "worker",
            "Run a fleet worker: consume the queues of this node's usable engines and run "
            "clips like `proxx run`. Guide: proxx docs fleet",
            cmd_worker,
        )
    )
    p.add_argument("--max-workers", type=positive, default=1, metavar="N", help="clips to run at once (default 1)")
    p.add_argument("--config", metavar="TOML", help="node config with [paths] prefix map (default $PROXX_CONFIG)")
    p.add_argument("--name", help="node name in the registry (default: host name); unique per worker")
    p.add_argument(
        "--heartbeat",
        type=positive_float,
        default=None,
        metavar="S",
        help="heartbeat interval (default $PROXX_FLEET_HEARTBEAT_SECONDS or 10); dead after 3 missed",
    )
    p.add_argument("--loglevel", default="WARNING", help="Celery log level (default WARNING)")
    p.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="the worker's per-clip log lines on stderr: text, or JSON lines for log shippers",
    )
    p = broker(
        add(
            "submit",
            "Validate a JobSpec here and queue one task per clip (a source's renditions made together: one) on the "
            "fleet; prints the job id.",
            cmd_submit,
        )
    )
    if inputs is not None:  # the same inputs as proxx run (cards, presets)
        inputs.add_source_options(p)
    else:  # a caller without the CLI's front door: one JobSpec file
        p.add_argument("inputs", nargs=1, metavar="JOB", help="the JobSpec file")
    p.set_defaults(inputs_of=inputs)
    p = broker(add("status", "Show a fleet job's clips per state and node (JSON on stdout).", cmd_status))
    p.add_argument("job_id")
    p = broker(add("wait", "Wait for a fleet job and print its result JSON (exit codes as `proxx run`).", cmd_wait))
    p.add_argument("job_id")
    p.add_argument("--timeout", type=positive_float, default=None, metavar="S", help="give up after S seconds (exit 4)")
    p = broker(
        add("cancel", "Cancel a fleet job: queued clips never start, running clips are interrupted.", cmd_cancel)
    )
    p.add_argument("job_id")
    broker(add("workers", "List live fleet workers: engines, builds, path map, load, last heartbeat.", cmd_workers))
