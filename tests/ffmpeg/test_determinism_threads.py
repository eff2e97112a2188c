"""Intra encoders use the cores they are given: their bytes must not depend on the thread count.

The FFmpeg engine gives ProRes and DNxHR encodes the node's usable CPUs (up to 8), so the same
clip is encoded with 2 threads on a laptop and 8 on a server. This proves, for every intra profile,
that the output is byte-identical at 1, 2, 4 and 8 threads (x264 is not intra and stays pinned).
"""

from __future__ import annotations

import hashlib
import subprocess

import pytest

from proxxtest import PROFILE_CODECS, job_doc

INTRA = sorted(p for p, (codec, _) in PROFILE_CODECS.items() if codec != "h264")


def test_intra_profiles_are_not_pinned_to_a_thread_count():
    from proxx_core.support.workers import MAX_INTRA_THREADS, intra_threads

    assert [intra_threads(c) for c in (1, 2, 3, 8, 64)] == [1, 2, 3, 8, MAX_INTRA_THREADS]
    assert MAX_INTRA_THREADS == max(THREADS), "intra thread counts above the tested ones must never run"


THREADS = (1, 2, 4, 8)


@pytest.mark.parametrize("profile", INTRA)
def test_intra_bytes_identical_at_1_2_4_8_threads(profile, proxx, write_job, media, outdir):
    # enough slices and frames for every thread to get work; interlaced-free, 2 audio tracks
    src = media("A001.mov", size="640x360", rate="25/1", frames=8, audio=(2, 1))
    plan = proxx("plan", write_job(job_doc([src], outdir, profile=profile)))
    assert plan.returncode == 0, plan.stderr
    argv = plan.json()["clips"][0]["commands"][-1]["argv"]
    at = argv.index("-threads")
    hashes = {}
    for n in THREADS:
        out = outdir / f"t{n}.{PROFILE_CODECS[profile][1]}"
        run = argv[: at + 1] + [str(n)] + argv[at + 2 : -1] + ["file:" + str(out)]
        subprocess.run(run, check=True, capture_output=True, stdin=subprocess.DEVNULL, timeout=120)
        hashes[n] = hashlib.sha256(out.read_bytes()).hexdigest()
    assert len(set(hashes.values())) == 1, f"{profile}: bytes differ by thread count: {hashes}"
