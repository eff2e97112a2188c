"""The binary-facts cache is read once per process and forgets files that no longer exist, so a node
that has run many builds (or a test suite) does not read megabytes of dead entries on every command."""

import json

from proxx_core import fingerprint


def test_entries_of_deleted_files_are_dropped_and_the_file_is_read_once(tmp_path, monkeypatch):
    monkeypatch.setenv("PROXX_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setattr(fingerprint, "_memo", {})
    monkeypatch.setattr(fingerprint, "_disk", None)
    gone, kept, new = tmp_path / "gone|odd name", tmp_path / "kept", tmp_path / "new"
    for f in (gone, kept, new):
        f.write_bytes(f.name.encode())
    fingerprint.binary_sha256(str(gone))
    fingerprint.binary_sha256(str(kept))
    gone.unlink()
    monkeypatch.setattr(fingerprint, "_memo", {})
    monkeypatch.setattr(fingerprint, "_disk", None)
    reads = []
    real_known = fingerprint._cache_file().read_text

    def counting_read(*a, **kw):
        reads.append(1)
        return real_known(*a, **kw)

    monkeypatch.setattr(type(fingerprint._cache_file()), "read_text", lambda self, *a, **kw: counting_read(*a, **kw))
    assert fingerprint.is_cached(str(kept), "sha256")
    fingerprint.binary_sha256(str(new))
    assert len(reads) == 1
    cached = json.loads((tmp_path / "cache" / "binary-facts.json").read_bytes())
    paths = sorted(fingerprint._path_of(k) for k in cached)
    assert paths == sorted([str(kept), str(new)])
