"""Building the plugin manager and loading engines: explicitly, at the edge, one at a time.

Nothing here runs at import of ``proxx_core``. The CLI and the watch runner call
:func:`load_engines`; tests call it with ``entry_points=False`` and their own plugins.

Environment:
  ``PROXX_LOAD_PLUGINS``  comma-separated entry-point names to load (allow-list); empty string
                          loads none. Unset loads every entry point in the ``proxx`` group.
  ``PROXX_STRICT_PLUGINS`` set to 1 to make any plugin that fails to load a fatal error (CI).
  ``PROXX_TRACE_PLUGINS``  1: every hook call a plugin answers, on stderr; a path: appended there
                          (:mod:`proxx_core.support.plugintrace`).

Commands come from a second entry-point group, ``proxx.commands`` (:func:`register_commands`): its
entry names are the commands, so ``proxx NAME`` loads only the plugin that adds ``NAME``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

import attrs
import pluggy

from ..contract import hookspecs
from ..contract.engine import ENGINE_CONTRACT_VERSION, Capabilities, Check, ClipPlan, Engine, EngineIdentity
from ..contract.errors import PluginContractError
from . import pluginindex, plugintrace
from .pluginindex import IndexedEntryPoint

if TYPE_CHECKING:
    from ..contract.commands import JobInputs
    from ..contract.events import ProxxEvent
    from ..contract.media import SourceInfo
    from ..contract.results import JobResult

ENTRY_POINT_GROUP = "proxx"
#: plugins adding ``proxx`` subcommands; each entry is named after the command it adds
COMMANDS_GROUP = "proxx.commands"


@attrs.frozen(kw_only=True)
class LoadedEngine:
    engine: Engine
    #: the plugin (entry point or module) that registered it
    plugin: str
    #: the distribution it came from ("name version"), or None for in-process plugins
    distribution: str | None


@attrs.frozen(kw_only=True)
class LoadFailure:
    plugin: str
    distribution: str | None
    reason: str


@attrs.frozen(kw_only=True)
class EngineSet:
    """The engines available to this process, keyed and iterated by name (never load order)."""

    loaded: dict[str, LoadedEngine]
    failures: tuple[LoadFailure, ...] = ()
    #: the manager the engines came from; its observing hooks (checks, result sinks) are called
    #: through :meth:`clip_checks` and :meth:`job_finished`
    plugin_manager: pluggy.PluginManager | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(sorted(self.loaded))

    def get(self, name: str) -> Engine | None:
        item = self.loaded.get(name)
        return item.engine if item else None

    def engines(self) -> tuple[Engine, ...]:
        return tuple(self.loaded[n].engine for n in self.names)

    def capabilities(self, name: str) -> Capabilities:
        """The engine's capabilities; an engine whose detection raises is reported unavailable
        with the reason instead of breaking ``proxx engines`` or a job."""
        engine = self.loaded[name].engine
        try:
            return engine.capabilities()
        except Exception as exc:
            return Capabilities(
                available=False,
                unavailable_reason=(
                    f"capabilities() raised {type(exc).__name__}: {exc}; reinstall or update this engine"
                ),
            )

    def identity(self, name: str) -> EngineIdentity:
        """The engine's identity; one that raises is recorded by name with the reason."""
        engine = self.loaded[name].engine
        try:
            return engine.identity()
        except Exception as exc:
            return EngineIdentity(name=name, version="unknown", build=f"identity() raised {type(exc).__name__}: {exc}")

    @property
    def plugin_names(self) -> tuple[str, ...]:
        """The loaded plugins' names (entry-point names), sorted."""
        return tuple(self._plugin_names())

    def _plugin_names(self) -> list[str]:
        pm = self.plugin_manager
        return sorted(name for name, _ in pm.list_name_plugin()) if pm is not None else []

    def clip_checks(self, plan: ClipPlan, output_info: SourceInfo | None) -> tuple[Check, ...]:
        """Every plugin's ``proxx_clip_checks``, sorted by check name; a plugin that raises
        contributes one failed check naming it."""
        checks: list[Check] = []
        for name in self._plugin_names():
            assert self.plugin_manager is not None
            try:
                for returned in _only(self.plugin_manager, "proxx_clip_checks", name)(
                    plan=plan, output_info=output_info
                ):
                    checks.extend(returned or [])
            except Exception as exc:
                checks.append(
                    Check(name=f"plugin:{name}", expected="no error", actual=f"{type(exc).__name__}: {exc}", ok=False)
                )
        bad = [c for c in checks if not isinstance(c, Check)]
        if bad:
            checks = [c for c in checks if isinstance(c, Check)]
            checks.append(
                Check(
                    name="plugin:checks",
                    expected="proxx_core.Check values",
                    actual=", ".join(sorted({type(b).__name__ for b in bad})),
                    ok=False,
                )
            )
        return tuple(sorted(checks, key=lambda c: c.name))

    def job_finished(self, result: JobResult) -> tuple[str, ...]:
        """Call every plugin's ``proxx_job_finished``; return one message per sink that raised."""
        return self._observe("proxx_job_finished", result=result)

    def event(self, event: ProxxEvent) -> tuple[str, ...]:
        """Call every plugin's ``proxx_event``; return one message per plugin that raised."""
        return self._observe("proxx_event", event=event)

    def _observe(self, hook: str, **kwargs: Any) -> tuple[str, ...]:
        """Call ``hook`` of every plugin in name order, each isolated: one message per plugin that raised."""
        errors: list[str] = []
        for name in self._plugin_names():
            assert self.plugin_manager is not None
            try:
                _only(self.plugin_manager, hook, name)(**kwargs)
            except Exception as exc:
                errors.append(f"plugin {name!r}: {hook} raised {type(exc).__name__}: {exc}")
        return tuple(errors)


