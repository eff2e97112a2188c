"""Chunked intra encoding makes the single pass's file, byte for byte (proxx_core.features.chunking).

Every intra profile, from an intra source (ProRes in MOV, DNxHR in MXF) and a long-GOP one (H.264 with
B-frames, so every chunk but the first seeks to a keyframe before its first frame and discards), with
and without audio, interlaced, and with SIMD off (``-cpuflags 0``, another CPU's bytes). The chunk
length is a fraction of a second here so a clip of a second splits into three chunks, the last one
longer (it takes the rest).
"""

from __future__ import annotations

import os

import pytest

from proxxtest import job_doc

INTRA_PROFILES = ("offline_prores_proxy_1920x1080", "offline_prores_lt_1920x1080", "offline_dnxhr_lb_1920x1080")
#: 10 frames per chunk at 25 fps (32 frames: 10, 10, 12), 9 at 24000/1001 (9, 9, 14), 11 at 30000/1001 (11, 21)
CHUNKED = {"PROXX_CHUNK_SECONDS": "0.4"}
WHOLE = {"PROXX_CHUNK_SECONDS": "0"}

SOURCES = {
    # intra, two audio streams of different widths, timecode and reel name
    "prores_mov": dict(name="A001_C001.mov", video="prores_hq", rate="25/1", audio=(2, 1), reel="A001"),
    # long-GOP with B-frames at NTSC rate: seeks land on earlier keyframes
    "h264_long_gop": dict(name="B001_C001.mov", video="h264_long_gop", rate="24000/1001", audio=(2,)),
    # no audio at all
    "silent": dict(name="C001_C001.mov", video="prores_hq", rate="25/1", audio=()),
    # DNxHR in MXF (Avid media as a source), timestamps from the MXF demuxer
    "dnxhr_mxf": dict(name="D001_C001.mxf", video="dnxhr_hq", rate="25/1", audio=(1, 1)),
    # interlaced, top field first
    "interlaced": dict(name="E001_C001.mov", video="prores_hq", rate="30000/1001", audio=(2,), field_order="tt"),
    # NTSC drop-frame timecode in MXF, whose time base (1001/30000) is not a MOV track's
    "ntsc_df_mxf": dict(name="F001_C001.mxf", video="dnxhr_hq", rate="30000/1001", audio=(1,), timecode="01:00:00;00"),
}


@pytest.fixture(scope="module")
def sources(tmp_path_factory):
    from proxx_engine_ffmpeg.testmedia import make_source

    root = tmp_path_factory.mktemp("chunk_media")
    return {
        key: make_source(
            root / kw["name"],
            size="320x180",
            frames=32,
            **{"timecode": "01:00:00:00", **{k: v for k, v in kw.items() if k != "name"}},
        )
        for key, kw in SOURCES.items()
    }


@pytest.fixture(scope="module")
def no_simd_ffmpeg(tmp_path_factory):
    from proxx_engine_ffmpeg.binary import inspect_binary

    path = tmp_path_factory.mktemp("nosimd_chunks") / "ffmpeg"
    path.write_text(f'#!/bin/sh\nexec "{inspect_binary().path}" -cpuflags 0 "$@"\n')
    path.chmod(0o755)
    return str(path)


def _run(proxx, write_job, tmp_path, label, source, profile, env):
    out = tmp_path / label
    out.mkdir()
    r = proxx("run", write_job(job_doc([source], out, profile=profile)), "--max-workers", 2, env_extra=env)
    assert r.returncode == 0, r.stderr
    clip = r.json()["clips"][0]
    assert clip["status"] == "COMPLETED", clip["failure"]
    return clip


@pytest.mark.parametrize("source_kind", sorted(SOURCES))
@pytest.mark.parametrize("profile", INTRA_PROFILES)
def test_chunked_file_is_the_single_pass_file(profile, source_kind, sources, proxx, write_job, tmp_path):
    if profile.startswith("offline_dnxhr") and source_kind == "interlaced":
        pytest.skip("FFmpeg's DNxHR has no interlaced mode: the job is refused at validate")
    whole = _run(proxx, write_job, tmp_path, "whole", sources[source_kind], profile, WHOLE)
    chunked = _run(proxx, write_job, tmp_path, "chunked", sources[source_kind], profile, CHUNKED)
    assert whole["chunks"] is None and len(whole["commands"]) == 1
    spans = [s["frame_count"] for s in chunked["chunks"]["spans"]]
    assert spans in ([10, 10, 12], [9, 9, 14], [11, 21])
    assert len(chunked["commands"]) == len(spans) + 1  # the chunks, then the join
    assert chunked["output"]["sha256"] == whole["output"]["sha256"], (
        f"{profile} from {source_kind}: the joined chunks differ from the single pass"
    )


@pytest.mark.parametrize("profile", INTRA_PROFILES)
def test_chunked_without_simd_is_the_native_single_pass_file(
    profile, sources, proxx, write_job, tmp_path, no_simd_ffmpeg
):
    whole = _run(proxx, write_job, tmp_path, "whole", sources["prores_mov"], profile, WHOLE)
    chunked = _run(
        proxx,
        write_job,
        tmp_path,
        "nosimd",
        sources["prores_mov"],
        profile,
        {**CHUNKED, "PROXX_FFMPEG": no_simd_ffmpeg},
    )
    assert chunked["chunks"]["count"] == 3
    assert all(c["argv"][0] == no_simd_ffmpeg for c in chunked["commands"])
    assert chunked["output"]["sha256"] == whole["output"]["sha256"]


@pytest.mark.parametrize("source_kind", ["prores_mov", "h264_long_gop", "silent", "ntsc_df_mxf"])
def test_chunked_op_atom_clip_is_the_single_pass_clip(source_kind, sources, proxx, write_job, tmp_path):
    """Layout avid_mxf: the video file and every audio channel's file, after the package ids and the
    master clip are written, byte-identical to the single pass's."""

    def files(label, env):
        out = tmp_path / label
        out.mkdir()
        doc = job_doc(
            [sources[source_kind]],
            out,
            profile="offline_dnxhr_lb_1920x1080",
            jobspec_version="1.1.0",
            layout="avid_mxf",
        )
        r = proxx("run", write_job(doc), env_extra=env)
        assert r.returncode == 0, r.stderr
        clip = r.json()["clips"][0]
        assert clip["status"] == "COMPLETED", clip["failure"]
        output = clip["output"]  # ``files`` lists every file when there is audio; else the video file alone
        listed = output["files"] or [{"kind": "video", "path": output["path"], "sha256": output["sha256"]}]
        return clip, [(f["kind"], os.path.basename(f["path"]), f["sha256"]) for f in listed]

    whole, whole_files = files("whole", WHOLE)
    chunked, chunked_files = files("chunked", CHUNKED)
    assert whole["chunks"] is None and chunked["chunks"]["count"] >= 2
    assert chunked_files == whole_files
