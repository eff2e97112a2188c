"""The attrs code cache (proxx_core/support/attrscode.py): the methods attrs generates, compiled once
per installation, must be the very code objects a fresh compile makes, in every process whatever its
hash seed; an untrusted or broken cache file is ignored; ``PROXX_ATTRS_CACHE=0`` turns it off."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from proxx_core.support import attrscode

#: imports most of Proxx, defines attrs classes of every shape whose generated code differs (hash
#: constants, cached hashes, factories, frozen, eq off, attribute names ending in digits), then prints
#: every attrs-generated function's code, field by field
DUMP = textwrap.dedent(
    """
    import __future__, json, linecache, os, sys, types
    if os.environ.get("USE_CACHE") == "1":
        from proxx_core.support import attrscode
        attrscode.install()
    import attrs
    import proxx_core.pipeline.runner, proxx_core.pipeline.check, proxx_core.contract.results  # noqa: E401
    import proxx_engine_ffmpeg.engine, proxx_fleet.store  # noqa: E401

    @attrs.frozen
    class Frozen:
        a0: int
        b1: str = "0"
        c: tuple = attrs.field(factory=tuple)

    @attrs.define(unsafe_hash=True, cache_hash=True)
    class CachedHash:
        x: int = 0

    @attrs.define(eq=False)
    class NoEq:
        t: list = attrs.Factory(list)

    @attrs.define(order=True)
    class Ordered:
        n: int = 10

    def canon(c):  # every field code equality compares (marshal bytes also depend on string sharing)
        consts = tuple(canon(k) if isinstance(k, types.CodeType) else repr(k) for k in c.co_consts)
        return repr((
            c.co_code.hex(), c.co_flags, c.co_argcount, c.co_posonlyargcount, c.co_kwonlyargcount,
            c.co_nlocals, c.co_stacksize, c.co_names, c.co_varnames, c.co_freevars, c.co_cellvars,
            c.co_filename, c.co_name, c.co_qualname, c.co_firstlineno, c.co_linetable.hex(),
            c.co_exceptiontable.hex(), consts,
        ))

    def fresh(code):  # the same function compiled now from the script attrs wrote (kept in linecache)
        script = "".join(linecache.cache[code.co_filename][2])
        flags = __future__.annotations.compiler_flag  # attr/_make.py's own future import
        module = compile(script, code.co_filename, "exec", flags, True)
        return next(k for k in module.co_consts if isinstance(k, types.CodeType) and k.co_name == code.co_name)

    out, differ = {}, []
    for module in list(sys.modules.values()):
        if not (getattr(module, "__name__", "") or "").startswith(("proxx", "__main__")):
            continue
        for cls in list(vars(module).values()):
            if not (isinstance(cls, type) and hasattr(cls, "__attrs_attrs__")):
                continue
            for name, value in vars(cls).items():
                code = getattr(value, "__code__", None)
                if code is not None and code.co_filename.startswith("<attrs generated"):
                    key = f"{cls.__module__}.{cls.__qualname__}.{name}"
                    out[key] = canon(code)
                    if canon(fresh(code)) != out[key]:
                        differ.append(key)
    out["hash(CachedHash(3)) == hash(CachedHash(3))"] = hash(CachedHash(3)) == hash(CachedHash(3))
    out["Frozen(1) in {Frozen(1)}"] = Frozen(1) in {Frozen(1)} and Frozen(2) not in {Frozen(1)}
    print(json.dumps({"code": out, "differ": differ}, sort_keys=True))
    """
)


def _dump(cache_dir: Path, *, use_cache: bool, seed: int) -> dict[str, Any]:
    env = {
        **os.environ,
        "PROXX_CACHE_DIR": str(cache_dir),
        "PYTHONHASHSEED": str(seed),
        "USE_CACHE": "1" if use_cache else "0",
    }
    proc = subprocess.run([sys.executable, "-c", DUMP], capture_output=True, text=True, env=env, timeout=120)
    assert proc.returncode == 0, proc.stderr
    out: dict[str, Any] = json.loads(proc.stdout)
    return out


def _cache_files(cache_dir: Path) -> list[Path]:
    return sorted((cache_dir / "attrs-code").glob("*.marshal"))


def test_cached_code_is_a_fresh_compile_of_the_same_script_in_every_process(tmp_path: Path) -> None:
    plain = _dump(tmp_path / "unused", use_cache=False, seed=0)
    assert len(plain["code"]) > 150  # Proxx's classes and the ones above were all seen
    assert plain["differ"] == []  # the check itself: attrs' own compile equals the fresh one

    cold = _dump(tmp_path / "cache", use_cache=True, seed=0)
    (file,) = _cache_files(tmp_path / "cache")
    written = file.read_bytes()
    warm = _dump(tmp_path / "cache", use_cache=True, seed=1)  # every script from the file written by seed 0

    assert cold["differ"] == [] and warm["differ"] == []
    assert warm["code"] == cold["code"]  # one script per class whatever the hash seed: nothing added
    assert file.read_bytes() == written  # so the warm run rewrote nothing
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
    # only the __hash__ methods' class constant differs from attrs' own (stable instead of randomised)
    changed = {key for key in plain["code"] if plain["code"][key] != warm["code"].get(key)}
    assert changed and all(key.endswith(".__hash__") for key in changed), changed


def test_the_executable_fills_the_cache_once(tmp_path: Path, valid, write_job) -> None:
    tiny_job = write_job(valid[0])
    env = {**os.environ, "PROXX_CACHE_DIR": str(tmp_path / "cache")}
    argv = [sys.executable, "-m", "proxx_cli", "validate", str(tiny_job)]
    first = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert first.returncode == 0, first.stderr
    (file,) = _cache_files(tmp_path / "cache")
    before = file.stat().st_mtime_ns, file.read_bytes()
    second = subprocess.run(argv, capture_output=True, text=True, env=env, timeout=120)
    assert second.returncode == 0, second.stderr
    assert second.stdout == first.stdout
    assert (file.stat().st_mtime_ns, file.read_bytes()) == before

    off = subprocess.run(
        argv,
        capture_output=True,
        text=True,
        env={**env, "PROXX_CACHE_DIR": str(tmp_path / "off"), "PROXX_ATTRS_CACHE": "0"},
    )
    assert off.returncode == 0, off.stderr
    assert not _cache_files(tmp_path / "off")


@pytest.mark.parametrize(
    "spoil",
    ["garbage", "truncated", "not a dict", "wrong value types", "group-writable", "symlink", "fifo"],
)
def test_an_untrusted_or_broken_cache_file_is_ignored(tmp_path: Path, spoil: str) -> None:
    import marshal

    path = tmp_path / "cache.marshal"
    good = marshal.dumps({("<attrs generated methods m.C>", "0" * 64): marshal.dumps(compile("x = 1\n", "f", "exec"))})
    if spoil == "garbage":
        path.write_bytes(b"\x00not marshal at all" * 10)
    elif spoil == "truncated":
        path.write_bytes(good[: len(good) // 2])
    elif spoil == "not a dict":
        path.write_bytes(marshal.dumps([1, 2, 3]))
    elif spoil == "wrong value types":
        path.write_bytes(marshal.dumps({("a", "b"): "not bytes", "key": b"", ("a",): b""}))
    elif spoil == "group-writable":
        path.write_bytes(good)
        path.chmod(0o664)
    elif spoil == "symlink":
        (tmp_path / "real").write_bytes(good)
        path.symlink_to(tmp_path / "real")
    elif spoil == "fifo":
        os.mkfifo(path)  # must not block
    assert attrscode._read(str(path)) == {}


def test_a_good_file_is_read(tmp_path: Path) -> None:
    import marshal

    path = tmp_path / "cache.marshal"
    entries = {("<attrs generated methods m.C>", "0" * 64): marshal.dumps(compile("x = 1\n", "f", "exec"))}
    path.write_bytes(marshal.dumps(entries))
    path.chmod(0o600)
    assert attrscode._read(str(path)) == entries
