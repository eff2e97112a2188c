"""Where DaVinci Resolve's scripting library lives on each OS, and how to load it.

Blackmagic's README ("Using a script") documents two environment variables and per-OS defaults:

- ``RESOLVE_SCRIPT_API`` (the Developer/Scripting folder):
  macOS ``/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting``;
  Windows ``%PROGRAMDATA%\\Blackmagic Design\\DaVinci Resolve\\Support\\Developer\\Scripting``;
  Linux ``/opt/resolve/Developer/Scripting`` (``/home/resolve/...`` for the ISO).
- ``RESOLVE_SCRIPT_LIB`` (the fusionscript native library):
  macOS ``/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so``;
  Windows ``C:\\Program Files\\Blackmagic Design\\DaVinci Resolve\\fusionscript.dll``;
  Linux ``/opt/resolve/libs/Fusion/fusionscript.so``.

:func:`find_library` is cheap (a few ``stat`` calls) and is what the parent process uses to say
"Resolve is not installed" instantly. Loading the library and connecting happens only in the
supervised worker (:mod:`proxx_engine_resolve.worker`), never in the Proxx process.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import attrs


@attrs.frozen(kw_only=True)
class Discovery:
    #: the native library that will be loaded, or None
    library: str | None
    #: the Developer/Scripting directory (its Modules/ holds DaVinciResolveScript.py), or None
    script_api: str | None
    #: every place looked at, in order, with what was found: for error messages
    looked_at: tuple[str, ...]


def _platform() -> str:
    if sys.platform == "darwin":
        return "macos"
    if sys.platform.startswith("win"):
        return "windows"
    return "linux"


def default_paths(platform: str | None = None) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """(library candidates, scripting-API dir candidates) for ``platform``."""
    platform = platform or _platform()
    if platform == "macos":
        return (
            (
                "/Applications/DaVinci Resolve/DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so",
                "/Applications/DaVinci Resolve Studio/DaVinci Resolve.app/Contents/Libraries/Fusion/fusionscript.so",
            ),
            ("/Library/Application Support/Blackmagic Design/DaVinci Resolve/Developer/Scripting",),
        )
    if platform == "windows":
        program_files = os.environ.get("PROGRAMFILES", r"C:\Program Files")
        program_data = os.environ.get("PROGRAMDATA", r"C:\ProgramData")
        return (
            (program_files + r"\Blackmagic Design\DaVinci Resolve\fusionscript.dll",),
            (program_data + r"\Blackmagic Design\DaVinci Resolve\Support\Developer\Scripting",),
        )
    return (
        ("/opt/resolve/libs/Fusion/fusionscript.so", "/home/resolve/libs/Fusion/fusionscript.so"),
        ("/opt/resolve/Developer/Scripting", "/home/resolve/Developer/Scripting"),
    )


def find_library(environ: dict[str, str] | None = None, platform: str | None = None) -> Discovery:
    """Locate fusionscript: ``RESOLVE_SCRIPT_LIB`` first, then the OS defaults."""
    env = os.environ if environ is None else environ
    libs, apis = default_paths(platform)
    looked: list[str] = []
    library = None
    env_lib = env.get("RESOLVE_SCRIPT_LIB")
    if env_lib:
        ok = Path(env_lib).is_file()
        looked.append(f"RESOLVE_SCRIPT_LIB={env_lib} ({'found' if ok else 'no such file'})")
        if ok:
            library = env_lib
    else:
        looked.append("RESOLVE_SCRIPT_LIB (not set)")
    for cand in libs:
        if library:
            break
        ok = Path(cand).is_file()
        looked.append(f"{cand} ({'found' if ok else 'absent'})")
        if ok:
            library = cand
    script_api = None
    env_api = env.get("RESOLVE_SCRIPT_API")
    for cand in ([env_api] if env_api else []) + list(apis):
        if Path(cand, "Modules").is_dir():
            script_api = cand
            break
    return Discovery(library=library, script_api=script_api, looked_at=tuple(looked))


def not_installed_reason(d: Discovery) -> str:
    return (
        "DaVinci Resolve's scripting library (fusionscript) was not found; looked at: "
        + "; ".join(d.looked_at)
        + ". Install DaVinci Resolve Studio (17.0 or newer) on this node, or set RESOLVE_SCRIPT_LIB "
        "to its fusionscript library and RESOLVE_SCRIPT_API to its Developer/Scripting folder "
        "(see docs/resolve.md)"
    )


def load_scripting_module(d: Discovery):
    """Load Resolve's scripting module (in the worker only). Returns a module with ``scriptapp``.

    Mirrors Blackmagic's ``DaVinciResolveScript.py`` without ``imp`` (gone in Python 3.12): load
    the native library directly; fall back to importing ``DaVinciResolveScript`` from
    ``RESOLVE_SCRIPT_API/Modules``. Raises ImportError with every attempt listed."""
    errors = []
    if d.library:
        import importlib.machinery
        import importlib.util

        if sys.platform.startswith("win") and hasattr(os, "add_dll_directory"):
            # Python 3.8+ no longer searches PATH for a DLL's dependencies; fusionscript.dll's live beside it
            os.add_dll_directory(str(Path(d.library).parent))
        try:
            loader = importlib.machinery.ExtensionFileLoader("fusionscript", d.library)
            spec = importlib.util.spec_from_file_location("fusionscript", d.library, loader=loader)
            mod = importlib.util.module_from_spec(spec)  # type: ignore[arg-type]  # never None: a loader is given
            loader.exec_module(mod)
            if "scriptapp" in dir(mod):
                return mod
            errors.append(f"{d.library}: loaded but has no scriptapp()")
        except Exception as exc:  # ImportError, OSError from a wrong-architecture library, ...
            errors.append(f"{d.library}: {type(exc).__name__}: {exc}")
    if d.script_api:
        modules = str(Path(d.script_api, "Modules"))
        if modules not in sys.path:
            sys.path.append(modules)
        try:
            import DaVinciResolveScript  # type: ignore[import-not-found]

            return DaVinciResolveScript
        except Exception as exc:
            errors.append(f"import DaVinciResolveScript from {modules}: {type(exc).__name__}: {exc}")
    raise ImportError("Could not load DaVinci Resolve's scripting module: " + "; ".join(errors or ["nothing found"]))
