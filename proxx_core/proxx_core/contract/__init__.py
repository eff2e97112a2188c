"""The engine contract and every value that crosses a package boundary (engines, sinks, results,
hooks). Imports nothing else of the core but ``proxx_core.io``, its floor; plugins reach it
through ``proxx_core`` and ``proxx_core.kit`` (docs/architecture.md).
"""
