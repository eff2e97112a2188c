"""``proxx``: validate, plan and run proxy jobs, watch folders, and inspect engines.

stdout carries only machine-readable output (the result or plan JSON); every message goes to
stderr. Exit codes are documented in docs/cli.md and in ``proxx --help``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
from pathlib import Path

from . import gcstartup
from .executable import PROBING, start_helpers

EXIT_CODES = """exit codes:
  any command    1 usage error (unknown command or option, bad option value)
  validate/plan  0 valid, 1 invalid JobSpec, 4 system error (job file missing or unreadable)
  run            0 every clip COMPLETED, 1 invalid JobSpec (nothing ran), 2 no clip succeeded,
                 3 PARTIAL (some clips failed), 4 system error (job file unreadable, disk full,
                 permissions changed mid-run)
  watch          0 stopped by SIGINT/SIGTERM or --once finished, 1 fatal (folder missing or not writable)
  engines, profiles, schema  0
"""


def _err(msg: str) -> None:
    print(msg, file=sys.stderr, flush=True)


def _out(text: str) -> None:
    sys.stdout.write(text)
    sys.stdout.flush()


#: commands that run until stopped: normal garbage collection from their first step
_LONG_RUNNING = frozenset({"watch", "demo", "worker"})


def _engines():
    from proxx_core.support.plugins import load_engines

    return load_engines()


def _report_problems(path: str, problems) -> None:
    for p in problems:
        _err(f"proxx: {path}: {p.path or '/'}: {p.message}")
    _err(f"proxx: {path}: {len(problems)} problem(s); nothing was run")


def _check(args, engines):
    """The checked job of the command line: a JobSpec file, or a job built from media (``args.job``
    becomes the label messages start with)."""
    from . import frontdoor

    if not frontdoor.building(args):
        from proxx_core.pipeline.check import check_job_file

        args.job = args.inputs[0]
        return check_job_file(args.job, engines)
    from proxx_core.contract.errors import Problem
    from proxx_core.pipeline.check import check_document

    args.job = "job"
    document, problems, _ = _build(args)
    checked = check_document(
        document,
        engines,
        input_problems=tuple(Problem(path="/sources", message=f"{where}: {message}") for where, message in problems),
    )
    if checked.job is None:
        checked = _with_option_hints(checked, frontdoor.option_hint)
    return checked


def _build(args):
    """frontdoor.build_job, with a usage problem (no profile, an unknown preset, a bad node config)
    as exit 1 and its reason."""
    from proxx_core.contract.errors import ProxxError

    from . import frontdoor

    try:
        return frontdoor.build_job(args, _err)
    except (frontdoor.UsageError, ProxxError) as exc:
        _err(f"proxx {args.command}: {exc}")
        raise SystemExit(1) from None


def _with_option_hints(checked, hint):
    """The same refusal with each problem naming the command-line option that sets its key."""
    import attrs

    problems = tuple(attrs.evolve(p, message=p.message + hint(p.path)) for p in checked.problems)
    refusal = attrs.evolve(checked.refusal, problems=problems) if checked.refusal is not None else None
    return attrs.evolve(checked, problems=problems, refusal=refusal)


def cmd_validate(args) -> int:
    checked = _check(args, _engines())
    if checked.job is None:
        _report_problems(args.job, checked.problems)
    else:
        engines = sorted({c.plan.engine for c in checked.job.clips})
        _err(f"proxx: {args.job}: valid; {len(checked.job.clips)} clip(s) via {', '.join(engines) or 'no engine'}")
        _report_refused(args.job, checked.job.refused)
    warnings, folders = [], []
    if checked.job is not None:  # relink warnings (not errors) and the folders the job writes into
        from proxx_core.features.existing import existing_output_warning
        from proxx_core.pipeline.serialization import written_folders

        warnings = [{"path": f"/sources/{c.index - 1}", "message": w} for c in checked.job.clips for w in c.warnings]
        finals = [
            p
            for c in checked.job.clips
            for p in (c.plan.request.output_path, *(t.path for t in c.plan.request.extra_outputs))
        ]
        existing = existing_output_warning(checked.job.spec, finals)
        if existing:
            warnings.append({"path": "/existing_outputs", "message": existing})
        folders = written_folders(checked.job)
        for w in warnings:
            _err(f"proxx: {args.job}: warning: {w['path']}: {w['message']}")
    doc = {
        "valid": checked.job is not None,
        "job_id": checked.refusal.job_id if checked.refusal else checked.job.job_id,  # type: ignore[union-attr]  # no refusal: a job
        "problems": [{"path": p.path, "message": p.message, "category": p.category} for p in checked.problems],
        "warnings": warnings,
        "folders": folders,
    }
    if checked.job is not None and checked.job.refused:
        doc["refused_clips"] = _refused_data(checked.job.refused)
    _out(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    return checked.exit_code


def _refused_data(refused) -> list[dict]:
    return [
        {
            "index": r.index,
            "source": r.source,
            "path": r.problem.path,
            "message": r.problem.message,
            "category": r.problem.category,
        }
        for r in refused
    ]


def _report_refused(path: str, refused) -> None:
    """Clips refused under "unsupported_sources": "fail_clip": listed as warnings; the job runs without them."""
    for r in refused:
        _err(f"proxx: {path}: warning: {r.problem.path}: {r.problem.message}")
    if refused:
        _err(
            f'proxx: {path}: warning: {len(refused)} clip(s) refused ("unsupported_sources": "fail_clip"); '
            f"the job will run without them and report them FAILED"
        )


def cmd_plan(args) -> int:
    from proxx_core.pipeline.serialization import plan_document

    engines = _engines()
    checked = _check(args, engines)
    if checked.job is None:
        _report_problems(args.job, checked.problems)
        return checked.exit_code
    used = sorted({c.plan.engine for c in checked.job.clips})
    doc = plan_document(checked.job, [engines.identity(n) for n in used])
    if checked.job.refused:
        _report_refused(args.job, checked.job.refused)
        doc["refused_clips"] = _refused_data(checked.job.refused)
    _out(json.dumps(doc, ensure_ascii=False, indent=2) + "\n")
    return 0


def cmd_run(args) -> int:
    from proxx_core.io import helperprocess
    from proxx_core.pipeline.runner import run_job
    from proxx_core.pipeline.serialization import dumps

    engines = _engines()
    checked = _check(args, engines)
    # the end of job (deliverables, sinks) is imported after the run, or during it (pipeline/endprep.py)
    from proxx_core.pipeline.finish import finish_job

    if checked.job is None:
        _report_problems(args.job, checked.problems)
        refusal = finish_job(checked.refusal, engines)  # type: ignore[arg-type]  # no job: a refusal
        _report_hook_errors(refusal.hook_errors)
        _out(dumps(refusal.result))
        return checked.exit_code
    gcstartup.done()  # the run itself collects garbage normally
    cancel = threading.Event()

    def on_signal(signum, _frame):
        _err(f"proxx: received {signal.Signals(signum).name}; stopping running clips")
        cancel.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    from .progress import make_display

    _report_refused(args.job, checked.job.refused)
    try:
        durations = {c.index: c.source_info.duration_seconds for c in checked.job.clips}
        with make_display(
            args.progress, len(checked.job.clips) + len(checked.job.refused), durations=durations
        ) as display:
            result = run_job(checked.job, engines, max_workers=args.max_workers, cancel=cancel, events=display)
    finally:
        for s, h in previous.items():
            signal.signal(s, h)
    helperprocess.release_all()  # the last probe is done: the probe helper exits while the job finishes
    finished = finish_job(result, engines)
    result = finished.result
    for clip in result.clips:
        if clip.failure:
            _err(f"proxx: clip {clip.index} ({clip.source.path}): {clip.failure.category}: {clip.failure.message}")
    for message in finished.sink_errors:
        _err(f"proxx: {message}")
    _err(f"proxx: job {result.job_id}: {result.status}")
    _report_hook_errors(finished.hook_errors)
    _emit_result(args, result, dumps(result))
    return result.exit_code


def _emit_result(args, result, text: str) -> None:
    """A pipe gets the result JSON; a person at a terminal gets the summary table and the path of
    the result file (written beside the outputs, or to --result)."""
    from . import frontdoor

    path = frontdoor.result_path(args, result)
    if path is not None:
        from proxx_core.io.writegate import WriteRefused

        sources = result.jobspec.get("sources") if isinstance(result.jobspec, dict) else None
        try:
            frontdoor.write_beside(path, text, sources, replace=True)
        except WriteRefused as exc:
            _err(f"proxx: the result was not written to {path}: {exc.message}; it follows on stdout")
            path = None
        except OSError as exc:
            _err(f"proxx: could not write the result to {path} ({exc.strerror}); it follows on stdout")
            path = None
    if sys.stdout.isatty() and path is not None:
        frontdoor.summary(result, sys.stdout)
        _out(f"result: {path}\n")
    else:
        _out(text)


def _report_hook_errors(errors) -> None:
    """A proxx_job_finished implementation that failed is reported and never changes the result."""
    for error in errors:
        _err(f"proxx: result sink failed: {error}")


def cmd_job(args) -> int:
    document, problems, _ = _build(args)
    for where, message in problems:
        _err(f"proxx job: {where}: {message}")
    if problems:
        return 1
    text = json.dumps(document, ensure_ascii=False, indent=2) + "\n"
    if not args.output:
        _out(text)
        return 0
    from proxx_core.io.writegate import WriteRefused

    from . import frontdoor

    try:
        frontdoor.write_beside(args.output, text, document.get("sources"), replace=args.force)
    except WriteRefused as exc:
        _err(f"proxx job: {args.output} was not written: {exc.message}; choose another name")
        return 1
    except FileExistsError:
        _err(f"proxx job: {args.output} exists; choose another name or add --force to replace it")
        return 1
    except OSError as exc:
        _err(f"proxx job: cannot write {args.output} ({exc.strerror})")
        return 4
    _err(f"proxx job: wrote {args.output}; check it with: proxx validate {args.output}")
    return 0


def cmd_watch(args) -> int:
    from .watch_cli import watch_main

    max_workers = args.max_workers
    if max_workers == "auto":
        from proxx_core.support.workers import choose

        max_workers = choose("auto").max_workers
    return watch_main(Path(args.dir), max_workers=max_workers, once=args.once, poll_seconds=args.poll_seconds)


def cmd_engines(args) -> int:
    from proxx_core.pipeline.serialization import to_data

    engines = _engines()
    rows = []
    for name in engines.names:
        item = engines.loaded[name]
        caps, ident = engines.capabilities(name), engines.identity(name)
        rows.append(
            {
                "name": name,
                "distribution": item.distribution,
                "plugin": item.plugin,
                "identity": to_data(ident),
                "capabilities": to_data(caps),
            }
        )
    failures = [to_data(f) for f in engines.failures]
    if args.json:
        _out(json.dumps({"engines": rows, "failed_to_load": failures}, ensure_ascii=False, indent=2) + "\n")
        return 0
    from rich.console import Console
    from rich.markup import escape

    console = Console(highlight=False, soft_wrap=True)
    for r in rows:
        c, i = r["capabilities"], r["identity"]
        state = (
            "[green]available[/green]"
            if c["available"]
            else f"[red]unavailable[/red]: {escape(c['unavailable_reason'] or '')}"
        )
        console.print(
            f"[bold]{r['name']}[/bold]  ({escape(r['distribution'] or r['plugin'])}, "
            f"contract {i['contract_version']})  {state}"
        )
        for label, value in (
            ("build", i.get("build")),
            ("binary", i.get("binary")),
            ("sha256", i.get("binary_sha256")),
            ("profiles", ", ".join(c["profiles"])),
            ("reads", ", ".join(c["reads"])),
            ("features", ", ".join(c.get("features", ()))),
        ):
            if value:
                console.print(f"  {label:<9}{escape(value)}")
        for note in c["notes"]:
            console.print(f"  {'note':<9}{escape(note)}")
        console.print()
    if not rows:
        from proxx_core.support.hints import install_command

        console.print("No engines installed. Install one, e.g. " + install_command("proxx-engine-ffmpeg"))
    for f in failures:
        console.print(
            f"[red]failed to load[/red] {escape(f['plugin'])} "
            f"({escape(f['distribution'] or 'unknown distribution')}): {escape(f['reason'])}"
        )
    return 0


def cmd_profiles(args) -> int:
    from proxx_core.contract.profiles import PROFILES
    from proxx_core.pipeline.serialization import to_data

    if args.json:
        _out(json.dumps([to_data(PROFILES[n]) for n in sorted(PROFILES)], indent=2) + "\n")
        return 0
    from rich.console import Console
    from rich.table import Table

    table = Table(title="proxx profiles")
    for col in ("profile", "codec", "container", "video", "audio", "max raster"):
        table.add_column(col)
    for n in sorted(PROFILES):
        p = PROFILES[n]
        audio = f"{p.audio_codec}" + (f" {p.audio_sample_rate // 1000} kHz" if p.audio_sample_rate else ", source rate")
        table.add_row(
            p.name, p.codec, p.container, p.video, audio + ", every stream kept", f"{p.max_width}x{p.max_height}"
        )
    Console(width=160).print(table)
    return 0


def cmd_schema(args) -> int:
    from proxx_core.pipeline.serialization import JOBSPEC_SCHEMA, PLAN_SCHEMA, RESULT_SCHEMA, load_schema

    name = RESULT_SCHEMA if args.result else PLAN_SCHEMA if args.plan else JOBSPEC_SCHEMA
    _out(json.dumps(load_schema(name), indent=2) + "\n")
    return 0


def cmd_docs(args) -> int:
    from . import docs_cmd

    if not args.topic:
        _out(docs_cmd.listing())
        return 0
    text = docs_cmd.read_topic(args.topic)
    if text is None:
        _err(f"proxx: {docs_cmd.unknown_topic(args.topic)}")
        return 1
    _out(text)
    return 0


def cmd_demo(args) -> int:
    """Run the demo an installed engine offers (entry-point group ``proxx.demo``): the CLI imports
    no engine itself."""
    import importlib.metadata

    offers = sorted(importlib.metadata.entry_points(group="proxx.demo"), key=lambda ep: ep.name)
    if not offers:
        from proxx_core.support.hints import install_command

        _err("proxx: no installed engine offers a demo; install one: " + install_command("proxx-engine-ffmpeg"))
        return 4
    run_demo = offers[0].load()
    return run_demo(Path(args.dir) if args.dir else None, max_workers=args.max_workers)


class _VersionAction(argparse.Action):
    """``--version``, computed only when asked: no Proxx module, PyAV or jsonschema is imported."""

    def __init__(self, option_strings, dest=argparse.SUPPRESS, default=argparse.SUPPRESS, help=None):
        super().__init__(
            option_strings=option_strings, dest=dest, default=default, nargs=0, help=help or "show the version and exit"
        )

    def __call__(self, parser, namespace, values, option_string=None):
        from importlib.metadata import PackageNotFoundError, version

        try:
            text = version("proxx-core")
        except PackageNotFoundError:
            text = "0+unknown"
        _out(f"proxx {text}\n")
        parser.exit(0)


class _Parser(argparse.ArgumentParser):
    """argparse exits 2 on a bad command line; for proxx, 2 means "no clip succeeded", so a usage
    error exits 1 (sub-command parsers are made of this class too)."""

    #: the top-level parser's commands, in the order they were added (built-in, then plugins')
    commands: list[str]

    def error(self, message: str):
        self.print_usage(sys.stderr)
        self.exit(1, f"{self.prog}: error: {message}\n")


class _NotBuilt:
    """Stands in for the parser of a command that is not being run: argparse builds ~15 subparsers
    in ~7 ms, a visible share of `proxx validate`'s start-up budget (docs/performance.md)."""

    def __getattr__(self, _name: str):
        return lambda *_args, **_kw: self


