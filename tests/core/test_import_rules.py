"""docs/architecture.md's import rules, as assertions on the source (``ast``, nothing imported).

- every plugin distribution (engines, sinks, fleet, report, notify, dashboard, examples) imports only
  the public API: ``proxx_core`` (users, front ends) and ``proxx_core.kit`` (engine and plugin
  authors); a test may also import the conformance kit ``proxx_core.testing``; none imports the CLI;
- the core imports no other distribution, and the CLI no engine;
- libraries only some commands need are imported where they are used (the start-up budget);
- the import map of ``proxx_core`` has no cycle, function-local imports counted, and at most
  ``MAX_LOCAL_IMPORTS`` function-local imports between core modules, each saying why on its line or
  the line before.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

import attrs
import pytest

ROOT = Path(__file__).resolve().parents[2]
CORE = ROOT / "proxx_core" / "proxx_core"
PLUGINS = (
    "proxx_engine_ffmpeg",
    "proxx_engine_resolve",
    "proxx_deliver",
    "proxx_fleet",
    "proxx_report",
    "proxx_notify",
    "proxx_dashboard",
    "examples",
)
PUBLIC = frozenset({"proxx_core", "proxx_core.kit"})
#: the conformance kit engine authors subclass in their tests (docs/engine-authors.md); it imports pytest
TEST_ONLY_PUBLIC = frozenset({"proxx_core.testing"})
#: imported inside the function that needs them: each costs `proxx validate` time most runs never use
LATE_LIBRARIES = ("jsonschema", "cattrs", "av")
MAX_LOCAL_IMPORTS = 10


@attrs.frozen
class Import:
    importer: str  #: the importing module's dotted name
    target: str  #: the imported module's dotted name
    path: Path
    line: int
    local: bool  #: inside a function
    type_only: bool  #: under ``if TYPE_CHECKING:``


def _module_name(path: Path, top: Path) -> str:
    parts = list(path.relative_to(top).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(base: str, name: str, top: Path) -> str:
    """``from base import name``: the submodule ``base.name`` when there is one, else ``base``."""
    candidate = top.joinpath(*f"{base}.{name}".split("."))
    return f"{base}.{name}" if candidate.with_suffix(".py").is_file() or candidate.is_dir() else base


def imports_of(path: Path, top: Path) -> list[Import]:
    """Every import statement of one file, with where it sits (``top``: the folder holding the package)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    me = _module_name(path, top)
    package = me if path.name == "__init__.py" else me.rpartition(".")[0]
    found: list[Import] = []

    def visit(node: ast.AST, local: bool, type_only: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                found.extend(Import(me, a.name, path, child.lineno, local, type_only) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                if child.level:
                    parts = package.split(".")
                    base = ".".join(parts[: len(parts) - child.level + 1] + ([child.module] if child.module else []))
                else:
                    base = child.module or ""
                targets = {_resolve(base, a.name, top) for a in child.names}
                found.extend(Import(me, t, path, child.lineno, local, type_only) for t in sorted(targets))
            visit(
                child,
                local or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)),
                type_only or (isinstance(child, ast.If) and "TYPE_CHECKING" in ast.unparse(child.test)),
            )

    visit(tree, False, False)
    return found


def core_imports() -> list[Import]:
    return [i for p in sorted(CORE.rglob("*.py")) for i in imports_of(p, CORE.parent)]


def _python_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.rglob("*.py") if ".venv" not in p.parts and "build" not in p.parts)


@pytest.mark.parametrize("distribution", PLUGINS)
def test_plugins_import_only_the_public_api(distribution):
    wrong = []
    for path in _python_files(ROOT / distribution):
        is_test = "tests" in path.relative_to(ROOT).parts or path.name.startswith("test_")
        allowed = PUBLIC | TEST_ONLY_PUBLIC if is_test else PUBLIC
        wrong += [
            f"{path.relative_to(ROOT)}:{i.line} imports {i.target}"
            for i in imports_of(path, path.parent)
            if i.target.startswith("proxx_core.") and i.target not in allowed
        ]
    assert not wrong, "plugins import only proxx_core and proxx_core.kit (export what they need there):\n" + "\n".join(
        wrong
    )


