"""Plain helpers behind the conformance kit (no pytest import): samples, engine sets, job documents,
directory snapshots and the engine wrapper that damages outputs on purpose."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs

from ..contract.engine import (
    Capabilities,
    Check,
    Claim,
    ClipPlan,
    ClipRequest,
    CommandRecord,
    Engine,
    EngineIdentity,
    Refusal,
)
from ..contract.hookspecs import hookimpl
from ..contract.media import SourceInfo
from ..contract.profiles import PROFILES, Profile
from ..support.plugins import EngineSet, load_engines


@attrs.frozen(kw_only=True)
class Sample:
    """One real media file the engine under test reads, the profile to make from it, and what a
    correct probe must say about it (``None``: not checked)."""

    path: Path = attrs.field(converter=Path)
    profile: str = attrs.field(validator=attrs.validators.in_(sorted(PROFILES)))
    #: expected ``SourceInfo.video.frame_rate`` as "num/den" (e.g. "24000/1001")
    frame_rate: str | None = None
    #: expected ``SourceInfo.video.frame_count``
    frame_count: int | None = None
    #: expected ``SourceInfo.start_timecode`` ("01:00:00:00")
    start_timecode: str | None = None


class _RegisterPlugin:
    """A plugin object handing the core the given engines, exactly as an entry point would."""

    def __init__(self, *engines: Engine):
        self._engines = engines

    @hookimpl
    def proxx_register_engines(self, register: Callable[[Engine], None]) -> None:
        for engine in self._engines:
            register(engine)


def engine_set(*engines: Engine) -> EngineSet:
    """Load ``engines`` through the core's real plugin manager (contract checks included), with no
    entry points. Raises AssertionError naming the problem if the core refuses one."""
    loaded = load_engines([_RegisterPlugin(*engines)], entry_points=False, strict=False)
    if loaded.failures:
        raise AssertionError("the core refused the engine: " + "; ".join(f.reason for f in loaded.failures))
    return loaded


def job_document(
    sources: Iterable[Path | str],
    output_dir: Path | str,
    profile: str,
    *,
    engine: str | None = None,
    template: str = "{source_name}_{index}",
    **extra: Any,
) -> dict[str, Any]:
    """A JobSpec 1.0 document for ``sources`` (absolute paths) and ``profile``."""
    p = PROFILES[profile]
    doc = {
        "jobspec_version": "1.0.0",
        "sources": [str(Path(s).absolute()) for s in sources],
        "output_dir": str(Path(output_dir).absolute()),
        "output_name_template": template,
        "proxy_profile": profile,
        "codec": p.codec,
        "container": p.container,
        "fps_mode": "preserve_source",
    }
    if engine is not None:
        doc["engine"] = engine
    doc.update(extra)
    return doc


def snapshot(directory: Path | str) -> dict[str, tuple[int, int, str]]:
    """Every file under ``directory`` (relative path -> size, mtime_ns, sha256): compare two
    snapshots to prove nothing was created, modified or removed."""
    out = {}
    root = Path(directory)
    for dirpath, _dirs, files in os.walk(root):
        for name in files:
            path = Path(dirpath, name)
            st = path.lstat()
            digest = hashlib.sha256(path.read_bytes()).hexdigest() if path.is_file() else ""
            out[str(path.relative_to(root))] = (st.st_size, st.st_mtime_ns, digest)
    return dict(sorted(out.items()))


def sha256(path: Path | str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


Damage = Callable[[Engine, ClipPlan, threading.Event], None]


class DamagingEngine(Engine):
    """Wraps an engine; after its ``execute`` succeeds, ``damage`` spoils the temp output so that
    the core's verification of the engine's ``probe_output`` must catch it. Everything else is
    delegated unchanged."""

    def __init__(self, inner: Engine, damage: Damage):
        self._inner, self._damage = inner, damage
        self.name, self.contract_version = inner.name, inner.contract_version
        self.tags_color_explicitly, self.audio_layouts = inner.tags_color_explicitly, inner.audio_layouts

    def identity(self) -> EngineIdentity:
        return self._inner.identity()

    def capabilities(self) -> Capabilities:
        return self._inner.capabilities()

    def probe(self, path: Path) -> SourceInfo | None:
        return self._inner.probe(path)

    def claim(self, info: SourceInfo, profile: Profile) -> Claim | Refusal:
        return self._inner.claim(info, profile)

    def plan(self, request: ClipRequest) -> ClipPlan:
        return self._inner.plan(request)

    def execute(self, plan: ClipPlan, cancel: threading.Event) -> tuple[CommandRecord, ...]:
        records = self._inner.execute(plan, cancel)
        self._damage(self._inner, plan, cancel)
        return records

    def probe_output(self, plan: ClipPlan) -> SourceInfo | None:
        return self._inner.probe_output(plan)

    def output_checks(self, plan: ClipPlan, output_info: SourceInfo) -> tuple[Check, ...]:
        return self._inner.output_checks(plan, output_info)


def truncate_output(engine: Engine, plan: ClipPlan, cancel: threading.Event) -> None:
    """Damage: cut the temp output to a third of its size (a crash or full disk mid-write)."""
    path = plan.request.temp_path
    size = os.path.getsize(path)
    assert size > 0, f"{engine.name} wrote an empty temp output {path}"
    os.truncate(path, size // 3)


def swap_output(engine: Engine, plan: ClipPlan, cancel: threading.Event) -> None:
    """Damage: replace the temp output with a complete, valid file of the wrong raster (another
    clip's output, as a mix-up would leave it) by running the engine on a smaller request."""
    req = plan.request
    smaller = attrs.evolve(req, width=max(2, req.width // 4 * 2), height=max(2, req.height // 4 * 2))
    os.unlink(req.temp_path)
    os.close(os.open(req.temp_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
    engine.execute(engine.plan(smaller), cancel)


def shell_like(argv: Sequence[str]) -> str | None:
    """Why ``argv`` looks like a shell invocation, or None."""
    shells = {"sh", "bash", "dash", "zsh", "ksh", "fish", "cmd", "cmd.exe", "powershell", "powershell.exe", "pwsh"}
    exe = os.path.basename(argv[0]) if argv else ""
    if exe in shells:
        return f"runs a shell ({exe}); give the tool's own argv instead"
    if len(argv) == 1 and " " in argv[0]:
        return "is one string with spaces: a shell command line, not an argv"
    return None