def _command_of(argv: list[str]) -> str | None:
    """What ``argv`` asks to build: a built-in command's name (only its parser is built), a plugin
    command's name (only the plugin adding it is loaded), ``--version`` (nothing is built); else None
    (every subparser is built, so `proxx --help` and the invalid-choice error list them all)."""
    if not argv:
        return None
    if argv[0] in COMMAND_NAMES or argv[0] == VERSION:
        return argv[0]
    if argv[0].startswith("-"):
        return None
    from proxx_core.support.plugins import command_entry_points

    return argv[0] if command_entry_points(argv[0]) else None


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """The CLI; with ``only`` the other commands are registered by name (listed, choosable) but
    their arguments are not built."""
    parser = _Parser(
        prog="proxx",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="Deterministic, verified, relink-safe proxies from camera media.",
        epilog=EXIT_CODES + "\ndocumentation (shipped with Proxx): proxx docs; e.g. proxx docs operator-guide, "
        "proxx docs jobspec, proxx docs results",
    )
    parser.add_argument("--version", action=_VersionAction)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name, help_, func, **kw):
        if only is not None and name != only:
            return _NotBuilt()
        p = sub.add_parser(
            name,
            help=help_,
            description=help_,
            formatter_class=argparse.RawDescriptionHelpFormatter,
            epilog=EXIT_CODES,
            **kw,
        )
        p.set_defaults(func=func)
        parser.commands.append(name)
        return p

    parser.commands = []
    from .frontdoor import add_source_options

    p = add("validate", "Check a job completely (schema, sources, names, routing); run nothing.", cmd_validate)
    add_source_options(p)
    p = add("plan", "Print the routing and exact commands of every clip as JSON; run nothing.", cmd_plan)
    add_source_options(p)
    p = add(
        "run",
        "Run a job: a JobSpec file, or media folders and cards with --profile or --preset "
        "(e.g. proxx run --preset dailies /Volumes/A001). On a terminal: live progress, a summary "
        "table and the result file's path; through a pipe: the result JSON on stdout.",
        cmd_run,
    )
    add_source_options(p)
    p.add_argument(
        "--result",
        metavar="PATH",
        help="also write the result JSON to PATH (on a terminal it "
        "goes beside the outputs: <output_dir>/<job_id>.proxx-result.json)",
    )
    p.add_argument(
        "--max-workers",
        type=_workers,
        default="auto",
        metavar="N|auto",
        help="clips to encode at once; auto (default): the node's usable CPUs over each clip's thread "
        "budget, within memory (proxx docs performance)",
    )
    p.add_argument(
        "--progress",
        choices=("auto", "terminal", "jsonl", "none"),
        default="auto",
        help="progress on stderr: auto (default) a live line per running clip when stderr is a terminal; "
        "jsonl one JSON event per line (start/progress/done); none (proxx docs operator-guide)",
    )
    p = add(
        "job",
        "Write the JobSpec for media folders and cards (the job `proxx run` would run with the same "
        "options), to keep, edit, submit to a fleet or drop into a watch folder.",
        cmd_job,
    )
    add_source_options(p)
    p.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the JobSpec to FILE (refused if it exists, unless --force) instead of stdout",
    )
    p.add_argument("--force", action="store_true", help="replace FILE if it exists")
    p = add(
        "watch",
        "Drain a watch folder (pending/ running/ completed/ failed/). Operators drop a spec "
        "by writing it elsewhere (or under a hidden name) and renaming it into pending/. "
        "Environment: PROXX_WATCH_NODE (node name, default host name), PROXX_WATCH_STABLE_SECONDS, "
        "PROXX_WATCH_INVALID_GRACE_SECONDS. Guide: proxx docs watch-folders",
        cmd_watch,
    )
    p.add_argument("dir", help="the watch folder")
    p.add_argument(
        "--max-workers",
        type=_workers,
        default=1,
        metavar="N|auto",
        help="jobs to run at once (default 1); auto: the node's usable CPUs over H.264's 4 threads",
    )
    p.add_argument("--once", action="store_true", help="run what is pending, then exit 0")
    p.add_argument(
        "--poll-seconds",
        type=_poll_seconds,
        default=None,
        metavar="S",
        help=f"poll every S seconds instead of using filesystem events ({MIN_POLL_SECONDS:g} to {MAX_POLL_SECONDS:g})",
    )
    p = add("engines", "List installed engines: versions, binaries, what each reads and makes here.", cmd_engines)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = add("profiles", "List the proxy profile catalogue.", cmd_profiles)
    p.add_argument("--json", action="store_true", help="machine-readable output")
    p = add("schema", "Print the JobSpec JSON Schema (or the result or plan schema).", cmd_schema)
    which = p.add_mutually_exclusive_group()
    which.add_argument("--result", action="store_true", help="print the result JSON Schema instead")
    which.add_argument("--plan", action="store_true", help="print the schema of `proxx plan` output instead")
    p = add("docs", "Print the documentation shipped with Proxx (no topic: list the topics).", cmd_docs)
    p.add_argument("topic", nargs="?", help="e.g. operator-guide, jobspec, results, source-handling")
    p = add("demo", "Make sample media and run a real demo job with the FFmpeg engine.", cmd_demo)
    p.add_argument("dir", nargs="?", help="where to put the demo (default: a new temporary folder)")
    p.add_argument("--max-workers", type=_workers, default=2, metavar="N|auto")
    if only is None or only not in COMMAND_NAMES | {VERSION}:
        _add_plugin_commands(add, only)
    return parser


