"""The front door: jobs from media folders and camera cards, and what a person reads at the end.

``proxx run|validate|plan`` take either a JobSpec file or media (files, folders, cards, globs) with
``--profile`` or ``--preset``; :func:`load_job` turns the command line into the JobSpec document the
pipeline checks (``proxx_core.pipeline.cards`` expands, ``proxx_core.pipeline.jobbuild`` builds), and reports on stderr
which cards it found and what it skipped. :func:`summary` is the table a terminal gets at the end of
a run, beside the path of the result file :func:`result_path` chooses.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from typing import Any

#: JobSpec keys the command line sets, and the option that sets each (to word problems for a person)
OPTIONS = {
    "proxy_profile": "--profile",
    "layout": "--layout",
    "raster": "--raster",
    "output_dir": "--output-dir",
    "output_name_template": "--template",
    "deliverables": "--deliverables",
    "existing_outputs": "--existing-outputs",
}


def _list(text: str) -> list[str]:
    return [item.strip() for item in text.split(",") if item.strip()]


def add_source_options(p: argparse.ArgumentParser) -> None:
    """The positional inputs and the options that build a job from media."""
    p.add_argument(
        "inputs",
        nargs="+",
        metavar="JOB.json|MEDIA",
        help="a JobSpec file, or media files, folders (camera cards are recognised) and glob patterns "
        "with --profile or --preset",
    )
    g = p.add_argument_group("a job from media instead of a JobSpec file (proxx docs operator-guide)")
    g.add_argument("--preset", metavar="NAME", help="facility defaults: the node config's [presets.NAME] table")
    g.add_argument("--config", metavar="TOML", help="the node config holding the presets (default: $PROXX_CONFIG)")
    g.add_argument("--profile", dest="proxy_profile", metavar="PROFILE", help="the proxy profile (proxx profiles)")
    g.add_argument(
        "--layout",
        choices=("output_dir", "proxy_subfolder", "avid_mxf"),
        help="where proxies land (default output_dir; proxy_subfolder: a Proxy/ folder beside each source)",
    )
    g.add_argument("--raster", choices=("fit", "half", "quarter"), help="proxy size (default fit)")
    g.add_argument("--output-dir", metavar="DIR", help="the folder proxies and sidecars go to (it must exist)")
    g.add_argument(
        "--template",
        dest="output_name_template",
        metavar="TEMPLATE",
        help="output name template (default {source_name}: the name every NLE relinks on)",
    )
    g.add_argument("--deliverables", type=_list, metavar="LIST", help="comma-separated: ale,fcpxml,otio,mhl")
    g.add_argument(
        "--existing-outputs",
        dest="existing_outputs",
        choices=("fail", "skip_verified", "overwrite"),
        help="what to do with proxies already there (default fail)",
    )


def building(args: argparse.Namespace) -> bool:
    """Whether the command line names media to build a job from, rather than one JobSpec file: a
    profile or preset given, several inputs, a folder, or one file named like media. Anything else
    is read as a JobSpec, whatever its name (the job file's own checks word what is wrong with it)."""
    if getattr(args, "preset", None) or getattr(args, "proxy_profile", None) or len(args.inputs) != 1:
        return True
    from proxx_core.pipeline.cards import MEDIA_EXTENSIONS

    given = args.inputs[0]
    named_like_media = os.path.splitext(given)[1].lower() in MEDIA_EXTENSIONS and os.path.isfile(given)
    return os.path.isdir(given) or named_like_media  # a FIFO or device is left to the job file's checks


class UsageError(Exception):
    pass


def build_job(args: argparse.Namespace, err) -> tuple[dict[str, Any] | None, list[tuple[str, str]], Any]:
    """The JobSpec document the command line describes, the problems found while expanding the
    inputs ``(path, message)``, and the expansion (cards, skipped, spans)."""
    from proxx_core.pipeline.cards import expand
    from proxx_core.pipeline.jobbuild import build_document
    from proxx_core.pipeline.pathmap import load_node_config

    if not (args.preset or args.proxy_profile):
        single = args.inputs[0] if len(args.inputs) == 1 else None
        what = (
            f"{single}: is a directory; to make proxies of the media in it"
            if single and os.path.isdir(single)
            else "to make proxies of media files, folders or cards"
        )
        raise UsageError(
            f"{what}, give --profile PROFILE or --preset NAME (see proxx profiles); a job file is one JSON file"
        )
    preset: dict[str, Any] = {}
    if args.preset:
        preset = dict(load_node_config(args.config).preset(args.preset))
    expansion = expand(args.inputs)
    report_expansion(expansion, err)
    problems = [(p.path, p.message) for p in expansion.problems]
    if not expansion.sources and not problems:
        problems.append((", ".join(args.inputs), "no media files found; see what was skipped above"))
    options = {key: getattr(args, key, None) for key in OPTIONS}
    if options["output_dir"]:
        options["output_dir"] = os.path.abspath(options["output_dir"])
    return build_document(expansion.sources, preset=preset, options=options), problems, expansion


def job_inputs():
    """This front door for plugin commands (the ``inputs`` of ``proxx_register_commands``): `proxx submit`
    takes the inputs of `proxx run` without importing the CLI. A usage problem is a ProxxError there."""
    from proxx_core.contract.commands import JobInputs
    from proxx_core.contract.errors import ProxxError

    def build(args: argparse.Namespace, err) -> tuple[dict[str, Any] | None, list[tuple[str, str]], Any]:
        try:
            return build_job(args, err)
        except UsageError as exc:
            raise ProxxError(str(exc)) from None

    return JobInputs(add_source_options=add_source_options, building=building, build_job=build)


def report_expansion(expansion, err) -> None:
    """On stderr: the cards found, how many clips, what was skipped (grouped by reason), spans."""
    for card in expansion.cards:
        err(f"proxx: {card.root}: {card.kind} card")
    reasons = Counter(s.reason for s in expansion.skipped)
    for reason, count in sorted(reasons.items(), key=lambda kv: (-kv[1], kv[0])):
        example = next(s.path for s in expansion.skipped if s.reason == reason)
        more = f" (and {count - 1} more)" if count > 1 else ""
        err(f"proxx: skipped {example}{more}: {reason}")
    for span in expansion.spans:
        err(f"proxx: spanned recording {span.recording} ({len(span.files)} files): {span.handling}")
    cards = f" on {len(expansion.cards)} card(s)" if expansion.cards else ""
    err(f"proxx: {len(expansion.sources)} clip(s) found{cards}")


def option_hint(json_path: str) -> str:
    """`` (--output-dir)`` for a problem at ``/output_dir`` of a job built from the command line."""
    key = json_path.strip("/").split("/")[0]
    return f"; on the command line: {OPTIONS[key]} (or the preset)" if key in OPTIONS else ""


def result_path(args: argparse.Namespace, result) -> str | None:
    """Where a run's result JSON goes as a file: ``--result``, else (for a person at a terminal)
    beside the outputs: ``<output_dir>/<job_id>.proxx-result.json``, or the first clip's output
    folder for layouts without an output_dir. None: nowhere but stdout."""
    if getattr(args, "result", None):
        return os.path.abspath(args.result)
    if not sys.stdout.isatty():
        return None
    spec = result.jobspec if isinstance(result.jobspec, dict) else {}
    folder = spec.get("output_dir")
    if not folder:
        outputs = [c.output.path for c in result.clips if c.output is not None and c.output.path]
        folder = os.path.dirname(outputs[0]) if outputs else None
    if not folder or not os.path.isdir(folder):
        return None
    return os.path.join(folder, f"{result.job_id}.proxx-result.json")


def _duration(clip) -> float | None:
    info = (clip.source or {}).get("info") or {}
    value = info.get("duration_seconds")
    return float(value) if isinstance(value, int | float) else None


def _clock(seconds: float | None) -> str:
    """``0:42:07`` for a duration; ``4.5 s`` under a minute (a card of inserts is not all zeros)."""
    if seconds is None:
        return "-"
    if seconds < 60:
        return f"{seconds:.1f} s"
    whole = round(seconds)
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def summary(result, stream) -> None:
    """The end of a run for a person: one row per clip, then the job's counts, time and speed."""
    from rich.console import Console
    from rich.table import Table

    from proxx_core import Status  # loaded already (a result is here); `proxx --version` must not load the core

    table = Table(title=f"job {result.job_id}: {result.status}", title_justify="left")
    for column in ("clip", "status", "duration", "speed", "output", "why"):
        table.add_column(column, overflow="fold")
    media = 0.0
    for clip in result.clips:
        duration = _duration(clip)
        seconds = (clip.timing or {}).get("seconds")
        speed = f"{duration / seconds:.1f}x" if duration and seconds else "-"
        if clip.status in (Status.COMPLETED, Status.SKIPPED) and duration:
            media += duration
        out = os.path.basename(clip.output.path) if clip.output is not None and clip.output.path else "-"
        why = f"{clip.failure.category}: {clip.failure.message.splitlines()[0]}" if clip.failure else ""
        table.add_row(
            f"{clip.index} {os.path.basename(clip.source.path)}",
            clip.status,
            _clock(duration),
            speed,
            out,
            why,
            style=None if clip.failure is None else "red",
        )
    console = Console(file=stream, highlight=False)
    console.print(table)
    counts = Counter(c.status for c in result.clips)
    took = (result.timing or {}).get("seconds")
    pace = f", {media / took:.1f}x real time" if took and media else ""
    console.print(
        ", ".join(f"{n} {s}" for s, n in sorted(counts.items()))
        + f"; {_clock(media)} of media in {_clock(took)}{pace}",
        markup=False,
        highlight=False,
    )


def write_beside(path: str, text: str, sources: Any, *, replace: bool) -> None:
    """Write a file the command line asked for (the result file, ``proxx job -o``) through the write
    gate: never one of the job's sources, temp then rename. Raises the gate's refusal, OSError, or
    FileExistsError when ``path`` exists and ``replace`` is False."""
    from proxx_core.io.writegate import WriteGate

    names = [s for s in sources if isinstance(s, str)] if isinstance(sources, list) else []
    WriteGate(names, (os.path.dirname(os.path.abspath(path)),)).write_bytes(
        os.path.abspath(path), text.encode("utf-8"), replace=replace
    )
