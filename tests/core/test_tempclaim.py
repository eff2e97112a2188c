"""TempClaim.publish_behind: the output's SHA-256 and fsync start while it is being verified; the hash
is used at publishing only for the very bytes it read."""

from __future__ import annotations

import hashlib
import os
import time

from proxx_core.io import tempclaim
from proxx_core.io.tempclaim import TempClaim


def _claim(path) -> TempClaim:
    return TempClaim.take(str(path), overwrite=False, is_source=lambda identity: False)


def _write(claim: TempClaim, data: bytes) -> None:
    with open(claim.path, "r+b") as fh:
        fh.write(data)
        fh.truncate()


def _after_ctime(folder, ctime_ns: int) -> None:
    """Return once a file changed now gets a ctime later than ``ctime_ns`` (kernels without fine-grained
    time stamps give every change within one clock tick, ~1-10 ms, the same ctime)."""
    probe = folder / "ctime-probe"
    for _ in range(10_000):
        probe.write_bytes(b"")
        if os.stat(probe).st_ctime_ns > ctime_ns:
            return
        time.sleep(0.001)
    raise AssertionError("the file system's ctime did not move in 10 s")


def test_the_hash_made_behind_is_the_one_published_and_nothing_is_read_twice(tmp_path, monkeypatch):
    claim = _claim(tmp_path / "out.mov.proxx-partial")
    data = os.urandom(3 * 1024 * 1024 + 17)
    _write(claim, data)
    reads = []
    real = tempclaim._sha256
    monkeypatch.setattr(tempclaim, "_sha256", lambda fd: reads.append(fd) or real(fd))
    claim.publish_behind()
    assert claim.sha256() == (hashlib.sha256(data).hexdigest(), len(data))
    assert len(reads) == 1, "publishing hashed the file again"
    claim.release()


def test_a_file_changed_after_its_hash_behind_is_hashed_again(tmp_path):
    claim = _claim(tmp_path / "out.mov.proxx-partial")
    _write(claim, b"first bytes" * 1000)
    claim.publish_behind()
    claim._ahead.done.wait(10)
    before = os.stat(claim.path)
    _after_ctime(tmp_path, before.st_ctime_ns)  # where time stamps are coarse, a change in the same tick looks the same
    changed = b"other bytes" * 1000  # same size: only the times tell
    _write(claim, changed)
    os.utime(claim.path, ns=(before.st_atime_ns, before.st_mtime_ns))  # its mtime put back: the ctime moved
    after = os.stat(claim.path)
    assert (after.st_size, after.st_mtime_ns) == (before.st_size, before.st_mtime_ns)
    assert claim.sha256() == (hashlib.sha256(changed).hexdigest(), len(changed))
    claim.release()


def test_without_a_hash_behind_publishing_hashes_the_file(tmp_path):
    claim = _claim(tmp_path / "out.mov.proxx-partial")
    _write(claim, b"x" * 10)
    assert claim.sha256() == (hashlib.sha256(b"x" * 10).hexdigest(), 10)
    claim.release()
