"""Proxx's pluggy hook specifications (project name ``proxx``).

Every hook is prefixed ``proxx_``, typed, and called through pluggy's hook caller, so a plugin
written against an older spec (fewer arguments) keeps working when a spec gains an argument:
pluggy hands each implementation only the arguments it names.

No outcome depends on the order in which plugins were loaded or registered: engines are selected
by routing (declared specificity, then name), collected checks are sorted by name, and result sinks
only observe. Nothing here uses ``firstresult``, ``tryfirst`` or ``trylast``.

An engine package publishes itself with an entry point in the ``proxx`` group::

    [project.entry-points.proxx]
    myengine = "proxx_engine_myengine.plugin"

and that module implements the hooks it needs::

    from proxx_core import hookimpl

    @hookimpl
    def proxx_register_engines(register):
        register(MyEngine())
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    import argparse

    from .commands import JobInputs
    from .engine import Check, ClipPlan, Engine
    from .events import ProxxEvent
    from .media import SourceInfo
    from .results import JobResult
    from .sinks import DeliverableSink

hookspec = pluggy.HookspecMarker("proxx")
hookimpl = pluggy.HookimplMarker("proxx")


@hookspec
def proxx_register_engines(register: Callable[[Engine], None]) -> None:
    """Hand the core this plugin's engines.

    Called once per plugin, when the plugin manager is built (by the CLI or the watch runner, never
    at import of ``proxx_core``). An exception here is isolated: the plugin is reported by
    ``proxx engines`` as failed to load, and the other plugins load.

    :param register: call ``register(engine)`` once per :class:`proxx_core.contract.engine.Engine` instance
        this plugin provides. Engine names must be unique across all plugins; a duplicate is
        refused and reported.
    :return: nothing (return values are ignored).

    .. versionadded:: 1.1 (replaces ``register_engines``, which still works and warns)
    """


@hookspec(
    warn_on_impl=DeprecationWarning(
        "the proxx hook register_engines is deprecated: rename it proxx_register_engines (same argument)"
    )
)
def register_engines(register: Callable[[Engine], None]) -> None:
    """Deprecated name of :func:`proxx_register_engines` (contract 1.0); still called."""


@hookspec
def proxx_clip_checks(plan: ClipPlan, output_info: SourceInfo | None) -> list[Check]:  # type: ignore[empty-body]  # a hookspec: never run
    """Add site-wide verification rules to every clip, whichever engine made it.

    Called by the runner after the core's own relink checks, once per clip, before the output may
    be published. Every plugin's checks are collected (the order of plugins does not matter: the
    checks are sorted by name); a single failed check fails the clip as ``verification_failed``.
    An exception is recorded as a failed check named ``plugin:<name>``.

    :param plan: the clip's plan (``plan.request`` holds the source's probe and the profile).
    :param output_info: the engine's probe of the temporary output, or None if unreadable.
    :return: a list of :class:`proxx_core.contract.engine.Check` (empty for "nothing to add").

    .. versionadded:: 1.1
    """


@hookspec
def proxx_job_finished(result: JobResult) -> None:
    """Observe a finished job's result (sidecars, manifests, notifications).

    Called once per job by ``proxx run``, the watch folder and a fleet (on the node, or by the
    ``proxx wait``, that finishes the job) through ``proxx_core.pipeline.finish.finish_job``, after every clip
    has finished and the result is complete (including refused and interrupted jobs), before it is
    printed or filed.
    Every implementation is called, in plugin-name order; an exception in one is reported on stderr
    (or in the watch log) and never changes the result or stops the other sinks.

    :param result: the :class:`proxx_core.contract.results.JobResult`.
    :return: nothing (return values are ignored).

    .. versionadded:: 1.1
    """


@hookspec
def proxx_register_deliverables(register: Callable[[DeliverableSink], None]) -> None:
    """Hand the core this plugin's delivery sinks (JobSpec 1.1 ``deliverables``).

    Called when a job is validated and again after its clips have finished, before
    ``proxx_job_finished`` and before the result is printed or filed. The core runs the sinks the
    job lists (in name order, ``runs_last`` sinks after the others) and puts the files each one
    returns in the result's ``deliverables`` with their SHA-256; a sink that raises is listed with
    its error and makes the exit code 4, and never changes a clip. See docs/delivery.md.

    :param register: call ``register(sink)`` once per :class:`proxx_core.contract.sinks.DeliverableSink`;
        its ``name`` is the value a JobSpec lists. Names must be unique across plugins.
    :return: nothing (return values are ignored).

    .. versionadded:: 1.1
    """


@hookspec
def proxx_event(event: ProxxEvent) -> None:
    """Observe something that happened to a running job (notifications, monitoring).

    Called by the watch folder when its recovery finds a dead process's job (``worker_lost``) and
    when a running clip made no progress for the stall time (``clip_stalled``, once per clip), and by
    a fleet worker when it records a lost worker's clip (``worker_lost``). Called on the thread that
    noticed it: return quickly (bounded timeouts). Every implementation is called, in plugin-name
    order; an exception in one is logged and never changes a job or stops the other plugins.

    :param event: a :class:`proxx_core.contract.events.ProxxEvent` (kind, job id, node, message, clip index).
    :return: nothing (return values are ignored).

    .. versionadded:: 1.2
    """


@hookspec
def proxx_register_commands(add: Callable[..., argparse.ArgumentParser], inputs: JobInputs | None) -> None:
    """Add subcommands to ``proxx`` (the fleet's ``worker``/``submit``/…, ``dashboard``).

    Called by the CLI when it builds its parser, never at import: for ``proxx NAME`` only the plugins
    whose ``proxx.commands`` entry point is named ``NAME`` are loaded (start-up pays for one plugin, and
    never for ``proxx --version`` or a built-in command); for ``proxx --help``, a bare ``proxx`` or a
    name no entry point declares, every plugin of the group. The CLI imports no plugin: a plugin
    declares one entry point per command it adds, each naming the module that implements this hook::

        [project.entry-points."proxx.commands"]
        mycommand = "my_distribution.commands"

    Keep that module cheap to import (the heavy imports go inside the command's function). An
    exception here is isolated: ``proxx`` reports it on stderr and the plugin only loses its commands.

    :param add: ``add(name, help, func, **parser_kwargs)`` adds the subcommand ``name`` and returns its
        :class:`argparse.ArgumentParser` for the command's arguments; ``func(args)`` runs it and returns
        the exit code. A built-in name (``run``, ``validate``, …) is refused: ``add`` then returns a
        parser nobody uses, and ``proxx`` says so on stderr.
    :param inputs: the CLI's front door (:class:`proxx_core.contract.commands.JobInputs`), for a
        command that takes the same inputs as ``proxx run`` (a JobSpec file, or media folders, cards,
        ``--profile``/``--preset``) without importing the CLI: ``inputs.add_source_options(parser)``,
        then ``inputs.building(args)`` and ``inputs.build_job(args, err)`` in the command. None when the
        caller has no front door. Leave the argument out if the command does not need it (pluggy hands
        each implementation only the arguments it names). Added in 1.3.
    :return: nothing (return values are ignored).

    .. versionadded:: 1.2 (replaces a ``proxx.commands`` entry point naming an ``add_command(add)``
       function, which still works and warns)
    """
