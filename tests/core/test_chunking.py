"""Chunked intra encoding (proxx_core.features.chunking, proxx_core.features.chunkrun): where a clip is cut, which clips
stay whole, and that a failed, lost or short chunk fails the clip by name and never leaves a gap.

Byte identity with the single pass is tests/ffmpeg/test_chunk_bytes.py.
"""

from __future__ import annotations

import json
import os
import threading
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from proxx_core import ProxxError
from proxx_core.contract.media import FrameRate
from proxx_core.features.chunking import ChunkSpan, chunk_frames, chunk_seconds, spans, whole_reason
from proxxtest import job_doc

RATES = [
    FrameRate(num=n, den=d)
    for n, d in ((24000, 1001), (24, 1), (25, 1), (30000, 1001), (50, 1), (60000, 1001), (120, 1))
]
CHUNKED = {"PROXX_CHUNK_SECONDS": "0.4"}  # 10 frames at 25 fps: 32 frames make chunks of 10, 10, 12


@settings(max_examples=300, deadline=None)
@given(
    frames=st.integers(min_value=0, max_value=400_000),
    rate=st.sampled_from(RATES),
    seconds=st.sampled_from([0.0, 0.01, 0.4, 1.0, 2.5, 30.0, 60.0, 300.0]),
)
def test_chunks_tile_the_clip_exactly(frames, rate, seconds):
    cut = spans(frames, rate, seconds)
    assert cut == spans(frames, rate, seconds)  # pure: nothing but these three values decides
    length = chunk_frames(rate, seconds)
    if not cut:  # kept whole: shorter than two chunks (or chunking off)
        assert length == 0 or frames < 2 * length
        return
    assert len(cut) >= 2 and frames >= 2 * length
    assert [c.index for c in cut] == list(range(1, len(cut) + 1))
    assert cut[0].first_frame == 0
    for a, b in zip(cut, cut[1:], strict=False):
        assert b.first_frame == a.first_frame + a.frame_count  # no gap, no overlap
    assert cut[-1].first_frame + cut[-1].frame_count == frames
    assert all(c.frame_count == length for c in cut[:-1])
    assert length <= cut[-1].frame_count < 2 * length  # the last chunk takes the rest


def test_threshold_is_two_chunks():
    rate = FrameRate(num=25, den=1)
    assert chunk_frames(rate, 30.0) == 750
    assert spans(1499, rate, 30.0) == ()  # 59.96 s: whole
    assert spans(1500, rate, 30.0) == (
        ChunkSpan(index=1, first_frame=0, frame_count=750),
        ChunkSpan(index=2, first_frame=750, frame_count=750),
    )
    assert [c.frame_count for c in spans(2249, rate, 30.0)] == [750, 1499]
    # NTSC: whole frames of exact arithmetic, the same on every host
    assert chunk_frames(FrameRate(num=30000, den=1001), 30.0) == int(Fraction(30) * Fraction(30000, 1001))


def test_chunk_length_setting(monkeypatch):
    assert chunk_seconds({}) == 30.0
    assert chunk_seconds({"PROXX_CHUNK_SECONDS": "0"}) == 0.0
    assert chunk_seconds({"PROXX_CHUNK_SECONDS": "12.5"}) == 12.5
    for bad in ("soon", "-1", "nan", "inf"):
        with pytest.raises(ProxxError) as err:
            chunk_seconds({"PROXX_CHUNK_SECONDS": bad})
        assert "PROXX_CHUNK_SECONDS" in err.value.message and "0 to never split" in err.value.message


@pytest.fixture(scope="module")
def engines():
    from proxx_core.support.plugins import load_engines

    return load_engines()


@pytest.fixture
def long_clip(media):
    """32 frames at 25 fps: three chunks at CHUNKED's length."""
    return media("A001_C001.mov", size="320x180", rate="25/1", frames=32, audio=(2,))


def _plan(proxx, write_job, doc, env=CHUNKED):
    r = proxx("plan", write_job(doc), env_extra=env)
    assert r.returncode == 0, r.stderr
    return r.json()["clips"][0]


def test_intra_clip_is_planned_in_chunks_and_h264_stays_whole(proxx, write_job, long_clip, outdir):
    prores = _plan(proxx, write_job, job_doc([long_clip], outdir))
    assert prores["chunks"]["count"] == 3
    assert [(s["first_frame"], s["frame_count"]) for s in prores["chunks"]["spans"]] == [(0, 10), (10, 10), (20, 12)]
    assert [c["temp_path"] for c in prores["chunks"]["chunks"]] == [
        f"{prores['temp_path']}.chunk000{i}" for i in (1, 2, 3)
    ]
    assert "copy" in prores["chunks"]["join"]["commands"][0]["argv"]
    h264 = _plan(proxx, write_job, job_doc([long_clip], outdir, profile="offline_h264_1280x720"))
    assert "chunks" not in h264  # long-GOP: a cut would force an I-frame
    whole = _plan(proxx, write_job, job_doc([long_clip], outdir), env={"PROXX_CHUNK_SECONDS": "0"})
    assert "chunks" not in whole


