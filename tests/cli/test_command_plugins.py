"""Extra commands from other distributions (entry-point group ``proxx.commands``): the CLI lists and
runs them without importing them itself; a broken one loses only its own command; a built-in name
cannot be taken over."""

from __future__ import annotations

import importlib.metadata

import pytest

from proxx_cli import main


def test_installed_dashboard_command_is_found_through_the_entry_point(proxx):
    r = proxx("dashboard", "--help")
    assert r.returncode == 0, r.stderr
    assert "status page" in r.stdout and "--token" in r.stdout
    assert "dashboard" in proxx("--help").stdout


def _with_entry_points(monkeypatch, *eps):
    real = importlib.metadata.entry_points

    def fake(**kw):
        if kw.get("group") == "proxx.commands":
            return importlib.metadata.EntryPoints(eps)
        return real(**kw)

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)


def test_broken_command_plugin_loses_only_its_command(monkeypatch, capsys):
    _with_entry_points(monkeypatch, importlib.metadata.EntryPoint(
        name="broken", value="no_such_module_here:add_command", group="proxx.commands"))
    parser = main.build_parser()
    assert "the command 'broken'" in capsys.readouterr().err
    assert parser.parse_args(["engines"]).command == "engines"
    with pytest.raises(SystemExit):
        parser.parse_args(["broken"])


def test_a_plugin_cannot_take_a_built_in_name(monkeypatch, tmp_path, capsys):
    (tmp_path / "takes_run.py").write_text("def add_command(add):\n    add('run', 'not the real run', print)\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    _with_entry_points(monkeypatch, importlib.metadata.EntryPoint(
        name="run", value="takes_run:add_command", group="proxx.commands"))
    args = main.build_parser().parse_args(["run", "job.json"])
    assert args.func is main.cmd_run
    assert capsys.readouterr().err == ""  # skipped by name, never loaded


def test_registering_the_dashboard_imports_no_web_framework():
    """`proxx --help` and `proxx --version` build every parser, plugin commands included: the
    dashboard's registration must stay as cheap as a built-in's."""
    import json
    import subprocess
    import sys

    code = ("import sys, json\nfrom proxx_cli.main import build_parser\nbuild_parser()\n"
            "print(json.dumps(sorted(sys.modules)))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    modules = json.loads(r.stdout)
    assert "proxx_dashboard.command" in modules
    heavy = [m for m in modules if m.split(".")[0] in ("starlette", "uvicorn", "jinja2", "prometheus_client", "anyio")]
    assert not heavy, heavy