def make_plugin_manager() -> pluggy.PluginManager:
    pm = pluggy.PluginManager(ENTRY_POINT_GROUP)
    pm.add_hookspecs(hookspecs)
    plugintrace.install(pm)  # PROXX_TRACE_PLUGINS
    return pm


def _major(version: str) -> str:
    return str(version).split(".", 1)[0]


def _entry_points(allow: set[str] | None) -> list[IndexedEntryPoint]:
    eps = pluginindex.entry_points(ENTRY_POINT_GROUP)
    chosen = [ep for ep in eps if allow is None or ep.name in allow]
    return sorted(chosen, key=lambda ep: ep.name)


def _load(ep: IndexedEntryPoint) -> object:
    """The entry point's object; one that fails to load from the plugin index is loaded again from a
    fresh index (its real error, or the plugin as installed now: support/pluginindex.py)."""
    try:
        return ep.load()
    except Exception:
        pluginindex.refreshed()
        fresh = [e for e in pluginindex.entry_points(ep.group) if e.name == ep.name]
        if not fresh:
            raise
        return fresh[0].load()


def load_engines(
    plugins: Iterable[object] = (),
    *,
    entry_points: bool = True,
    strict: bool | None = None,
) -> EngineSet:
    """Load engines from the ``proxx`` entry points (isolated: one broken plugin never breaks
    the others) and from ``plugins`` (modules or objects implementing the ``proxx_`` hooks)."""
    if strict is None:
        strict = os.environ.get("PROXX_STRICT_PLUGINS", "") not in ("", "0")
    pm = make_plugin_manager()
    failures: list[LoadFailure] = []
    origin: dict[str, tuple[str, str | None]] = {}

    candidates: list[tuple[str, str | None, object]] = []
    if entry_points:
        allow_env = os.environ.get("PROXX_LOAD_PLUGINS")
        allow = None if allow_env is None else {p.strip() for p in allow_env.split(",") if p.strip()}
        for ep in _entry_points(allow):
            try:
                candidates.append((ep.name, ep.dist_label, _load(ep)))
            except Exception as exc:  # a broken plugin is reported, never fatal for the others
                failures.append(
                    LoadFailure(
                        plugin=ep.name,
                        distribution=ep.dist_label,
                        reason=f"import failed: {type(exc).__name__}: {exc}",
                    )
                )
    for obj in plugins:
        name = getattr(obj, "__name__", None) or type(obj).__name__
        candidates.append((name, None, obj))

    for name, dist, obj in candidates:
        try:
            pm.register(obj, name=name)
            origin[name] = (name, dist)
        except Exception as exc:
            failures.append(
                LoadFailure(
                    plugin=name, distribution=dist, reason=f"not a valid proxx plugin: {type(exc).__name__}: {exc}"
                )
            )

    loaded: dict[str, LoadedEngine] = {}
    for name in sorted(origin):
        plugin, dist = origin[name]
        offered, problem = _engines_offered_by(pm, name)
        if problem:
            failures.append(LoadFailure(plugin=plugin, distribution=dist, reason=problem))
            continue
        for engine in offered:
            problem = _contract_problem(engine)
            if problem is None and engine.name in loaded:
                other = loaded[engine.name]
                problem = (
                    f"engine name {engine.name!r} is already registered by plugin "
                    f"{other.plugin!r}; uninstall one of them"
                )
            if problem:
                failures.append(LoadFailure(plugin=plugin, distribution=dist, reason=problem))
                continue
            loaded[engine.name] = LoadedEngine(engine=engine, plugin=plugin, distribution=dist)

    if strict and failures:
        raise PluginContractError("; ".join(f"{f.plugin}: {f.reason}" for f in failures))
    return EngineSet(loaded=dict(sorted(loaded.items())), failures=tuple(failures), plugin_manager=pm)


