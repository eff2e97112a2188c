"""Where the broker is and how fast liveness is judged (environment defaults for the CLI)."""

from __future__ import annotations

import os

BROKER_ENV = "PROXX_BROKER"
HEARTBEAT_ENV = "PROXX_FLEET_HEARTBEAT_SECONDS"
DEFAULT_HEARTBEAT = 10.0
#: a worker or running clip is dead after this many missed heartbeats
MISSED_BEATS = 3
#: how often per heartbeat every worker looks for running clips whose worker stopped beating
REAPS_PER_BEAT = 4


#: JobSpec ``priority`` -> Celery message priority on Redis: kombu keeps one list per step (0, 3,
#: 6, 9) and a worker's BRPOP asks them lowest number first, so 0 is taken first
PRIORITIES = {"high": 0, "normal": 3, "low": 6}


def broker_url(given: str | None) -> str | None:
    return given or os.environ.get(BROKER_ENV) or None


def heartbeat_seconds(given: float | None = None) -> float:
    if given:
        return float(given)
    try:
        return float(os.environ.get(HEARTBEAT_ENV, "") or DEFAULT_HEARTBEAT)
    except ValueError:
        return DEFAULT_HEARTBEAT


def queue_for(engine: str, build: str | None = None) -> str:
    """One queue per engine; a job requiring a build goes to the engine's per-build queue."""
    return f"proxx.v1.{engine}" + (f".{build}" if build else "")


def shown(url: str | None) -> str:
    """The broker URL as messages and logs may show it: the password masked, the query (TLS
    options such as ``ssl_ca_certs``) kept, so a refusal names the file without leaking a secret."""
    from kombu.utils.url import maybe_sanitize_url

    if not url:
        return str(url)
    base, sep, query = url.partition("?")
    return f"{maybe_sanitize_url(base)}{sep}{query}"
