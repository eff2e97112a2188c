"""The code attrs generates for Proxx's classes, compiled once per installation instead of once per
command.

Every ``@attrs.define`` class gets an ``__init__``, ``__eq__``, ``__hash__``... that attrs writes as
Python source and passes to ``compile()`` when the class is created. Proxx's contract and pipeline
define ~100 such classes, so every command compiled ~110 small scripts before its first FFmpeg
command: ~30 ms of CPU, the largest single cost of its start-up (docs/performance.md). ``compile`` is
a pure function of its source, file name, flags and the interpreter, so the code objects are kept in
``$PROXX_CACHE_DIR/attrs-code/`` (or ``~/.cache/proxx/attrs-code/``), one marshal file per
interpreter and optimisation level, keyed by the file name and the source's SHA-256: the bytes a
``.pyc`` file holds for a module, each unmarshalled only when its class is made. A script not in the
file is compiled as before and added when the process exits.

:func:`install` puts two names into ``attr._make``'s globals:

- ``compile``, answering from the file. It passes the exact flags the built-in would inherit there
  (``from __future__ import annotations``), so a cached code object equals a fresh compile of the
  same script (tested).
- ``hash``, for the one string attrs hashes there: the name it mixes into a class's ``__hash__`` (so
  equal fields of two classes hash apart), ``hash("<attrs generated hash module.Class>")``. The
  built-in's value of a string differs in every process (hash randomisation), which would make every
  hashable class's script, and its cache entry, different in every process. Here it is the first 8
  bytes of the name's SHA-256: as distinct per class, the same in every process. Instances' hashes
  still mix in their fields' randomised hashes; no hash value ever leaves a process.

Only the executable installs it, before its first class: a program that imports Proxx as a library
keeps attrs as it found it.

Safety: the file holds code, so it is read only when it is a regular file owned by this user and
writable by nobody else (the same trust as the user's own ``site-packages``); anything unreadable,
malformed or of another interpreter is ignored and rebuilt, silently. ``PROXX_ATTRS_CACHE=0`` turns
it off.
"""

import __future__

import atexit
import builtins
import marshal
import os
import stat
import sys
from types import CodeType
from typing import Any

from ..io.atomic import write_bytes_atomic
from ..io.digests import short_sha256
from ..io.fingerprint import cache_root
from ..io.safeopen import open_regular

#: one installation's commands define a few hundred classes (~3 KB each); far larger is not ours
MAX_FILE_BYTES = 16 * 1024 * 1024
#: past this many entries (classes of plugins since removed, of tests) the file keeps only one command's
MAX_ENTRIES = 2000
#: what attrs hashes for a class's ``__hash__`` (attr._make._generate_unique_filename(cls, "hash"))
_TYPE_HASH_PREFIX = "<attrs generated hash "

_state: dict[str, Any] = {}


def install() -> None:
    """Compile attrs' generated methods from the cache in this process (once; never when turned off).
    Called before attrs is imported, it also serves the classes attrs defines itself (its validators,
    ``Attribute``...: ~30 more scripts): the two names are put into ``attr._make``'s namespace before
    its code runs."""
    if _state or os.environ.get("PROXX_ATTRS_CACHE", "1") in ("0", ""):
        return
    make = sys.modules.get("attr._make")
    if make is not None and not _patchable(vars(make)):
        return
    path = _file()
    _state.update(path=path, entries=_read(path), used={}, new=False)
    atexit.register(_save)
    if make is not None:
        vars(make).update(compile=_compile, hash=_type_hash)
    else:
        sys.meta_path.insert(0, _BeforeAttrsMake())


def _patchable(names: dict[str, Any]) -> bool:
    """attr._make as this module knows it: its compile step there, our names not yet taken."""
    return "_compile_and_eval" in names and "compile" not in names and "hash" not in names


