"""Proxx engine plugin for DaVinci Resolve (camera RAW).

Importing this package is cheap: nothing here imports PyAV, Resolve's ``fusionscript`` or the
simulator. See ``docs/resolve.md`` for operating it.
"""

__version__ = "1.1.0"