def _only(pm: pluggy.PluginManager, hook: str, plugin_name: str) -> pluggy.HookCaller:
    """The hook caller restricted to one plugin, so one plugin's exception is isolated from the
    others while pluggy still matches arguments by name (older plugins keep working)."""
    keep = pm.get_plugin(plugin_name)
    others = [p for _, p in pm.list_name_plugin() if p is not keep]
    return pm.subset_hook_caller(hook, remove_plugins=others)


def _engines_offered_by(pm: pluggy.PluginManager, plugin_name: str) -> tuple[list[Engine], str | None]:
    offered: list[Engine] = []
    for hook in ("proxx_register_engines", "register_engines"):
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                _only(pm, hook, plugin_name)(register=offered.append)
        except Exception as exc:
            return [], f"{hook} raised {type(exc).__name__}: {exc}"
    return offered, None


def _contract_problem(engine: object) -> str | None:
    if not isinstance(engine, Engine):
        return f"{engine!r} is not a proxx_core.contract.engine.Engine"
    if not engine.name or engine.name != engine.name.strip().lower():
        return f"engine {type(engine).__name__} needs a lowercase, non-empty name"
    if _major(engine.contract_version) != _major(ENGINE_CONTRACT_VERSION):
        return (
            f"engine {engine.name!r} was written for engine contract {engine.contract_version}; "
            f"this Proxx speaks {ENGINE_CONTRACT_VERSION}. Install a version of the engine "
            f"built for contract {_major(ENGINE_CONTRACT_VERSION)}.x"
        )
    return None


def command_entry_points(command: str | None = None) -> list[IndexedEntryPoint]:
    """The ``proxx.commands`` entries, sorted by name; with ``command``, only those named so."""
    eps = pluginindex.entry_points(COMMANDS_GROUP)
    return sorted((ep for ep in eps if command is None or ep.name == command), key=lambda ep: ep.name)


class _AddCommandFunction:
    """A ``proxx.commands`` entry naming an ``add_command(add)`` function (before the hook existed),
    called through the hook like any plugin."""

    def __init__(self, function: Any) -> None:
        self._function = function

    @hookspecs.hookimpl
    def proxx_register_commands(self, add: Any) -> None:
        warnings.warn(
            "a proxx.commands entry point naming a function is deprecated: name a module that "
            "implements the proxx_register_commands hook (docs/engine-authors.md)",
            DeprecationWarning,
            stacklevel=2,
        )
        self._function(add)


def register_commands(
    add: Any, *, command: str | None = None, skip: Iterable[str] = (), inputs: JobInputs | None = None
) -> tuple[str, ...]:
    """Load the ``proxx.commands`` plugins and call each one's ``proxx_register_commands(add, inputs)``,
    isolated: one message per plugin that failed (it loses only its commands). ``inputs``: the CLI's
    front door, for commands that take the inputs of ``proxx run`` (:mod:`proxx_core.contract.commands`).

    ``command``: the command being run; when an entry is named so, only its plugin is loaded (start-up
    pays for one plugin), else every plugin is. ``skip``: entry names never loaded (built-in commands)."""
    skipped = set(skip)
    eps = [ep for ep in command_entry_points(command) if ep.name not in skipped] if command else []
    if not eps:
        eps = [ep for ep in command_entry_points() if ep.name not in skipped]
    pm = make_plugin_manager()
    errors: list[str] = []
    for value in sorted({ep.value for ep in eps}):  # one module may add several commands
        named = [ep for ep in eps if ep.value == value]
        names = ", ".join(repr(ep.name) for ep in named)
        try:
            plugin = _load(named[0])
            if not hasattr(plugin, "proxx_register_commands") and callable(plugin):
                plugin = _AddCommandFunction(plugin)
            pm.register(plugin, name=value)
            if value not in {impl.plugin_name for impl in pm.hook.proxx_register_commands.get_hookimpls()}:
                raise PluginContractError(
                    "it implements no proxx_register_commands hook (a function of that name "
                    "marked @proxx_core.hookimpl)"
                )
            _only(pm, "proxx_register_commands", value)(add=add, inputs=inputs)
        except Exception as exc:
            errors.append(f"the command(s) {names} from {value} could not be loaded: {type(exc).__name__}: {exc}")
    return tuple(errors)
