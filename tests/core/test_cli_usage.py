"""A bad command line is a usage error, exit 1: never 2 (which means "no clip succeeded"), never a
traceback, never a busy loop."""

from __future__ import annotations

import pytest

from proxx_cli.main import main


@pytest.mark.parametrize(
    "argv",
    [
        [],
        ["frobnicate"],
        ["run"],
        ["validate", "a.json", "--bogus"],
        ["run", "job.json", "--max-workers", "0"],
        ["run", "job.json", "--max-workers", "-2"],
        ["run", "job.json", "--max-workers", "two"],
        ["run", "job.json", "--max-workers", "1.5"],
        ["watch", "dir", "--max-workers", "0"],
        ["demo", "--max-workers", "nan"],
        ["watch", "dir", "--poll-seconds", "inf"],
        ["watch", "dir", "--poll-seconds", "nan"],
        ["watch", "dir", "--poll-seconds", "0"],
        ["watch", "dir", "--poll-seconds", "1e-9"],
        ["watch", "dir", "--poll-seconds", "-1"],
        ["watch", "dir", "--poll-seconds", "soon"],
    ],
)
def test_usage_errors_exit_1(argv, capsys):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 1
    err = capsys.readouterr().err
    assert "usage:" in err and "Traceback" not in err


def test_poll_seconds_error_names_the_limits(capsys):
    with pytest.raises(SystemExit):
        main(["watch", "dir", "--poll-seconds", "1e-9"])
    err = capsys.readouterr().err
    assert "--poll-seconds" in err and "0.05" in err


def test_help_documents_usage_exit_code(capsys):
    with pytest.raises(SystemExit) as info:
        main(["--help"])
    assert info.value.code == 0
    assert "usage error" in capsys.readouterr().out


def test_usage_error_from_the_real_command_exits_1(proxx):
    r = proxx("run")
    assert r.returncode == 1 and "usage:" in r.stderr and r.stdout == ""


def _subcommands(parser) -> dict:
    import argparse

    action = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return action.choices


def test_every_command_is_known_to_the_fast_path():
    """`proxx CMD` builds only CMD's parser (start-up); a command missing from COMMAND_NAMES would
    silently lose that, so the table must list exactly the built-in commands there are (commands of
    other distributions, entry-point group ``proxx.commands``, are long-running: they take the full
    parser)."""
    import importlib.metadata

    from proxx_cli.main import COMMAND_NAMES, build_parser

    plugins = {ep.name for ep in importlib.metadata.entry_points(group="proxx.commands")} - COMMAND_NAMES
    assert set(_subcommands(build_parser())) - plugins == COMMAND_NAMES


@pytest.mark.parametrize(
    "command",
    [
        "validate",
        "plan",
        "run",
        "watch",
        "engines",
        "profiles",
        "schema",
        "docs",
        "demo",
        "worker",
        "submit",
        "status",
        "wait",
        "cancel",
        "workers",
    ],
)
def test_a_command_alone_parses_and_helps_as_in_the_full_parser(command):
    from proxx_cli.main import build_parser

    full, alone = _subcommands(build_parser())[command], _subcommands(build_parser(only=command))[command]
    assert alone.format_help() == full.format_help()
    assert set(_subcommands(build_parser(only=command))) == {command}
