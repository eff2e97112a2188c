"""The words of a notification: a title and a plain-text body a person reads on a phone.

Built from the result alone (a pure function of it), so a watch folder, ``proxx run`` and a fleet
say the same thing about the same job: job, status, counts by status, every failure with its
category and reason, the report's path when the job made one, and the elapsed time.
"""

from __future__ import annotations

from collections import Counter
from typing import Any

#: how many failures a message lists before "and N more" (a phone screen, not a log)
MAX_FAILURES = 10
MAX_REASON = 300


def _short(text: str) -> str:
    line = (text or "").strip().splitlines()[0] if (text or "").strip() else ""
    return line if len(line) <= MAX_REASON else line[: MAX_REASON - 1] + "…"


def _elapsed(seconds: Any) -> str:
    if not isinstance(seconds, int | float):
        return "unknown"
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole % 3600 // 60:02d}:{whole % 60:02d}"


def title(result: Any) -> str:
    return f"Proxx job {result.job_id or '(no id)'}: {result.status}"


def body(result: Any) -> str:
    counts = Counter(c.status for c in result.clips)
    lines = [
        f"{result.status}: "
        + (", ".join(f"{n} {s}" for s, n in sorted(counts.items())) or "no clips ran")
        + f" in {_elapsed((result.timing or {}).get('seconds'))}"
    ]
    for problem in list(result.problems)[:MAX_FAILURES]:
        lines.append(f"refused: {problem.path or '/'}: {_short(problem.message)}")
    failed = [c for c in result.clips if c.failure is not None]
    for clip in failed[:MAX_FAILURES]:
        name = str(clip.source.path if clip.source else "?").rsplit("/", 1)[-1]
        lines.append(f"clip {clip.index} {name}: {clip.failure.category}: {_short(clip.failure.message)}")
    if len(failed) > MAX_FAILURES:
        lines.append(f"… and {len(failed) - MAX_FAILURES} more failed clip(s): see the result")
    for item in getattr(result, "deliverables", ()) or ():
        if item.path and (item.name == "report" or str(item.path).endswith((".report.html", ".report.pdf"))):
            lines.append(f"report: {item.path}")
    timing = result.timing or {}
    if timing.get("host"):
        lines.append(f"finished on {timing['host']} at {timing.get('finished_at', '?')}")
    return "\n".join(lines)


#: an event's message is one sentence that says what was done; a little longer than a failure reason
MAX_EVENT = 600
#: what each running-job event is called in a title
EVENT_LABELS = {"worker_lost": "worker lost", "clip_stalled": "clip stalled"}


def event_title(event: Any) -> str:
    return f"Proxx job {event.job_id}: {EVENT_LABELS.get(event.kind, event.kind)}"


def event_body(event: Any) -> str:
    """The kind (as ``kind=...``, for filters), the job, the clip, the node, then the message."""
    clip = f"clip {event.clip_index}, " if event.clip_index is not None else ""
    text = " ".join(str(event.message).split())
    text = text if len(text) <= MAX_EVENT else text[: MAX_EVENT - 1] + "…"
    return f"{event.kind}: job {event.job_id}, {clip}node {event.node}\n{text}"
