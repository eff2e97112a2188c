"""The one wall-clock format of results and logs (its own module so engines and the process
runner get it without importing the result types)."""

from __future__ import annotations

from datetime import UTC, datetime


def now_rfc3339() -> str:
    """UTC, millisecond precision, ``Z`` suffix: ``2026-11-26T21:04:05.123Z``."""
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
