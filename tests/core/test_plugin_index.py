"""The plugin index (proxx_core.support.pluginindex) answers what importlib.metadata answers, notices
every install, upgrade and removal, and a stale entry can never hide a plugin or its real error."""

from __future__ import annotations

import importlib.metadata
import os
import sys
import time

import pytest

from proxx_core.support import pluginindex
from proxx_core.support.plugins import command_entry_points, load_engines


@pytest.fixture
def index(tmp_path, monkeypatch):
    """A fresh index in a cache folder of its own, and a sys.path folder to install plugins into."""
    monkeypatch.setenv("PROXX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.delenv("PROXX_PLUGIN_INDEX", raising=False)
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    pluginindex._memo.clear()
    importlib.invalidate_caches()
    yield site
    pluginindex._memo.clear()
    for name in [m for m in sys.modules if m.startswith("idxplug")]:
        del sys.modules[name]


def install(site, module: str, version: str = "1.0", body: str | None = None, entry: str | None = None):
    """A distribution ``idxplug-<module>`` declaring one ``proxx`` engine plugin, as pip lays it out."""
    (site / f"{module}.py").write_text(body if body is not None else PLUGIN)
    info = site / f"idxplug_{module}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: idxplug-{module}\nVersion: {version}\n")
    (info / "entry_points.txt").write_text(f"[proxx]\n{entry or module} = {module}\n")
    return info


PLUGIN = """
from proxx_engine_ffmpeg.engine import FFmpegEngine
import proxx_core

class Engine(FFmpegEngine):
    name = "{name}"

@proxx_core.hookimpl
def proxx_register_engines(register):
    register(Engine())
"""


def fresh():
    """A new command: the process memo forgotten, the index on disk kept."""
    pluginindex._memo.clear()
    importlib.invalidate_caches()


def test_the_index_answers_what_importlib_metadata_answers(index):
    install(index, "idxplug_a", body=PLUGIN.format(name="idxa"))
    for group in pluginindex.GROUPS:
        direct = sorted((ep.name, ep.value) for ep in importlib.metadata.entry_points(group=group))
        fresh()
        built = sorted((ep.name, ep.value) for ep in pluginindex.entry_points(group))
        fresh()
        read = sorted((ep.name, ep.value) for ep in pluginindex.entry_points(group))
        assert built == read == direct
    assert len(list((index.parent / "cache" / "plugin-index").glob("*.json"))) == 1
    for name in ("proxx-core", "proxx_engine_ffmpeg", "idxplug-idxplug_a", "proxx-no-such-distribution"):
        try:
            expected = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            expected = None
        assert pluginindex.version(name) == expected
    engines = load_engines()
    assert engines.loaded["idxa"].distribution == "idxplug-idxplug_a 1.0"


def test_install_upgrade_and_removal_are_seen_by_the_next_command(index):
    import shutil

    fresh()
    assert "idxb" not in load_engines().names
    info = install(index, "idxplug_b", body=PLUGIN.format(name="idxb"))
    fresh()
    assert load_engines().loaded["idxb"].distribution == "idxplug-idxplug_b 1.0"
    shutil.rmtree(info)  # upgraded: pip removes the old metadata folder and writes the new one
    install(index, "idxplug_b", version="2.0", body=PLUGIN.format(name="idxb"))
    fresh()
    assert load_engines().loaded["idxb"].distribution == "idxplug-idxplug_b 2.0"
    assert pluginindex.version("idxplug-idxplug_b") == "2.0"
    shutil.rmtree(index / "idxplug_idxplug_b-2.0.dist-info")  # uninstalled
    (index / "idxplug_b.py").unlink()
    sys.modules.pop("idxplug_b", None)
    fresh()
    engines = load_engines()
    assert "idxb" not in engines.names and not engines.failures


def test_a_stale_entry_is_loaded_again_from_a_fresh_index(index):
    """An edit the folder times do not show (entry_points.txt rewritten in place, same second): the
    entry that no longer loads is read again, so the plugin as installed now loads."""
    info = install(index, "idxplug_c", body=PLUGIN.format(name="idxc"), entry="idxc")
    fresh()
    assert "idxc" in load_engines().names
    (index / "idxplug_c2.py").write_text(PLUGIN.format(name="idxc"))
    before = os.stat(info).st_mtime_ns
    with open(info / "entry_points.txt", "r+") as fh:  # in place: the folder's time does not change
        fh.seek(0)
        fh.write("[proxx]\nidxc = idxplug_c2\n")
        fh.truncate()
    os.utime(info, ns=(before, before))
    (index / "idxplug_c.py").unlink()
    sys.modules.pop("idxplug_c", None)
    fresh()
    engines = load_engines()
    assert "idxc" in engines.names and not engines.failures
    assert engines.loaded["idxc"].engine.__class__.__module__ == "idxplug_c2"


def test_a_broken_plugin_reports_its_real_error(index):
    install(index, "idxplug_d", body="raise ImportError('libfoo.so.3: cannot open shared object file')\n")
    fresh()
    engines = load_engines()
    (failure,) = [f for f in engines.failures if f.plugin == "idxplug_d"]
    assert "libfoo.so.3" in failure.reason and failure.distribution == "idxplug-idxplug_d 1.0"


def test_a_fifo_or_garbage_in_place_of_the_index_never_blocks_or_misleads(index):
    fresh()
    expected = sorted(ep.name for ep in command_entry_points())
    (path,) = (index.parent / "cache" / "plugin-index").glob("*.json")
    for planted in ("fifo", "garbage", "wrong shape"):
        path.unlink()
        if planted == "fifo":
            os.mkfifo(path)
        else:
            path.write_text("{not json" if planted == "garbage" else '{"key": 1, "value": []}')
        fresh()
        t0 = time.monotonic()
        assert sorted(ep.name for ep in command_entry_points()) == expected
        assert time.monotonic() - t0 < 10


def test_an_unwritable_cache_or_the_index_off_changes_no_answer(index, monkeypatch, tmp_path):
    fresh()
    expected = sorted(ep.name for ep in pluginindex.entry_points("proxx"))
    monkeypatch.setenv("PROXX_CACHE_DIR", "/proc/no-such-place")
    fresh()
    assert sorted(ep.name for ep in pluginindex.entry_points("proxx")) == expected
    monkeypatch.setenv("PROXX_CACHE_DIR", str(tmp_path / "off"))
    monkeypatch.setenv("PROXX_PLUGIN_INDEX", "0")
    fresh()
    assert sorted(ep.name for ep in pluginindex.entry_points("proxx")) == expected
    assert pluginindex.version("proxx-core") == importlib.metadata.version("proxx-core")
    assert not (tmp_path / "off").exists()


def test_a_folder_without_distributions_on_the_path_shares_the_index(index, monkeypatch, tmp_path):
    """``python -m proxx_cli`` puts the current folder first on sys.path: run from anywhere, a command
    reads the same index instead of building one per folder."""
    fresh()
    pluginindex.entry_points("proxx")
    files = sorted((index.parent / "cache" / "plugin-index").iterdir())
    elsewhere = tmp_path / "some project folder"
    elsewhere.mkdir()
    monkeypatch.syspath_prepend(str(elsewhere))
    fresh()
    pluginindex.entry_points("proxx")
    assert sorted((index.parent / "cache" / "plugin-index").iterdir()) == files
    install(elsewhere, "idxplug_e", body=PLUGIN.format(name="idxe"))  # now it holds one: its own index
    fresh()
    assert "idxplug_e" in [ep.name for ep in pluginindex.entry_points("proxx")]
