"""`proxx docs [TOPIC]`: the user documentation, shipped inside proxx-cli, printed in the terminal.

A pip-installed Proxx has no repository to point at, so the guides travel with the package:
``proxx_cli/docs`` is the repository's ``docs/`` folder itself (a symbolic link in the source
tree, real files in a built wheel), so there is one source of truth.
"""

from __future__ import annotations

import difflib
from importlib import resources
from importlib.resources.abc import Traversable

#: one line per topic for `proxx docs` without a topic; topics not listed here still print
SUMMARIES = {
    "operator-guide": "start here: install, run, validate, exit codes, progress, re-running jobs",
    "jobspec": "every JobSpec key, versions 1.0 and 1.1",
    "results": "the result JSON: statuses, failure categories, verification",
    "source-handling": "camera media: interlacing, rotation, timecode, reels, what each profile refuses",
    "watch-folders": "the watch folder: layout, protocol, logs",
    "fleet": "running jobs on many nodes (Celery + Redis)",
    "performance": "speed, workers, determinism evidence",
    "resolve": "the DaVinci Resolve engine",
    "engine-authors": "writing an engine plugin",
}


def docs_root() -> Traversable:
    return resources.files("proxx_cli").joinpath("docs")


def topics() -> list[str]:
    root = docs_root()
    if not root.is_dir():
        return []
    return sorted(p.name[:-3] for p in root.iterdir() if p.name.endswith(".md"))


def read_topic(topic: str) -> str | None:
    name = topic.removesuffix(".md")
    if name not in topics():
        return None
    return docs_root().joinpath(f"{name}.md").read_text(encoding="utf-8")


def listing() -> str:
    lines = ["proxx docs TOPIC prints one of these guides:", ""]
    for t in topics():
        lines.append(f"  {t:<17}{SUMMARIES.get(t, '')}".rstrip())
    return "\n".join(lines) + "\n"


def unknown_topic(topic: str) -> str:
    close = difflib.get_close_matches(topic, topics(), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"no documentation topic {topic!r}; {hint}topics: {', '.join(topics())}"
