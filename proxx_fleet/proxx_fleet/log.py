"""A worker's own log: one line per clip event (claimed, finished with status and speed, failed
with category, lost, job ended), as text for people or JSON lines for log shippers."""

from __future__ import annotations

import json
import sys
import threading
from typing import Any, TextIO

from proxx_core import now_rfc3339

FORMATS = ("text", "json")


class WorkerLog:
    def __init__(self, node: str, fmt: str = "text", stream: TextIO | None = None):
        self.node, self.fmt = node, fmt
        self.stream = stream if stream is not None else sys.stderr
        self._lock = threading.Lock()

    def event(self, event: str, **fields: Any) -> None:
        """Write one line; never raises (a closed or full log must not end a clip)."""
        fields = {k: v for k, v in fields.items() if v is not None}
        if self.fmt == "json":
            line = json.dumps(
                {"time": now_rfc3339(), "node": self.node, "event": event, **fields}, ensure_ascii=False, default=str
            )
        else:
            where = f" {fields.pop('job_id')}#{fields.pop('index')}" if "index" in fields else ""
            if "job_id" in fields:
                where = f" {fields.pop('job_id')}"
            line = f"proxx worker {self.node}: {event}{where}" + "".join(f" {k}={_text(v)}" for k, v in fields.items())
        try:
            with self._lock:
                self.stream.write(line + "\n")
                self.stream.flush()
        except (OSError, ValueError):
            pass

    def clip_ended(self, job_id: str, index: int, clip: dict[str, Any]) -> None:
        """``finished`` (status, seconds, speed as multiple of real time) or ``failed`` (category)."""
        seconds = (clip.get("timing") or {}).get("seconds")
        info = (clip.get("source") or {}).get("info") or {}
        duration = info.get("duration_seconds")
        speed = round(duration / seconds, 2) if duration and seconds else None
        failure = clip.get("failure")
        if failure:
            self.event(
                "failed",
                job_id=job_id,
                index=index,
                rendition=clip.get("rendition"),
                status=clip.get("status"),
                category=failure["category"],
                seconds=seconds,
                message=failure["message"],
            )
        else:
            self.event(
                "finished",
                job_id=job_id,
                index=index,
                rendition=clip.get("rendition"),
                status=clip.get("status"),
                seconds=seconds,
                speed=f"{speed}x" if speed is not None and self.fmt == "text" else speed,
            )


def _text(value: Any) -> str:
    text = str(value)
    return json.dumps(text, ensure_ascii=False) if (not text or any(c.isspace() or c == '"' for c in text)) else text