class _BeforeAttrsMake:
    """A one-shot import hook: ``attr._make``'s module gets ``compile`` and ``hash`` before its code runs."""

    def find_spec(self, name: str, path: Any, target: Any = None) -> Any:
        if name != "attr._make":
            return None
        sys.meta_path.remove(self)
        from importlib.machinery import PathFinder  # loaded by then: the interpreter's own import system

        spec = PathFinder.find_spec(name, path)
        loader = getattr(spec, "loader", None)
        run = getattr(loader, "exec_module", None)
        if run is None:
            return spec

        def exec_module(module: Any) -> None:
            vars(module).update(compile=_compile, hash=_type_hash)
            run(module)

        loader.exec_module = exec_module  # type: ignore[union-attr]
        return spec


def _type_hash(value: Any) -> int:
    """``hash`` as attr._make calls it: stable across processes for the class names it mixes into
    ``__hash__``, the built-in for anything else."""
    if type(value) is str and value.startswith(_TYPE_HASH_PREFIX):
        return int.from_bytes(short_sha256(value.encode("utf-8", "surrogatepass")).digest()[:8], "big", signed=True)
    return builtins.hash(value)


def _compile(
    source: Any, filename: Any, mode: str, flags: int = 0, dont_inherit: bool = False, optimize: int = -1
) -> Any:
    """``compile`` as attr._make calls it, answered from the cache for its scripts."""
    own = _state.get("flags")
    if own is None:  # attr/_make.py's future imports, in its namespace from its first line
        own = _state["flags"] = _inherited_flags(vars(sys.modules["attr._make"]))
    inherited = 0 if dont_inherit else own
    if not (isinstance(source, str) and isinstance(filename, str) and mode == "exec") or (
        flags or optimize != -1 or inherited != own
    ):
        return builtins.compile(source, filename, mode, flags | inherited, True, optimize)
    key = (filename, short_sha256(source.encode("utf-8", "surrogatepass")).hexdigest())
    data = _state["entries"].get(key)
    code = None
    if data is not None:
        try:
            code = marshal.loads(data)
        except (ValueError, EOFError, TypeError):
            code = None
    if not isinstance(code, CodeType):
        code = builtins.compile(source, filename, mode, inherited, True)
        data = _state["entries"][key] = marshal.dumps(code)
        _state["new"] = True
    _state["used"][key] = data
    return code


def _inherited_flags(module_globals: dict[str, Any]) -> int:
    """The ``__future__`` flags ``compile()`` inherits when called from code of that module."""
    flags = 0
    for value in module_globals.values():
        if isinstance(value, __future__._Feature):
            flags |= value.compiler_flag
    return flags


def _file() -> str:
    name = f"{sys.implementation.cache_tag}-{sys.hexversion:x}-O{sys.flags.optimize}.marshal"
    return os.path.join(cache_root(), "attrs-code", name)


def _read(path: str) -> dict[tuple[str, str], bytes]:
    """The file's entries, (file name, SHA-256 of the source) -> marshalled code; {} when untrusted or
    broken."""
    try:
        with open_regular(path, follow_symlinks=False) as fh:
            st = os.fstat(fh.fileno())
            if st.st_uid != os.geteuid() or st.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
                return {}
            data = marshal.loads(fh.read(MAX_FILE_BYTES + 1))
    except (OSError, ValueError, EOFError, TypeError):
        return {}
    if not isinstance(data, dict) or len(data) > MAX_ENTRIES:
        return {}
    return {
        key: value
        for key, value in data.items()
        if isinstance(key, tuple)
        and len(key) == 2
        and all(isinstance(part, str) for part in key)
        and isinstance(value, bytes)
    }


def _save() -> None:
    """At exit, when this process compiled a script the file did not hold: write the file anew
    (temp then rename, so a reader never sees half of it)."""
    if not _state.get("new"):
        return
    entries = _state["entries"] if len(_state["entries"]) <= MAX_ENTRIES else _state["used"]
    data = marshal.dumps(entries)
    if len(data) > MAX_FILE_BYTES:
        return
    try:
        os.makedirs(os.path.dirname(_state["path"]), mode=0o700, exist_ok=True)
        write_bytes_atomic(_state["path"], data, mode=0o600)
    except (OSError, ValueError):
        pass
    _state["new"] = False