@pytest.mark.parametrize("distribution", PLUGINS)
def test_plugins_never_import_the_cli(distribution):
    """A plugin reaches the CLI only through its hooks (``proxx_register_commands`` hands a command the
    front door as ``inputs``): an import of ``proxx_cli``, function-local or type-only too, is a
    dependency its distribution does not declare."""
    wrong = [
        f"{path.relative_to(ROOT)}:{i.line} imports {i.target}" + (" (function-local)" if i.local else "")
        for path in _python_files(ROOT / distribution)
        for i in imports_of(path, path.parent)
        if i.target.split(".")[0] == "proxx_cli"
    ]
    assert not wrong, "plugins never import proxx_cli (use the hooks' arguments):\n" + "\n".join(wrong)


def test_the_core_imports_no_other_distribution():
    wrong = [
        f"{i.path.relative_to(ROOT)}:{i.line} imports {i.target}"
        for i in core_imports()
        if i.target.split(".")[0].startswith("proxx_") and i.target.split(".")[0] != "proxx_core"
    ]
    assert not wrong, wrong


def test_the_cli_imports_no_engine():
    cli = ROOT / "proxx_cli" / "proxx_cli"
    wrong = [
        f"{i.path.relative_to(ROOT)}:{i.line} imports {i.target}"
        for p in _python_files(cli)
        for i in imports_of(p, cli.parent)
        if i.target.startswith("proxx_engine_")
    ]
    assert not wrong, "the demo comes from the proxx.demo entry point, not an import: " + str(wrong)


def test_the_cli_imports_no_plugin_distribution():
    """Plugins extend the CLI (``proxx.demo`` entry point, ``proxx_register_commands`` hook); the CLI
    imports no distribution but the core, so a missing or broken plugin can never break ``proxx``."""
    cli = ROOT / "proxx_cli" / "proxx_cli"
    wrong = [
        f"{i.path.relative_to(ROOT)}:{i.line} imports {i.target}"
        for p in _python_files(cli)
        for i in imports_of(p, cli.parent)
        if i.target.split(".")[0].startswith("proxx_") and i.target.split(".")[0] not in ("proxx_core", "proxx_cli")
    ]
    assert not wrong, "plugins add commands through proxx_register_commands, not an import: " + str(wrong)


def test_costly_libraries_are_imported_where_they_are_used():
    wrong = [
        f"{i.path.relative_to(ROOT)}:{i.line} imports {i.target} at module level"
        for i in core_imports()
        if i.target.split(".")[0] in LATE_LIBRARIES and not i.local and not i.type_only
    ]
    assert not wrong, "start-up is a budget (docs/performance.md): " + str(wrong)


def _runtime_core_edges() -> list[Import]:
    """Imports between two core modules that run (``TYPE_CHECKING`` ones do not), function-local included."""
    return [
        i for i in core_imports() if i.target.startswith("proxx_core") and i.target != i.importer and not i.type_only
    ]


def test_the_core_has_no_import_cycle_even_counting_function_local_imports():
    graph: dict[str, set[str]] = {}
    for i in _runtime_core_edges():
        graph.setdefault(i.importer, set()).add(i.target)
    try:
        graphlib.TopologicalSorter(graph).prepare()
    except graphlib.CycleError as exc:
        pytest.fail(f"import cycle in proxx_core: {' -> '.join(exc.args[1])}")


def _says_why(lines: list[str], line: int) -> bool:
    """A comment on the import's line, or on the line before the run of import lines it belongs to."""
    if "#" in lines[line - 1]:
        return True
    before = line - 2
    while before >= 0 and lines[before].strip().startswith(("from ", "import ")):
        before -= 1
    return before >= 0 and lines[before].strip().startswith("#")


def test_few_function_local_imports_between_core_modules_each_saying_why():
    local = sorted({(i.path, i.line) for i in _runtime_core_edges() if i.local})
    listing = "\n".join(f"{p.relative_to(ROOT)}:{n}" for p, n in local)
    assert len(local) <= MAX_LOCAL_IMPORTS, f"{len(local)} function-local imports between core modules:\n{listing}"
    silent = [
        f"{p.relative_to(ROOT)}:{n}" for p, n in local if not _says_why(p.read_text(encoding="utf-8").splitlines(), n)
    ]
    assert not silent, (
        f"a function-local import says why (e.g. the start-up budget) on its line or the line before: {silent}"
    )