def _add_plugin_commands(add, only: str | None) -> None:
    """Commands other distributions add through the ``proxx_register_commands`` hook (their modules are
    named by the ``proxx.commands`` entry-point group), e.g. the fleet's and ``dashboard``; the CLI never
    imports them. A built-in name cannot be taken, and a broken plugin only loses its commands."""
    from proxx_core.support.plugins import register_commands

    from .frontdoor import job_inputs  # `proxx submit` takes the inputs of `proxx run` through the hook

    def add_plugin_command(name, help_, func, **kw):
        if name in COMMAND_NAMES:
            _err(f"proxx: a plugin tried to add the built-in command {name!r}; ignored (update or uninstall it)")
            return _NotBuilt()
        return add(name, help_, func, **kw)

    for message in register_commands(add_plugin_command, command=only, skip=COMMAND_NAMES, inputs=job_inputs()):
        _err(f"proxx: {message}")


VERSION = "--version"
COMMAND_NAMES = frozenset({"validate", "plan", "run", "job", "watch", "engines", "profiles", "schema", "docs", "demo"})
#: commands of Proxx's optional distributions: `proxx NAME` without them says what to install
OPTIONAL_COMMANDS = {
    **dict.fromkeys(("worker", "submit", "status", "wait", "cancel", "workers"), ("proxx-fleet", "fleet")),
    "dashboard": ("proxx-dashboard", "status-page"),
}


