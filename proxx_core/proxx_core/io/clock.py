"""The one wall-clock format of results and logs (its own module so engines and the process
runner get it without importing the result types)."""

from __future__ import annotations

import time


def now_rfc3339() -> str:
    """UTC, millisecond precision (truncated), ``Z`` suffix: ``2026-11-26T21:04:05.123Z``. From ``time``
    rather than ``datetime``, which a command would otherwise import before its first encode only for this."""
    seconds, nanoseconds = divmod(time.time_ns(), 1_000_000_000)
    return f"{time.strftime('%Y-%m-%dT%H:%M:%S', time.gmtime(seconds))}.{nanoseconds // 1_000_000:03d}Z"