@pytest.mark.parametrize("module", ["proxx_core", "proxx_core.kit"])
def test_every_public_name_resolves(module):
    """The lazy maps of the two public modules name real objects (a typo would fail only at a plugin's import)."""
    import importlib

    public = importlib.import_module(module)
    missing = [name for name in public.__all__ if not hasattr(public, name)]
    assert not missing, f"{module} exports names it cannot give: {missing}"


# ------------------------------------------------------------------------------ the floors (issue 22)
#: proxx_core's subpackages, lowest first: a module imports only its own floor and lower ones
#: (docs/architecture.md "Module map"). ``io`` shares the lowest floor with the contract: the contract
#: hands sinks the job's write gate and gives engines the default prober (file-system primitives), and
#: io raises the contract's errors in its vocabulary; the contract imports nothing else of the core.
FLOORS = (("io", "contract"), ("support",), ("rules",), ("features",), ("pipeline",), ("watch", "testing"))
PUBLIC_FLOOR = len(FLOORS)  # proxx_core itself, kit, and the 1.0 compatibility modules
#: 1.0-guide names kept at their old place (docs/engine-authors.md history): a re-export each, nothing else
COMPAT = ("avprobe", "process", "verify", "fingerprint", "media", "profiles", "api", "runner")
MOVED = (CORE / "contract").is_dir()


def _floor(module: str) -> int | None:
    """The floor of a core module; None for one that sits on no floor."""
    parts = module.split(".")
    if module == "proxx_core" or (len(parts) == 2 and parts[1] in ("kit", *COMPAT)):
        return PUBLIC_FLOOR
    for level, names in enumerate(FLOORS):
        if len(parts) >= 2 and parts[1] in names:
            return level
    return None


def _floor_name(level: int) -> str:
    return "public API" if level == PUBLIC_FLOOR else "/".join(FLOORS[level])


def test_every_core_module_sits_on_a_floor():
    modules = {_module_name(p, CORE.parent) for p in CORE.rglob("*.py")}
    homeless = sorted(m for m in modules if _floor(m) is None)
    assert not homeless, f"modules of proxx_core outside every floor's subpackage (FLOORS): {homeless}"


def _upward() -> list[tuple[int, str]]:
    """Every import (type-only and function-local ones included) of a higher floor's module: (the
    importer's floor, where and what)."""
    wrong = []
    for i in core_imports():
        if not i.target.startswith("proxx_core") or i.target == i.importer:
            continue
        mine, theirs = _floor(i.importer), _floor(i.target)
        if mine is not None and theirs is not None and theirs > mine:
            wrong.append(
                (
                    mine,
                    f"{i.path.relative_to(ROOT)}:{i.line}: {i.importer} ({_floor_name(mine)}) imports "
                    f"{i.target} ({_floor_name(theirs)})",
                )
            )
    return wrong


def test_the_contract_imports_nothing_else_of_the_core():
    """A plugin written against the contract reads it without the pipeline: contract and io import
    only each other (type-only and function-local imports count)."""
    wrong = [where for floor, where in _upward() if floor == 0]
    assert not wrong, "\n".join(wrong)


def test_no_upward_arrow_between_the_floors():
    wrong = [where for _, where in _upward()]
    floors = " < ".join(map(_floor_name, range(PUBLIC_FLOOR + 1)))
    assert not wrong, f"upward arrows (floors, lowest first: {floors}):\n" + "\n".join(wrong)


@pytest.mark.parametrize("name", COMPAT)
def test_a_compatibility_module_only_re_exports(name):
    """What an engine written to the 1.0 guide imports still resolves, and the module holds no code."""
    tree = ast.parse((CORE / f"{name}.py").read_text(encoding="utf-8"))
    body = tree.body[1:] if ast.get_docstring(tree) else tree.body
    assert ast.get_docstring(tree), f"proxx_core/{name}.py says why it stays"
    assert body and all(isinstance(n, ast.ImportFrom) and n.level == 1 for n in body), (
        f"proxx_core/{name}.py only re-exports from its new place"
    )