def _not_installed(command: str) -> int:
    from proxx_core.support.hints import install_command

    dist, topic = OPTIONAL_COMMANDS[command]
    _err(
        f"proxx: `proxx {command}` needs the {dist} distribution, which is not installed here (or failed to "
        f"load): {install_command(dist)} (proxx docs {topic})"
    )
    return 1


def sub_commands(parser: argparse.ArgumentParser) -> tuple[str, ...]:
    """The commands ``parser`` was built with (built-in and from plugins)."""
    return tuple(getattr(parser, "commands", ()))


#: polling faster than this only burns CPU; slower than a day is a mistake
MIN_POLL_SECONDS, MAX_POLL_SECONDS = 0.05, 86400.0
MAX_WORKERS = 256


def _whole(text: str) -> int:
    """A whole number from 1 to MAX_WORKERS."""
    from proxx_core.contract.errors import shown  # messages quote a value cut, however long it is

    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{shown(text)} is not a whole number") from None
    if not 1 <= value <= MAX_WORKERS:
        raise argparse.ArgumentTypeError(f"must be from 1 to {MAX_WORKERS}, not {shown(value)}")
    return value


def _workers(text: str) -> int | str:
    """--max-workers: ``auto`` or a whole number from 1 to MAX_WORKERS."""
    return text if text == "auto" else _whole(text)


