"""Entry point of ``proxx-engine-resolve`` (group ``proxx``, name ``resolve``).

Importing this module is cheap: no Resolve library, no PyAV, no simulator; the engine detects
Resolve lazily, in a supervised child process, the first time capabilities are asked for.
"""

from __future__ import annotations

from proxx_core import hookimpl


@hookimpl
def proxx_register_engines(register):
    from .engine import ResolveEngine

    register(ResolveEngine.from_environment())
