"""A bad command line is a usage error, exit 1: never 2 (which means "no clip succeeded"), never a
traceback, never a busy loop."""

from __future__ import annotations

import pytest

from proxx_cli.main import main


@pytest.mark.parametrize("argv", [
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
])
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