def _seconds(text: str) -> float:
    """A finite, positive number of seconds (``inf`` and ``nan`` are refused)."""
    try:
        value = float(text)
    except ValueError:
        from proxx_core.contract.errors import shown

        raise argparse.ArgumentTypeError(f"{shown(text)} is not a number of seconds") from None
    if not 0 < value < float("inf"):  # also false for nan
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds greater than 0, not {text}")
    return value


def _poll_seconds(text: str) -> float:
    value = _seconds(text)
    if not MIN_POLL_SECONDS <= value <= MAX_POLL_SECONDS:
        raise argparse.ArgumentTypeError(
            f"must be from {MIN_POLL_SECONDS:g} to {MAX_POLL_SECONDS:g} seconds, not {text}"
        )
    return value


def prepare(argv: list[str]) -> None:
    """What the executable does before :func:`main`, and only the executable (it changes the process):
    the probe helper started (already, by proxx_cli.executable), then attrs' generated methods compiled
    from the installation's cache (proxx_core/support/attrscode.py), before the first attrs class,
    then the job's sources asked of the helper ahead."""
    start_helpers(argv)
    from proxx_core.support import attrscode

    attrscode.install()
    _probe_sources_ahead(argv)


def _probe_sources_ahead(argv: list[str]) -> None:
    """`proxx run|validate|plan JOB.json`: the probe helper starts on the job's sources (absolute
    paths of regular files) while this process imports and validates; the probes then cost nothing on
    the way to the first FFmpeg command. Anything unusual (no such file, not JSON, relative paths)
    just skips this: validation reads the job file properly and words every problem."""
    if not argv or argv[0] not in PROBING:
        return
    job = next((a for a in argv[1:] if not a.startswith("-")), None)
    if job is None or not job.endswith(".json"):
        return
    from proxx_core.contract import avprobe
    from proxx_core.io.safeopen import read_regular

    try:
        doc = json.loads(read_regular(job, 1 << 20))  # never blocks on a FIFO named as the job
    except (OSError, ValueError, RecursionError):  # validation words these (nesting too deep, ...)
        return
    sources = doc.get("sources") if isinstance(doc, dict) else None
    if isinstance(sources, list):
        avprobe.probe_ahead(s for s in sources if isinstance(s, str) and os.path.isabs(s))


