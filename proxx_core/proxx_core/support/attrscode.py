"""The code attrs generates for Proxx's classes, compiled once per installation instead of once per
command.

Every ``@attrs.define`` class gets an ``__init__``, ``__eq__``, ``__hash__``... that attrs writes as
Python source and passes to ``compile()`` when the class is created. Proxx's contract and pipeline
define ~100 such classes, so every command compiled ~110 small scripts before its first FFmpeg
command: ~30 ms of CPU, the largest single cost of its start-up (docs/performance.md). ``compile`` is
a pure function of its source, file name, flags and the interpreter, so the code objects are kept in
``$PROXX_CACHE_DIR/attrs-code/`` (or ``~/.cache/proxx/attrs-code/``), one marshal file per
interpreter and optimisation level, keyed by the file name and the source's SHA-256: the same bytes
a ``.pyc`` file holds for a module. A script not in the file is compiled as before and added when the process exits.

:func:`install` puts a ``compile`` into ``attr._make``'s globals that answers from the file; it passes
the exact flags the built-in would inherit there (``from __future__ import annotations``), so a cached
code object equals a freshly compiled one (tested). Only the executable installs it, before its first
class: a program that imports Proxx as a library keeps attrs as it found it.

Safety: the file holds code, so it is read only when it is a regular file owned by this user and
writable by nobody else (the same trust as the user's own ``site-packages``); anything unreadable,
malformed or of another interpreter is ignored and rebuilt, silently. ``PROXX_ATTRS_CACHE=0`` turns
it off.
"""

import __future__

import atexit
import builtins
import hashlib
import marshal
import os
import stat
import sys
from types import CodeType
from typing import Any

from ..io.atomic import write_bytes_atomic
from ..io.fingerprint import cache_root
from ..io.safeopen import open_regular

#: a file of ~100 classes' methods is ~100 KB; anything far larger is not one of ours
MAX_FILE_BYTES = 16 * 1024 * 1024
#: entries kept across commands that define different classes; past this the file starts afresh
MAX_ENTRIES = 5000

_state: dict[str, Any] = {}


def install() -> None:
    """Compile attrs' generated methods from the cache in this process (once; never when turned off)."""
    if _state or os.environ.get("PROXX_ATTRS_CACHE", "1") in ("0", ""):
        return
    try:
        import attr._make as make
    except ImportError:
        return
    if not hasattr(make, "_compile_and_eval") or "compile" in vars(make):  # another attrs, or patched
        return
    path = _file()
    _state.update(path=path, codes=_read(path), used=set(), new=0, flags=_inherited_flags(vars(make)))
    make.compile = _compile  # type: ignore[attr-defined]
    atexit.register(_save)


def _compile(
    source: Any, filename: Any, mode: str, flags: int = 0, dont_inherit: bool = False, optimize: int = -1
) -> Any:
    """``compile`` as attr._make calls it, answered from the cache for its scripts."""
    inherited = 0 if dont_inherit else _state["flags"]
    if not (isinstance(source, str) and isinstance(filename, str) and mode == "exec") or (
        flags or optimize != -1 or inherited != _state["flags"]
    ):
        return builtins.compile(source, filename, mode, flags | inherited, True, optimize)
    type_hash = _type_hash(filename, source)
    if type_hash is None:
        return builtins.compile(source, filename, mode, inherited, True)
    sentinel = _sentinel(type_hash)
    cached_source = source.replace(str(type_hash), str(sentinel)) if type_hash else source
    key = (filename, hashlib.sha256(cached_source.encode("utf-8", "surrogatepass")).hexdigest())
    codes: dict[tuple[str, str], CodeType] = _state["codes"]
    code = codes.get(key)
    if code is None:
        code = codes[key] = builtins.compile(cached_source, filename, mode, inherited, True)
        _state["new"] += 1
    _state["used"].add(key)
    return _with_constant(code, sentinel, type_hash) if type_hash else code


def _type_hash(filename: str, source: str) -> int | None:
    """The ``hash()`` constant attrs wrote into a ``__hash__`` script (0: none), or None when the
    script cannot be cached (the constant's text ambiguous, or its sentinel already in the script).

    That constant differs in every process (hash randomisation), so the script is cached with a
    sentinel of the same sign and number of digits in its place (the code's column table depends on
    the text's width), and the sentinel is swapped back for this process's value when used."""
    if not filename.startswith("<attrs generated ") or filename.count(" ") < 3:
        return 0
    value = hash("<attrs generated hash " + filename.split(" ", 3)[3])
    count = source.count(str(value))
    if count == 0:
        return 0
    if count > 1 or str(_sentinel(value)) in source:
        return None
    return value


def _sentinel(value: int) -> int:
    """A constant of the same sign and number of digits as ``value`` (0 for 0)."""
    digits = len(str(abs(value)))
    return (-1 if value < 0 else 1) * int("7" * digits) if value else 0


def _with_constant(code: CodeType, old: int, new: int) -> CodeType:
    """``code`` with every constant ``old`` (in nested functions too) replaced by ``new``."""
    consts = tuple(
        new if type(c) is int and c == old else _with_constant(c, old, new) if isinstance(c, CodeType) else c
        for c in code.co_consts
    )
    return code.replace(co_consts=consts)


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


def _read(path: str) -> dict[tuple[str, str], CodeType]:
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
    codes: dict[tuple[str, str], CodeType] = {}
    for key, code in data.items():
        if (
            isinstance(key, tuple)
            and len(key) == 2
            and all(isinstance(part, str) for part in key)
            and isinstance(code, CodeType)
        ):
            codes[key] = code
    return codes


def _save() -> None:
    """At exit, when this process compiled a script the file did not hold: write the file anew
    (temp then rename, so a reader never sees half of it)."""
    if not _state.get("new"):
        return
    codes = _state["codes"]
    if len(codes) > MAX_ENTRIES:  # keep what this command used
        codes = {key: codes[key] for key in _state["used"]}
    data = marshal.dumps(codes)
    if len(data) > MAX_FILE_BYTES:
        return
    try:
        os.makedirs(os.path.dirname(_state["path"]), mode=0o700, exist_ok=True)
        write_bytes_atomic(_state["path"], data, mode=0o600)
    except (OSError, ValueError):
        pass
    _state["new"] = 0


def uninstall() -> None:
    """Undo :func:`install` (tests): attrs compiles with the built-in again."""
    try:
        import attr._make as make
    except ImportError:
        return
    if vars(make).get("compile") is _compile:
        del make.compile  # type: ignore[attr-defined]
    if _state:
        atexit.unregister(_save)
    _state.clear()
