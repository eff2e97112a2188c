"""Same bytes on a different CPU: every profile, native SIMD versus SIMD disabled.

Running the pinned build with ``-cpuflags 0`` is the closest this machine gets to another node's
CPU (an older x86 without AVX2, a server with AVX-512): every hand-written SIMD routine is replaced
by its C reference. A proxy whose bytes change under it would change between the nodes of a fleet.
The stand-in ffmpeg below is the real binary with ``-cpuflags 0`` in front of every command Proxx
runs, so the comparison covers the whole clip: decode, scale, video encode, audio encode, mux.
"""

from __future__ import annotations

import pytest

from proxxtest import PROFILE_CODECS, job_doc

NO_SIMD = """#!/bin/sh
exec "{real}" -cpuflags 0 "$@"
"""


@pytest.fixture(scope="module")
def no_simd_ffmpeg(tmp_path_factory):
    from proxx_engine_ffmpeg.binary import inspect_binary

    path = tmp_path_factory.mktemp("nosimd") / "ffmpeg"
    path.write_text(NO_SIMD.replace("{real}", inspect_binary().path))
    path.chmod(0o755)
    return {"PROXX_FFMPEG": str(path)}


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    from proxx_engine_ffmpeg.testmedia import make_source

    # larger than every profile's box, so the scaler really resamples; a stereo and a mono track
    # so the audio encoder runs twice with different layouts
    return make_source(
        tmp_path_factory.mktemp("media") / "A001_C001.mov",
        size="2048x1152",
        rate="25/1",
        frames=3,
        timecode="01:00:00:00",
        audio=(2, 1),
    )


@pytest.mark.parametrize("profile", sorted(PROFILE_CODECS))
def test_bytes_do_not_depend_on_simd(profile, proxx, write_job, source, tmp_path, no_simd_ffmpeg):
    src = source
    hashes = []
    for label, env in (("native", None), ("nosimd", no_simd_ffmpeg)):
        out = tmp_path / label
        out.mkdir()
        r = proxx("run", write_job(job_doc([src], out, profile=profile)), "--max-workers", 1, env_extra=env)
        assert r.returncode == 0, r.stderr
        clip = r.json()["clips"][0]
        if env:
            assert all(c["argv"][0] == env["PROXX_FFMPEG"] for c in clip["commands"])
        hashes.append(clip["output"]["sha256"])
    assert hashes[0] == hashes[1], f"{profile}: the output bytes depend on the CPU's SIMD instruction set"
