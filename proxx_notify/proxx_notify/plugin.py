"""The ``notify`` plugin: on ``proxx_job_finished``, tell the node's ``[notify] always`` targets and
the job's own ``notify`` targets (names from the node config, never URLs in a JobSpec); on
``proxx_event`` (a lost worker, a stalled clip), tell the ``always`` targets when the node config's
``[notify] events`` lists that kind.

A target that cannot be reached never changes a job's result or exit code: it is reported as a
warning with Apprise's reason (stderr, which the watch folder and fleet workers log). Apprise is
imported only when a job has someone to tell, and ``logging`` only when there is a warning to log,
so loading the plugin costs nothing.
"""

from __future__ import annotations

import sys
from typing import Any

from proxx_core import hookimpl

#: a dead target delays the end of a job by at most this (connect, read): Apprise's cto/rto
TIMEOUTS = {"cto": "3", "rto": "5"}


def _with_timeouts(url: str) -> str:
    """The URL with bounded connect/read timeouts unless it sets its own."""
    missing = [f"{k}={v}" for k, v in TIMEOUTS.items() if f"{k}=" not in url]
    if not missing:
        return url
    return url + ("&" if "?" in url else "?") + "&".join(missing)


def targets_for(result: Any, always: tuple[str, ...], defined: dict[str, str]) -> list[str]:
    """The target names to tell, in order, each once: the node's ``always``, then the job's."""
    asked = list((result.jobspec or {}).get("notify") or []) if isinstance(result.jobspec, dict) else []
    return [name for name in dict.fromkeys([*always, *asked]) if name in defined]


def warn(message: str) -> None:
    import logging  # only with a warning to give: not loaded by every command that loads the plugin

    logging.getLogger("proxx.notify").warning(message)
    print(f"proxx-notify: warning: {message}", file=sys.stderr, flush=True)


def send(url: str, title: str, body: str) -> str | None:
    """Deliver one notification; None when it was accepted, else the reason it was not."""
    import logging

    import apprise

    sender = apprise.Apprise()
    if not sender.add(_with_timeouts(url)):
        return "Apprise does not understand this URL (check its scheme and fields)"
    with apprise.LogCapture(level=logging.WARNING) as captured:
        ok = sender.notify(title=title, body=body, body_format=apprise.NotifyFormat.TEXT)
        detail = captured.getvalue().strip().splitlines()
    return None if ok else (detail[-1] if detail else "the target refused or did not answer")


def _node_config() -> Any:
    """The node config, or None (with a warning) when it cannot be read: nothing is sent then."""
    from proxx_core.kit import ProxxError, load_node_config

    try:
        return load_node_config()
    except ProxxError as exc:
        warn(f"no notification sent: {exc.message}")
        return None


def _tell(
    config: Any, names: list[str] | tuple[str, ...], heading: str, text: str, about: str, after: str = ""
) -> None:
    """Send to each named target; a target that fails is a warning naming it (its URL's scheme only)
    and ``about``, and never stops the others or touches what the message describes."""
    for name in names:
        try:
            reason = send(config.notify_targets[name], heading, text)
        except Exception as exc:  # a target must never change a result or stop the others
            reason = f"{type(exc).__name__}: {exc}"
        if reason:
            warn(f"target {name!r} ({_scheme(config.notify_targets[name])}) was not told {about}: {reason}{after}")


@hookimpl
def proxx_job_finished(result: Any) -> None:
    from .message import body, title

    config = _node_config()
    if config is None:
        return
    names = targets_for(result, config.notify_always, dict(config.notify_targets))
    if names:
        _tell(
            config, names, title(result), body(result), f"about job {result.job_id}", "; the job's result is unchanged"
        )


@hookimpl
def proxx_event(event: Any) -> None:
    from .message import event_body, event_title

    config = _node_config()
    if config is None or event.kind not in config.notify_events:
        return
    _tell(
        config, config.notify_always, event_title(event), event_body(event), f"that {event.kind} (job {event.job_id})"
    )


def _scheme(url: str) -> str:
    """Only the scheme of a target in messages: the rest may hold a password or token."""
    return url.split("://", 1)[0] + "://…" if "://" in url else "?"


__all__ = ["proxx_event", "proxx_job_finished", "send", "targets_for"]
