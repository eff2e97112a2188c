"""Extra commands from other distributions: a module named by the ``proxx.commands`` entry-point group
implements ``proxx_register_commands(add)``. The CLI lists and runs them without importing them
itself; ``proxx NAME`` loads only the plugin adding NAME; a broken one loses only its own commands;
a built-in name cannot be taken over; an optional distribution's command says what to install."""

from __future__ import annotations

import importlib.metadata
import json
import subprocess
import sys

import pytest

from proxx_cli import main

HOOKED = """from proxx_core import hookimpl

def hello(args):
    print("hello", args.who)
    return 0

@hookimpl
def proxx_register_commands(add):
    add("hello", "Say hello.", hello).add_argument("who")
"""


def test_installed_dashboard_command_is_found_through_the_entry_point(proxx):
    r = proxx("dashboard", "--help")
    assert r.returncode == 0, r.stderr
    assert "status page" in r.stdout and "--token" in r.stdout
    assert "dashboard" in proxx("--help").stdout


def test_installed_fleet_commands_come_through_the_hook(proxx):
    r = proxx("worker", "--help")
    assert r.returncode == 0, r.stderr
    assert "--broker" in r.stdout and "--heartbeat" in r.stdout
    bad = proxx("worker", "--max-workers", "0")
    assert bad.returncode == 1 and "must be from 1 to 256, not 0" in bad.stderr


def _with_entry_points(monkeypatch, *eps):
    real = importlib.metadata.entry_points

    def fake(**kw):
        if kw.get("group") == "proxx.commands":
            return importlib.metadata.EntryPoints(eps)
        return real(**kw)

    monkeypatch.setattr(importlib.metadata, "entry_points", fake)
    monkeypatch.setenv("PROXX_PLUGIN_INDEX", "0")  # asked of importlib.metadata, not of the plugin index


def _ep(name, value):
    return importlib.metadata.EntryPoint(name=name, value=value, group="proxx.commands")


def _module(monkeypatch, tmp_path, name, text):
    (tmp_path / f"{name}.py").write_text(text)
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, name, raising=False)


def test_a_hook_plugin_adds_and_runs_its_command(monkeypatch, tmp_path, capsys):
    _module(monkeypatch, tmp_path, "hello_plugin", HOOKED)
    _with_entry_points(monkeypatch, _ep("hello", "hello_plugin"))
    assert main.main(["hello", "world"]) == 0
    assert capsys.readouterr().out == "hello world\n"


FRONT_DOOR = """import json
from proxx_core import ProxxError, hookimpl

@hookimpl
def proxx_register_commands(add, inputs):
    def queue(args):
        assert inputs.building(args)
        try:
            document, problems, _ = inputs.build_job(args, print)
        except ProxxError as exc:
            print("usage:", exc.message)
            return 1
        print(json.dumps({"document": document, "problems": problems}))
        return 0

    inputs.add_source_options(add("queue", "Build a job like proxx run.", queue))
"""


def test_a_command_takes_the_inputs_of_proxx_run_through_the_hook(monkeypatch, tmp_path, capsys, media):
    """The hook's ``inputs``: media and --profile build the JobSpec `proxx run` would, with nothing of
    the CLI imported by the plugin; a usage problem is a ProxxError naming the option to give."""
    _module(monkeypatch, tmp_path, "queue_plugin", FRONT_DOOR)
    _with_entry_points(monkeypatch, _ep("queue", "queue_plugin"))
    src = media("A001_C001.mov")
    out = tmp_path / "out"
    assert main.main(["queue", str(src), "--profile", "offline_h264_1280x720", "--output-dir", str(out)]) == 0
    built = json.loads(capsys.readouterr().out.splitlines()[-1])
    assert built["problems"] == []
    assert built["document"]["sources"] == [str(src)]
    assert built["document"]["proxy_profile"] == "offline_h264_1280x720"
    assert built["document"]["output_dir"] == str(out)
    assert main.main(["queue", str(src), str(src)]) == 1
    assert "usage: to make proxies of media files, folders or cards, give --profile" in capsys.readouterr().out


def test_the_fleet_registers_without_a_front_door():
    """A caller with no front door (``inputs`` None): `submit` takes one JobSpec file."""
    import argparse

    pytest.importorskip("proxx_fleet")
    from proxx_fleet import cli

    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers(dest="command")

    def add(name, help_, func, **kw):
        p = sub.add_parser(name, help=help_, **kw)
        p.set_defaults(func=func)
        return p

    cli.proxx_register_commands(add, None)
    args = parser.parse_args(["submit", "job.json"])
    assert args.inputs == ["job.json"] and args.inputs_of is None


