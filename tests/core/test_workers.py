"""``--max-workers auto``: every core busy at each profile's thread budget, within memory and clips."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxx_core.support.workers import H264_THREADS, MEMORY_PER_CLIP, choose, intra_threads

GIB = 1024**3


@pytest.mark.parametrize(
    "codec,cpus,clips,expect",
    [
        ("h264", 2, 10, 1),
        ("h264", 16, 10, 4),
        ("h264", 64, 100, 16),  # x264 keeps 4 threads busy
        ("prores", 2, 10, 1),
        ("prores", 16, 10, 2),
        ("dnxhr", 64, 100, 8),  # intra: up to 8 threads a clip
        ("h264", 64, 3, 3),  # never more workers than clips
    ],
)
def test_auto_fills_the_node(codec, cpus, clips, expect):
    c = choose("auto", codec=codec, clips=clips, cpus=cpus, memory=512 * GIB)
    assert c.max_workers == expect and c.requested == "auto" and c.usable_cpus == cpus


def test_auto_stays_within_memory():
    c = choose("auto", codec="h264", clips=100, cpus=64, memory=3 * MEMORY_PER_CLIP)
    assert c.max_workers == 3 and c.memory_limit == 3
    assert choose("auto", codec="h264", clips=100, cpus=64, memory=0).max_workers == 1


@given(
    cpus=st.integers(1, 512),
    clips=st.integers(1, 1000),
    codec=st.sampled_from(["h264", "prores", "dnxhr"]),
    memory=st.one_of(st.none(), st.integers(0, 4096 * GIB)),
)
def test_auto_never_oversubscribes_and_always_runs(cpus, clips, codec, memory):
    c = choose("auto", codec=codec, clips=clips, cpus=cpus, memory=memory)
    assert 1 <= c.max_workers <= clips
    threads = H264_THREADS if codec == "h264" else intra_threads(cpus)
    assert c.max_workers == 1 or c.max_workers * threads <= cpus


def test_explicit_counts_are_kept_and_bad_ones_refused():
    assert choose(3, cpus=2).max_workers == 3
    for bad in (0, -1, "4", 2.5, True):
        with pytest.raises(ValueError):
            choose(bad)


def test_run_defaults_to_auto_and_records_it(proxx, write_job, media, outdir):
    from proxxtest import job_doc

    r = proxx("run", write_job(job_doc([media("A.mov"), media("B.mov")], outdir)))
    assert r.returncode == 0, r.stderr
    workers = r.json()["timing"]["workers"]
    assert workers["requested"] == "auto" and 1 <= workers["max_workers"] <= 2
    r = proxx("run", write_job(job_doc([media("C.mov")], outdir)), "--max-workers", "2")
    assert r.json()["timing"]["workers"]["requested"] == 2
    bad = proxx("run", write_job(job_doc([media("D.mov")], outdir)), "--max-workers", "lots")
    assert bad.returncode != 0 and "lots" in bad.stderr