def cli() -> None:
    """The `proxx` executable (and `python -m proxx_cli`): :func:`main`, then exit."""
    prepare(sys.argv[1:])
    code = main()
    gcstartup.before_exit()
    gcstartup.exit_now(code)


def main(argv: list[str] | None = None) -> int:
    gcstartup.begin()
    try:
        return _dispatch(sys.argv[1:] if argv is None else list(argv))
    finally:
        gcstartup.end()


def _dispatch(argv: list[str]) -> int:
    only = _command_of(argv)
    if only is None and argv and argv[0] in OPTIONAL_COMMANDS:  # no installed plugin adds it
        return _not_installed(argv[0])
    parser = build_parser(only=only)
    if only not in (None, VERSION, *sub_commands(parser)):  # a plugin command whose plugin failed (said above)
        if only in OPTIONAL_COMMANDS:
            return _not_installed(only)
        _err(f"proxx: the command {only!r} is declared by an installed plugin that could not add it; reinstall it")
        return 1
    args = parser.parse_args(argv)
    if args.command in _LONG_RUNNING:
        gcstartup.done()
    try:
        return args.func(args)
    except KeyboardInterrupt:
        _err("proxx: interrupted")
        return 130
    except BrokenPipeError:
        return 4
    except OSError as exc:
        _err(f"proxx: system error: {exc}")
        return 4
    except Exception as exc:  # a bug, not the operator's fault: never exit 1 ("invalid JobSpec") for it
        import traceback

        traceback.print_exc(file=sys.stderr)
        _err(f"proxx: internal error ({type(exc).__name__}: {exc}); please report it with the traceback above")
        return 4