def test_broken_command_plugin_loses_only_its_command(monkeypatch, tmp_path, capsys):
    _module(monkeypatch, tmp_path, "hello_plugin", HOOKED)
    _with_entry_points(monkeypatch, _ep("broken", "no_such_module_here"), _ep("hello", "hello_plugin"))
    parser = main.build_parser()
    assert "the command(s) 'broken' from no_such_module_here could not be loaded" in capsys.readouterr().err
    assert parser.parse_args(["engines"]).command == "engines"
    assert parser.parse_args(["hello", "x"]).command == "hello"
    with pytest.raises(SystemExit):
        parser.parse_args(["broken"])


def test_a_module_without_the_hook_is_reported(monkeypatch, tmp_path, capsys):
    _module(monkeypatch, tmp_path, "no_hook", "def proxx_register_commands(add):\n    add('x', 'x', print)\n")
    _with_entry_points(monkeypatch, _ep("x", "no_hook"))
    main.build_parser()
    assert "implements no proxx_register_commands hook" in capsys.readouterr().err


def test_a_plugin_cannot_take_a_built_in_name(monkeypatch, tmp_path, capsys):
    _module(monkeypatch, tmp_path, "takes_run", HOOKED.replace('add("hello"', 'add("run"'))
    _with_entry_points(monkeypatch, _ep("run", "takes_run"))
    args = main.build_parser().parse_args(["run", "job.json"])
    assert args.func is main.cmd_run
    assert capsys.readouterr().err == ""  # an entry named after a built-in is skipped by name, never loaded
    _with_entry_points(monkeypatch, _ep("sneaky", "takes_run"))
    args = main.build_parser().parse_args(["run", "job.json"])
    assert args.func is main.cmd_run
    assert "a plugin tried to add the built-in command 'run'; ignored" in capsys.readouterr().err


def test_an_entry_naming_an_add_command_function_still_works(monkeypatch, tmp_path, capsys):
    """Before the hook, a ``proxx.commands`` entry named an ``add_command(add)`` function: still called
    (through the hook), with a DeprecationWarning."""
    _module(monkeypatch, tmp_path, "old_style", "def add_command(add):\n    add('old', 'Old style.', lambda a: 7)\n")
    _with_entry_points(monkeypatch, _ep("old", "old_style:add_command"))
    with pytest.warns(DeprecationWarning, match="proxx_register_commands"):
        assert main.main(["old"]) == 7


def test_a_missing_optional_distribution_says_what_to_install(monkeypatch, capsys):
    _with_entry_points(monkeypatch)
    assert main.main(["worker", "--broker", "redis://x"]) == 1
    err = capsys.readouterr().err
    assert "`proxx worker` needs the proxx-fleet distribution" in err and "proxx docs fleet" in err


def _modules_after(argv: list[str]) -> list[str]:
    code = (
        "import sys, json\nfrom proxx_cli.main import main\n"
        f"try:\n    main({argv!r})\nexcept SystemExit:\n    pass\nprint(json.dumps(sorted(sys.modules)))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    return json.loads(r.stdout.splitlines()[-1])


def test_a_plugin_command_loads_only_its_plugin_and_version_loads_none():
    """Start-up: `proxx workers --help` loads the fleet's module, not the dashboard's; `proxx --version`
    and a built-in command load no command plugin (nor pluggy's manager for commands)."""
    fleet = _modules_after(["workers", "--help"])
    assert "proxx_fleet.cli" in fleet and "proxx_dashboard.command" not in fleet
    for argv in (["--version"], ["profiles", "--json"]):
        loaded = _modules_after(argv)
        assert not [m for m in loaded if m.startswith(("proxx_fleet", "proxx_dashboard"))], argv


def test_registering_the_dashboard_imports_no_web_framework():
    """`proxx --help` builds every parser, plugin commands included: the dashboard's registration must
    stay as cheap as a built-in's."""
    code = (
        "import sys, json\nfrom proxx_cli.main import build_parser\nbuild_parser()\n"
        "print(json.dumps(sorted(sys.modules)))"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    modules = json.loads(r.stdout)
    assert "proxx_dashboard.command" in modules
    heavy = [m for m in modules if m.split(".")[0] in ("starlette", "uvicorn", "jinja2", "prometheus_client", "anyio")]
    assert not heavy, heavy


def test_a_declared_command_whose_plugin_breaks_exits_1_naming_it(monkeypatch, capsys):
    _with_entry_points(monkeypatch, _ep("hello", "no_such_module_here"))
    assert main.main(["hello", "x"]) == 1
    err = capsys.readouterr().err
    assert "the command(s) 'hello' from no_such_module_here could not be loaded: ModuleNotFoundError" in err
    assert "the command 'hello' is declared by an installed plugin that could not add it; reinstall it" in err