def test_chunks_never_depend_on_the_worker_count(proxx, write_job, long_clip, tmp_path):
    seen = []
    for workers in (1, 3):
        out = tmp_path / f"w{workers}"
        out.mkdir()
        r = proxx("run", write_job(job_doc([long_clip], out)), "--max-workers", workers, env_extra=CHUNKED)
        assert r.returncode == 0, r.stderr
        clip = r.json()["clips"][0]
        seen.append((clip["chunks"], clip["output"]["sha256"]))
    assert seen[0] == seen[1] and seen[0][0]["count"] == 3


def test_op_atom_is_chunked_and_mpegts_stays_whole(proxx, write_job, long_clip, media, outdir):
    opatom = _plan(
        proxx,
        write_job,
        job_doc([long_clip], outdir, profile="offline_dnxhr_lb_1920x1080", jobspec_version="1.1.0", layout="avid_mxf"),
    )
    assert opatom["chunks"]["count"] == 3
    join = opatom["chunks"]["join"]["commands"][0]["argv"]
    assert join.count("mxf_opatom") == 3  # the video file and both audio channels' files, as the single pass
    assert all(p["temp_path"] not in join[join.index("-filter_complex") :] for p in opatom["chunks"]["chunks"])
    # no sample index: FFmpeg's seek in MPEG-TS lands frames late (the chunk's frame count would fail it)
    ts = media("T001.ts", size="320x180", rate="25/1", frames=32, video="h264_long_gop", audio=(2,))
    assert "chunks" not in _plan(proxx, write_job, job_doc([ts], outdir))


def test_burn_in_and_rotated_sources_stay_whole(proxx, write_job, long_clip, media, outdir):
    # frame-numbered text would restart in every chunk; a rotated source's display matrix is not proven
    burnt = _plan(
        proxx,
        write_job,
        job_doc([long_clip], outdir, jobspec_version="1.1.0", watermark={"text": "DAILIES {frame}", "opacity": 0.4}),
    )
    assert "chunks" not in burnt
    phone = media("P001.mov", size="320x180", rate="25/1", frames=32, video="h264", rotation=90, audio=(2,))
    assert "chunks" not in _plan(proxx, write_job, job_doc([phone], outdir))


def test_engine_without_chunk_methods_is_never_chunked(engines, media):
    from proxx_core.contract.engine import ClipRequest
    from proxx_core.contract.profiles import PROFILES

    info = engines.get("ffmpeg").probe(media("a.mov", frames=6))
    req = ClipRequest(
        index=1,
        source="/x/a.mov",
        source_info=info,
        profile=PROFILES["offline_prores_proxy_1920x1080"],
        output_path="/o/a.mov",
        temp_path="/o/.a.mov.proxx-partial",
        width=96,
        height=54,
    )
    assert whole_reason(req, engines.get("ffmpeg")) is None

    class Old:  # a 1.2 engine: no plan_chunk/plan_join
        name = "old"

    assert "does not encode chunks" in whole_reason(req, Old())


FAILING_FFMPEG = """#!/bin/sh
# the real ffmpeg, except for chunk {chunk}: {what}
case "$*" in
  *.chunk000{chunk}*) {action} ;;
esac
exec "{real}" "$@"
"""


def _wrapper(tmp_path, chunk: int, what: str, action: str) -> str:
    from proxx_engine_ffmpeg.binary import inspect_binary

    path = tmp_path / f"ffmpeg-{what.replace(' ', '-')}"
    path.write_text(FAILING_FFMPEG.format(chunk=chunk, what=what, action=action, real=inspect_binary().path))
    path.chmod(0o755)
    return str(path)


