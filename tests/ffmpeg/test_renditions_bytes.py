"""Renditions from one decode are byte-identical to single-rendition jobs: every FFmpeg profile, DNxHR
as MXF OP-Atom (every file), H.264 with two audio tracks (the AAC pass shared by the two H.264
renditions), and with SIMD disabled (``-cpuflags 0``, as tests/ffmpeg/test_determinism_simd.py does)."""

from __future__ import annotations

import json

import pytest

from proxxtest import PROFILE_CODECS

#: (rendition name, profile, layout): every profile `proxx profiles` lists, and DNxHR for Avid
RENDITIONS = [(profile, profile, "output_dir") for profile in sorted(PROFILE_CODECS)] + [
    ("avid", "offline_dnxhr_lb_1920x1080", "avid_mxf")
]

NO_SIMD = """#!/bin/sh
exec "{real}" -cpuflags 0 "$@"
"""


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    from proxx_engine_ffmpeg.testmedia import make_source

    # larger than every profile's box, so every rendition's scaler resamples; a stereo and a mono track
    return make_source(
        tmp_path_factory.mktemp("media") / "A001_C001.mov",
        size="2048x1152",
        rate="25/1",
        frames=3,
        timecode="01:00:00:00",
        audio=(2, 1),
    )


def _doc(source, **keys):
    return {"jobspec_version": "1.2.0", "sources": [str(source)], **keys}


def _digests(clip):
    """Every file of a clip's output: the OP-Atom files one by one, else the one file."""
    out = clip["output"]
    return [f["sha256"] for f in out["files"]] if out.get("files") else [out["sha256"]]


@pytest.fixture(scope="module")
def single(source, tmp_path_factory):
    """Each rendition's bytes made by a single-rendition job of its own."""
    from proxxtest import run_cli

    root = tmp_path_factory.mktemp("single")
    digests = {}
    for name, profile, layout in RENDITIONS:
        out = root / name
        out.mkdir()
        job = root / f"{name}.json"
        job.write_text(
            json.dumps(
                _doc(
                    source,
                    output_dir=str(out),
                    proxy_profile=profile,
                    layout=layout,
                    output_name_template="{source_name}",
                )
            )
        )
        r = run_cli("run", job, "--max-workers", 1)
        assert r.returncode == 0, r.stderr
        digests[name] = _digests(r.json()["clips"][0])
    return digests


def _renditions_run(source, root, proxx, write_job, env=None):
    renditions = []
    for name, profile, layout in RENDITIONS:
        (root / name).mkdir(parents=True)
        renditions.append(
            {
                "name": name,
                "proxy_profile": profile,
                "layout": layout,
                "output_dir": str(root / name),
                "output_name_template": "{source_name}",
            }
        )
    r = proxx("run", write_job(_doc(source, renditions=renditions)), "--max-workers", 1, env_extra=env)
    assert r.returncode == 0, r.stderr
    return r.json()["clips"]


def test_renditions_are_the_single_jobs_bytes(source, single, proxx, write_job, tmp_path):
    clips = _renditions_run(source, tmp_path / "together", proxx, write_job)
    assert {c["rendition"]: _digests(c) for c in clips} == single
    commands = clips[0]["commands"]
    assert all(c["commands"] == commands for c in clips), "one run made every rendition"
    encodes = [c for c in commands if "-cpuflags" not in c["argv"]]
    assert len(encodes) == 1 and encodes[0]["argv"].count("file:" + str(source)) == 1, "one decode of the source"
    audio_passes = [c for c in commands if "-cpuflags" in c["argv"]]
    assert len(audio_passes) == 1, "the two H.264 renditions share one AAC pass"


def test_renditions_without_simd_are_the_single_jobs_bytes(source, single, proxx, write_job, tmp_path):
    from proxx_engine_ffmpeg.binary import inspect_binary

    wrapper = tmp_path / "ffmpeg"
    wrapper.write_text(NO_SIMD.replace("{real}", inspect_binary().path))
    wrapper.chmod(0o755)
    clips = _renditions_run(source, tmp_path / "together", proxx, write_job, env={"PROXX_FFMPEG": str(wrapper)})
    assert all(c["commands"][-1]["argv"][0] == str(wrapper) for c in clips)
    assert {c["rendition"]: _digests(c) for c in clips} == single


def test_renditions_with_a_look_and_burn_in_are_the_single_jobs_bytes(source, proxx, write_job, tmp_path):
    """The look's files (a saturation LUT per rendition) and the burn-in are each rendition's own."""
    extra = {
        "look": {
            "cdl": {"slope": [1.1, 1.0, 0.9], "offset": [0.0, 0.01, 0.0], "power": [1.0, 1.0, 1.0], "saturation": 0.37}
        },
        "burn_in": [{"text": "{timecode} {source_name}", "position": "bottom_left"}],
    }
    chosen = [("prores", "offline_prores_proxy_1920x1080"), ("review", "offline_h264_1280x720")]
    single = {}
    for name, profile in chosen:
        out = tmp_path / "single" / name
        out.mkdir(parents=True)
        r = proxx(
            "run",
            write_job(
                _doc(source, output_dir=str(out), proxy_profile=profile, output_name_template="{source_name}", **extra)
            ),
            "--max-workers",
            1,
        )
        assert r.returncode == 0, r.stderr
        single[name] = _digests(r.json()["clips"][0])
    renditions = []
    for name, profile in chosen:
        (tmp_path / "together" / name).mkdir(parents=True)
        renditions.append(
            {
                "name": name,
                "proxy_profile": profile,
                "output_dir": str(tmp_path / "together" / name),
                "output_name_template": "{source_name}",
            }
        )
    r = proxx("run", write_job(_doc(source, renditions=renditions, **extra)), "--max-workers", 1)
    assert r.returncode == 0, r.stderr
    clips = r.json()["clips"]
    assert len([c for c in clips[0]["commands"] if "-cpuflags" not in c["argv"]]) == 1, "one decode"
    assert {c["rendition"]: _digests(c) for c in clips} == single
    assert sorted(p.name for p in (tmp_path / "together" / "review").iterdir()) == ["A001_C001.mp4"], "no scratch left"
