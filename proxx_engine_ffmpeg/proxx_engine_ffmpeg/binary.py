"""Which ffmpeg runs, and what exactly it is.

Default: the static FFmpeg build pinned in the ``imageio-ffmpeg`` wheel, so every node of a fleet
runs the same bytes. Override with the environment variable ``PROXX_FFMPEG`` (absolute path of an
ffmpeg executable); the result records the path, version line and SHA-256 of whatever ran.
"""

from __future__ import annotations

import functools
import os
import re
import subprocess
from typing import Any

import attrs

from proxx_core import ProxxError
from proxx_core.kit import binary_sha256, cached_by_file, is_cached

ENV_VAR = "PROXX_FFMPEG"
#: cache kind of the binary's version line and capability listings (proxx_core.kit.cached_by_file)
LISTINGS = "ffmpeg-listings"


@attrs.frozen(kw_only=True)
class FFmpegBinary:
    path: str
    version_line: str
    sha256: str
    decoders: frozenset[str]
    encoders: frozenset[str]
    demuxers: frozenset[str]
    muxers: frozenset[str]

    @property
    def version(self) -> str:
        m = re.match(r"ffmpeg version (\S+)", self.version_line)
        return m.group(1) if m else "unknown"


def locate() -> str:
    override = os.environ.get(ENV_VAR)
    if override:
        if not os.path.isabs(override):
            raise ProxxError(
                f"{ENV_VAR}={override!r} must be an absolute path to an ffmpeg executable",
                category="engine_unavailable",
            )
        if not (os.path.isfile(override) and os.access(override, os.X_OK)):
            raise ProxxError(
                f"{ENV_VAR}={override!r} is not an executable file; fix or unset {ENV_VAR}",
                category="engine_unavailable",
            )
        return override
    bundled = None if os.environ.get("IMAGEIO_FFMPEG_EXE") else _bundled()
    if bundled and is_cached(bundled, LISTINGS):
        return bundled  # ran and was read before, unchanged since: no `ffmpeg -version` spawn
    import imageio_ffmpeg

    return imageio_ffmpeg.get_ffmpeg_exe()


def _bundled() -> str | None:
    """The executable inside the imageio-ffmpeg wheel, found without running it (imageio-ffmpeg's
    own lookup spawns ``ffmpeg -version`` in every process). None if the layout is not a known one."""
    path = _only_binary_in_wheel() or _binary_named_by_imageio()
    return path if path and os.path.isfile(path) and os.access(path, os.X_OK) else None


def _only_binary_in_wheel() -> str | None:
    """The one ``ffmpeg-*`` file in ``imageio_ffmpeg/binaries``, found without importing imageio-ffmpeg
    (~2 ms of every command's start-up: it imports importlib.resources' readers, zipfile, sysconfig)."""
    import importlib.util  # loaded by then: the interpreter's own import machinery

    try:
        spec = importlib.util.find_spec("imageio_ffmpeg")
        folders = list(spec.submodule_search_locations or []) if spec is not None else []
        if len(folders) != 1:
            return None
        binaries = os.path.join(folders[0], "binaries")
        names = [n for n in os.listdir(binaries) if n.startswith("ffmpeg-")]
    except (ImportError, ValueError, OSError):
        return None
    return os.path.join(binaries, names[0]) if len(names) == 1 else None


def _binary_named_by_imageio() -> str | None:
    """imageio-ffmpeg's own name for its bundled executable (any other wheel layout)."""
    try:
        from imageio_ffmpeg._definitions import FNAME_PER_PLATFORM, get_platform
        from imageio_ffmpeg._utils import _get_bin_dir

        return os.path.join(_get_bin_dir(), FNAME_PER_PLATFORM[get_platform()])
    except (ImportError, AttributeError, KeyError, OSError, TypeError):
        return None


def _run(path: str, *args: str) -> str:
    out = subprocess.run(
        [path, "-hide_banner", *args], stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False
    )
    return out.stdout.decode("utf-8", errors="replace")


def _codec_names(text: str) -> frozenset[str]:
    names = set()
    started = False
    for line in text.splitlines():
        if line.strip().startswith("------"):
            started = True
            continue
        if started and line.strip():
            parts = line.split()
            if len(parts) >= 2:
                names.add(parts[1])
    return frozenset(names)


def _format_names(text: str) -> frozenset[str]:
    names = set()
    started = False
    for line in text.splitlines():
        if line.strip() in ("--", "---"):
            started = True
            continue
        if started and line.strip():
            parts = line.split()
            if len(parts) >= 2:
                names.update(parts[1].split(","))
    return frozenset(names)


def _listings(path: str) -> dict[str, Any]:
    """Everything read from the binary itself; a pure function of its bytes (cached on disk)."""
    return {
        "version_line": (_run(path, "-version").splitlines()[0:1] or ["unknown"])[0].strip(),
        "decoders": sorted(_codec_names(_run(path, "-decoders"))),
        "encoders": sorted(_codec_names(_run(path, "-encoders"))),
        "demuxers": sorted(_format_names(_run(path, "-demuxers"))),
        "muxers": sorted(_format_names(_run(path, "-muxers"))),
    }


@functools.lru_cache(maxsize=8)
def _inspect(path: str, size: int, mtime_ns: int) -> FFmpegBinary:
    facts = cached_by_file(path, LISTINGS, _listings)
    return FFmpegBinary(
        path=path,
        version_line=facts["version_line"],
        sha256=binary_sha256(path),
        decoders=frozenset(facts["decoders"]),
        encoders=frozenset(facts["encoders"]),
        demuxers=frozenset(facts["demuxers"]),
        muxers=frozenset(facts["muxers"]),
    )


def inspect_binary() -> FFmpegBinary:
    """Locate and fingerprint the ffmpeg that will run (cached per path, size and mtime)."""
    path = os.path.realpath(locate())
    try:
        st = os.stat(path)
        return _inspect(path, st.st_size, st.st_mtime_ns)
    except (OSError, subprocess.SubprocessError) as exc:
        raise ProxxError(f"cannot run ffmpeg at {path}: {exc}", category="engine_unavailable") from exc
