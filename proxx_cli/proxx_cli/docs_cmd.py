"""`proxx docs [TOPIC]`: the user documentation, shipped inside proxx-cli, printed in the terminal.

A pip-installed Proxx has no repository to point at, so the guides travel with the package:
``proxx_cli/docs`` is the repository's ``docs/`` folder itself (a symbolic link in the source
tree, real files in a built wheel), so there is one source of truth. Every page is a topic: a page
in a subfolder is named by its folder and stem (``docs/nle/avid.md`` is ``nle-avid``), and the NLE
relink guides also answer to the editor's name (``proxx docs avid``).
"""

from __future__ import annotations

import difflib
from importlib import resources
from importlib.resources.abc import Traversable

#: one line per topic for `proxx docs` without a topic; topics not listed here still print
SUMMARIES = {
    "operator-guide": "start here: install, run, validate, exit codes, progress, re-running jobs",
    "jobspec": "every JobSpec key, versions 1.0, 1.1 and 1.2 (folder and card sources, notify, priority)",
    "results": "the result JSON: statuses, failure categories, verification",
    "source-handling": "camera media: interlacing, rotation, timecode, reels, what each profile refuses",
    "delivery": "sidecars for editors and DITs: ALE, FCPXML, OpenTimelineIO, ASC MHL",
    "reports": "the job report: an HTML page and a PDF with contact sheets and verdicts per clip",
    "notifications": "tell people when a job ends: Slack, Teams, e-mail, webhooks (proxx-notify)",
    "watch-folders": "the watch folder: layout, protocol, logs",
    "status-page": "proxx dashboard: a live web page and Prometheus metrics for a watch folder",
    "fleet": "running jobs on many nodes (Celery + Redis)",
    "performance": "speed, workers, determinism evidence",
    "resolve": "the DaVinci Resolve engine (camera RAW); relinking in Resolve: nle-resolve",
    "engine-authors": "writing an engine plugin",
    "architecture": "for people changing Proxx itself: modules, public APIs, hooks",
    "nle-avid": "relink guide: Avid Media Composer (also: proxx docs avid)",
    "nle-fcp": "relink guide: Final Cut Pro (also: proxx docs fcp)",
    "nle-premiere": "relink guide: Adobe Premiere Pro (also: proxx docs premiere)",
    "nle-resolve": "relink guide: DaVinci Resolve (proxies, not the engine)",
}
#: other names a person types for a topic
ALIASES = {
    "avid": "nle-avid",
    "media-composer": "nle-avid",
    "fcp": "nle-fcp",
    "final-cut": "nle-fcp",
    "finalcut": "nle-fcp",
    "premiere": "nle-premiere",
    "premiere-pro": "nle-premiere",
}


def docs_root() -> Traversable:
    return resources.files("proxx_cli").joinpath("docs")


def _pages() -> dict[str, Traversable]:
    """Topic name -> page, for every ``.md`` at the top of docs/ and one folder down."""
    root = docs_root()
    pages: dict[str, Traversable] = {}
    if not root.is_dir():
        return pages
    for entry in root.iterdir():
        if entry.is_file() and entry.name.endswith(".md"):
            pages[entry.name[:-3]] = entry
        elif entry.is_dir():
            for page in entry.iterdir():
                if page.is_file() and page.name.endswith(".md"):
                    pages[f"{entry.name}-{page.name[:-3]}"] = page
    return pages


def topics() -> list[str]:
    return sorted(_pages())


def read_topic(topic: str) -> str | None:
    name = topic.removesuffix(".md").replace("/", "-").lower()
    page = _pages().get(ALIASES.get(name, name))
    return None if page is None else page.read_text(encoding="utf-8")


def listing() -> str:
    lines = ["proxx docs TOPIC prints one of these guides:", ""]
    for t in topics():
        lines.append(f"  {t:<17}{SUMMARIES.get(t, '')}".rstrip())
    return "\n".join(lines) + "\n"


def unknown_topic(topic: str) -> str:
    close = difflib.get_close_matches(topic, [*topics(), *ALIASES], n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    return f"no documentation topic {topic!r}; {hint}topics: {', '.join(topics())}"
