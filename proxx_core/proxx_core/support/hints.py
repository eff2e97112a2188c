"""The one table of engines Proxx knows by name: which distribution provides each, and which
sources need which. It words install hints and lists the distributions a result records; routing
never reads it (an engine Proxx has never heard of works the same way).
"""

from __future__ import annotations

from pathlib import Path

#: engine name -> the distribution that provides it, and the source extensions only it decodes
#: (None: every extension not claimed by another entry)
KNOWN_ENGINES: dict[str, tuple[str, frozenset[str] | None]] = {
    "ffmpeg": ("proxx-engine-ffmpeg", None),
    "resolve": (
        "proxx-engine-resolve",
        frozenset({".braw", ".r3d", ".ari", ".arx", ".crm", ".nev", ".dng", ".cine", ".rmf"}),
    ),
}
#: Proxx's own distributions besides the engines (recorded in every result's environment)
CORE_DISTRIBUTIONS = (
    "proxx-cli",
    "proxx-core",
    "proxx-dashboard",
    "proxx-deliver",
    "proxx-fleet",
    "proxx-notify",
    "proxx-report",
)
#: every distribution this repository ships -> its folder in a clone. None of them is published on a
#: package index yet (an unrelated "proxx" exists there), so a hint naming a distribution alone
#: would fail, or install someone else's package: hints name the folder of a clone instead.
REPOSITORY_FOLDERS = {
    "proxx-core": "proxx_core",
    "proxx-cli": "proxx_cli",
    "proxx-deliver": "proxx_deliver",
    "proxx-fleet": "proxx_fleet",
    "proxx-notify": "proxx_notify",
    "proxx-engine-ffmpeg": "proxx_engine_ffmpeg",
    "proxx-engine-resolve": "proxx_engine_resolve",
    "proxx-report": "proxx_report",
    "proxx-dashboard": "proxx_dashboard",
}


def distribution_for(engine: str) -> str:
    """The distribution to install for ``engine`` (the naming convention for engines not listed)."""
    known = KNOWN_ENGINES.get(engine)
    return known[0] if known else f"proxx-engine-{engine}"


def install_command(distribution: str) -> str:
    """A command that installs ``distribution`` from where a user stands: Proxx's own from a clone of
    the repository (not published), a third party's from the index under its own name."""
    folder = REPOSITORY_FOLDERS.get(distribution)
    if folder is None:
        return f"pip install {distribution}"
    return f"pip install ./{folder} (from a clone of the Proxx repository)"


def known_distributions() -> tuple[str, ...]:
    return tuple(sorted({*CORE_DISTRIBUTIONS, *(dist for dist, _ in KNOWN_ENGINES.values())}))


def install_hint(source: str, installed: tuple[str, ...]) -> str | None:
    """The distribution whose engine would read ``source``, if that engine is not installed."""
    ext = Path(source).suffix.lower()
    specialised = [name for name, (_, exts) in KNOWN_ENGINES.items() if exts and ext in exts]
    needed = specialised or [name for name, (_, exts) in KNOWN_ENGINES.items() if exts is None]
    missing = [name for name in needed if name not in installed]
    return distribution_for(missing[0]) if missing and len(missing) == len(needed) else None
