"""Proxx's pluggy hook specifications (project name ``proxx``). Contract version 1.0.

There is exactly one hook. Everything else an engine does goes through the
:class:`proxx_core.engine.Engine` interface, so no outcome depends on the order in which
plugins were loaded or registered.

An engine package publishes itself with an entry point in the ``proxx`` group::

    [project.entry-points.proxx]
    myengine = "proxx_engine_myengine.plugin"

and that module implements the hook::

    from proxx_core import hookimpl

    @hookimpl
    def register_engines(register):
        register(MyEngine())
"""

from __future__ import annotations

import pluggy

HOOK_CONTRACT_VERSION = "1.0"

hookspec = pluggy.HookspecMarker("proxx")
hookimpl = pluggy.HookimplMarker("proxx")


@hookspec
def register_engines(register):
    """Hand the core this plugin's engines.

    Called once, when the plugin manager is built (by the CLI or the watch runner, never at
    import of ``proxx_core``).

    :param register: a callable; call ``register(engine)`` once per
        :class:`proxx_core.engine.Engine` instance this plugin provides. Engine names must be
        unique across all plugins; a duplicate is refused and reported by ``proxx engines``.
    :return: nothing (return values are ignored).
    """