@pytest.mark.parametrize(
    "what, action, category, said",
    [
        ("crashes", "echo 'simulated crash' >&2; exit 1", "engine_failed", "chunk 2 of 3 (frames 10-19) failed"),
        (
            "loses frames",
            'set -- $(echo "$@" | sed "s/-frames:v 10/-frames:v 9/"); exec "{real}" "$@"',
            "verification_failed",
            "chunk 2 of 3 (frames 10-19) has 9 frames",
        ),
    ],
)
def test_a_failed_or_short_chunk_fails_the_clip_and_leaves_nothing(
    what, action, category, said, proxx, write_job, long_clip, outdir, tmp_path
):
    from proxx_engine_ffmpeg.binary import inspect_binary

    wrapper = _wrapper(tmp_path, 2, what, action.replace("{real}", inspect_binary().path))
    r = proxx(
        "run",
        write_job(job_doc([long_clip], outdir)),
        "--max-workers",
        2,
        env_extra={**CHUNKED, "PROXX_FFMPEG": wrapper},
    )
    assert r.returncode != 0
    clip = r.json()["clips"][0]
    assert clip["status"] == "FAILED" and clip["failure"]["category"] == category, clip["failure"]
    assert said in clip["failure"]["message"]
    assert clip["chunks"]["count"] == 3
    assert not any("join" in (c.get("argv") or [""])[0] for c in clip["commands"])
    assert os.listdir(outdir) == []  # no proxy, no chunk file, no temp


def test_a_chunk_lost_after_it_was_written_fails_the_clip(proxx, write_job, long_clip, outdir, tmp_path):
    from proxx_engine_ffmpeg.binary import inspect_binary

    real = inspect_binary().path
    # chunk 3 is written, then vanishes (a full disk cleaner, a dead NFS handle) before the join
    wrapper = _wrapper(
        tmp_path, 3, "vanishes", f'"{real}" "$@"; code=$?; rm -f "$(echo "$@" | grep -o "/[^ ]*chunk0003")"; exit $code'
    )
    r = proxx("run", write_job(job_doc([long_clip], outdir)), env_extra={**CHUNKED, "PROXX_FFMPEG": wrapper})
    clip = r.json()["clips"][0]
    assert clip["status"] == "FAILED" and clip["failure"]["category"] == "verification_failed"
    assert "chunk 3 of 3 (frames 20-31) has no readable video" in clip["failure"]["message"]
    assert os.listdir(outdir) == []


SLOW_FFMPEG = """#!/bin/sh
# the real ffmpeg; each chunk logs when it runs, and takes at least 0.6 s
case "$*" in
  *.chunk000*) echo "start $(date +%s.%N)" >> "{log}"; "{real}" "$@"; code=$?; sleep 0.6
               echo "end $(date +%s.%N)" >> "{log}"; exit $code ;;
esac
exec "{real}" "$@"
"""


@pytest.mark.parametrize("workers, overlapping", [(1, False), (2, True)])
def test_one_long_clip_fills_every_worker_slot(workers, overlapping, proxx, write_job, long_clip, outdir, tmp_path):
    from proxx_engine_ffmpeg.binary import inspect_binary

    log = tmp_path / "chunks.log"
    wrapper = tmp_path / "ffmpeg-slow"
    wrapper.write_text(SLOW_FFMPEG.format(log=log, real=inspect_binary().path))
    wrapper.chmod(0o755)
    r = proxx(
        "run",
        write_job(job_doc([long_clip], outdir)),
        "--max-workers",
        workers,
        env_extra={**CHUNKED, "PROXX_FFMPEG": str(wrapper)},
    )
    assert r.returncode == 0, r.stderr
    running = peak = 0
    for line in log.read_text().split("\n"):
        if line:
            running += 1 if line.startswith("start") else -1
            peak = max(peak, running)
    assert peak == (2 if overlapping else 1)  # never more than the slots, all of them used


def test_chunk_slots_are_shared_with_whole_clips():
    """The slots bound every encode: chunks wait for a slot a whole clip holds."""
    from proxx_core.features.chunkrun import Slots

    slots = Slots(1)
    order = []
    with slots.hold():
        future = slots.submit(lambda: order.append("chunk") or ())
        threading.Event().wait(0.2)
        order.append("whole")
    future.result(timeout=5)
    slots.close()
    assert order == ["whole", "chunk"]


def test_result_records_the_chunks(proxx, write_job, long_clip, outdir):
    from proxx_core.pipeline.serialization import load_schema

    r = proxx("run", write_job(job_doc([long_clip], outdir)), env_extra=CHUNKED)
    assert r.returncode == 0, r.stderr
    clip = r.json()["clips"][0]
    assert clip["chunks"] == {
        "seconds": 0.4,
        "count": 3,
        "spans": [
            {"index": 1, "first_frame": 0, "frame_count": 10},
            {"index": 2, "first_frame": 10, "frame_count": 10},
            {"index": 3, "first_frame": 20, "frame_count": 12},
        ],
    }
    assert sorted(os.listdir(outdir)) == ["A001_C001_proxy.mov"]
    import jsonschema

    jsonschema.validate(r.json(), load_schema("result-1.0.json"))
    assert json.dumps(clip["chunks"])
