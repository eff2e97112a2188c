"""The binary-facts cache: one small file per entry, so a command reads only what it needs however
many builds the node (or a test suite) has run; entries of changed or deleted files are dropped."""

import json

import pytest

from proxx_core.io import fingerprint


@pytest.fixture
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("PROXX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(fingerprint, "_memo", {})
    return tmp_path / "cache" / "binary-facts"


def _fresh_process(monkeypatch):
    monkeypatch.setattr(fingerprint, "_memo", {})


def test_facts_are_computed_once_per_file_identity(cache, tmp_path, monkeypatch):
    binary = tmp_path / "tool"
    binary.write_bytes(b"v1")
    calls = []

    def compute(real):
        calls.append(real)
        return {"version": binary.read_text()}

    assert fingerprint.cached_by_file(str(binary), "facts", compute) == {"version": "v1"}
    _fresh_process(monkeypatch)
    assert fingerprint.is_cached(str(binary), "facts")
    assert fingerprint.cached_by_file(str(binary), "facts", compute) == {"version": "v1"}
    assert len(calls) == 1, "a second process must read the cached facts, not recompute them"
    binary.write_bytes(b"v2")  # a new identity: size/mtime/ctime change
    _fresh_process(monkeypatch)
    assert not fingerprint.is_cached(str(binary), "facts")
    assert fingerprint.cached_by_file(str(binary), "facts", compute) == {"version": "v2"}
    assert len(calls) == 2
    assert len(list(cache.glob("*.json"))) == 1, "the older identity's entry is dropped"


def test_a_command_reads_only_the_entries_it_needs(cache, tmp_path, monkeypatch):
    files = [tmp_path / f"bin{i}" for i in range(20)]
    for f in files:
        f.write_bytes(f.name.encode())
        fingerprint.binary_sha256(str(f))
    _fresh_process(monkeypatch)
    reads = []
    real_read = fingerprint._read
    monkeypatch.setattr(fingerprint, "_read", lambda entry, key: (reads.append(entry), real_read(entry, key))[1])
    fingerprint.binary_sha256(str(files[3]))
    assert len(reads) == 1


def test_entries_of_deleted_files_are_dropped(cache, tmp_path, monkeypatch):
    gone, kept, new = tmp_path / "gone|odd name", tmp_path / "kept", tmp_path / "new"
    for f in (gone, kept, new):
        f.write_bytes(f.name.encode())
    fingerprint.binary_sha256(str(gone))
    fingerprint.binary_sha256(str(kept))
    gone.unlink()
    _fresh_process(monkeypatch)
    fingerprint.binary_sha256(str(new))  # writing an entry prunes the dead ones
    keys = [json.loads(p.read_text("utf-8"))["key"] for p in cache.glob("*.json")]
    assert sorted(fingerprint._path_of(k) for k in keys) == sorted([str(kept), str(new)])


def test_a_damaged_or_foreign_entry_is_recomputed_never_trusted(cache, tmp_path, monkeypatch):
    binary = tmp_path / "tool"
    binary.write_bytes(b"x")
    fingerprint.cached_by_file(str(binary), "facts", lambda real: "good")
    (entry,) = cache.glob("*.json")
    for damaged in ("{not json", json.dumps({"key": "facts|/other|1|2|3|4", "value": "bad"}), "[]"):
        entry.write_text(damaged, "utf-8")
        _fresh_process(monkeypatch)
        assert fingerprint.cached_by_file(str(binary), "facts", lambda real: "recomputed") == "recomputed"


def test_an_unwritable_cache_only_costs_time(tmp_path, monkeypatch):
    blocker = tmp_path / "file-not-dir"
    blocker.write_text("x")
    monkeypatch.setenv("PROXX_CACHE_DIR", str(blocker))
    monkeypatch.setattr(fingerprint, "_memo", {})
    binary = tmp_path / "tool"
    binary.write_bytes(b"x")
    assert fingerprint.cached_by_file(str(binary), "facts", lambda real: 42) == 42
