"""A simulator of DaVinci Resolve's scripting API, for tests and demos only.

It lets the Resolve engine run *unmodified* (same worker, same supervisor, same verification)
on machines without Resolve, including every failure style the real API has: ``None``/``False``
returns, hung calls, lying ``Complete`` statuses, version-gated methods, free-edition refusal.

Production never selects it: :class:`proxx_engine_resolve.engine.ResolveEngine` uses it only when
constructed with ``backend="simulator"``, or from the entry point when *both*
``PROXX_RESOLVE_SIMULATOR=<scenario.json>`` and the test-only switch
``PROXX_RESOLVE_ALLOW_SIMULATOR=1`` are set; it then says SIMULATOR in its identity and notes.
Install with ``pip install './proxx_engine_resolve[simulator]'`` from a clone (renders need imageio-ffmpeg).
"""

from .fake import FakeDaVinciResolveScript, load_scenario, module_for_scenario
from .sources import read_manifest, write_raw_source

__all__ = ["FakeDaVinciResolveScript", "load_scenario", "module_for_scenario", "read_manifest", "write_raw_source"]
