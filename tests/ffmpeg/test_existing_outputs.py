"""JobSpec 1.1 ``existing_outputs``: resume a job for the missing clips only, never keep a proxy that
does not verify, never replace one unless told."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time

import jsonschema

from proxx_core.pipeline.serialization import RESULT_SCHEMA, load_schema
from proxxtest import job_doc


def spec11(sources, outdir, **extra):
    return job_doc(sources, outdir, **{"jobspec_version": "1.1.0", **extra})


def _sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _finals(outdir) -> set[str]:
    return {p.name for p in outdir.iterdir() if not p.name.startswith(".")}


def test_rerun_after_an_interrupted_run_makes_only_the_missing_clips(proxx, write_job, media, outdir):
    sources = [
        media("a.mov", frames=6),
        media("b.mov", size="640x360", frames=150),
        media("c.mov", size="640x360", frames=150),
    ]
    job = write_job(spec11(sources, outdir, existing_outputs="skip_verified"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "proxx_cli", "run", "--max-workers", "1", str(job)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        stdin=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while "a_proxy.mov" not in _finals(outdir):
        assert proc.poll() is None and time.monotonic() < deadline, "the first clip never appeared"
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)  # a crash: no clean-up, a temp may stay behind
    proc.wait(timeout=30)
    made_before = {name: (os.stat(outdir / name).st_ino, _sha(outdir / name)) for name in _finals(outdir)}
    assert "c_proxy.mov" not in made_before, "the machine was too fast to interrupt the run; nothing to resume"
    stale = outdir / ".c_proxy.mov.proxx-partial"  # what a crash mid-encode leaves (nobody holds its lock)
    if not stale.exists():
        stale.write_bytes(b"half an encode")

    r = proxx("run", job)
    assert r.returncode == 0, r.stderr
    result = r.json()
    jsonschema.Draft202012Validator(load_schema(RESULT_SCHEMA)).validate(result)
    assert result["status"] == "COMPLETED"
    for clip in result["clips"]:
        name = os.path.basename(clip["output"]["path"])
        if name in made_before:
            assert clip["status"] == "SKIPPED" and clip["commands"] == []
            assert (os.stat(clip["output"]["path"]).st_ino, clip["output"]["sha256"]) == made_before[name]
            assert clip["output"]["size"] == os.path.getsize(clip["output"]["path"])
            assert clip["output"]["verification"]["ok"] and clip["output"]["verification"]["output_info"]
        else:
            assert clip["status"] == "COMPLETED" and clip["commands"]
    assert _finals(outdir) == {"a_proxy.mov", "b_proxy.mov", "c_proxy.mov"}
    assert not [p for p in outdir.iterdir() if p.name.startswith(".")], "a temp was left behind"


def test_a_damaged_existing_proxy_is_not_skipped_and_is_left_untouched(proxx, write_job, media, outdir):
    sources = [media("a.mov"), media("b.mov")]
    assert proxx("run", write_job(job_doc(sources, outdir))).returncode == 0
    damaged = outdir / "b_proxy.mov"
    data = damaged.read_bytes()
    damaged.write_bytes(data[: len(data) // 2])  # cut short, as a full disk or a killed copy leaves it
    before = damaged.read_bytes()

    r = proxx("run", write_job(spec11(sources, outdir, existing_outputs="skip_verified")))
    assert r.returncode == 3, r.stderr
    a, b = r.json()["clips"]
    assert a["status"] == "SKIPPED"
    assert b["status"] == "FAILED" and b["failure"]["category"] == "output_exists"
    assert "does not verify" in b["failure"]["message"] and "expected" in b["failure"]["message"]
    assert damaged.read_bytes() == before


def test_a_proxy_of_another_profile_is_not_skipped(proxx, write_job, media, outdir):
    """Same name, valid file, wrong raster/codec for this job: verification, not existence, decides."""
    src = media("a.mov", size="320x180")
    doc = job_doc([src], outdir, profile="offline_prores_lt_1920x1080")
    assert proxx("run", write_job(doc)).returncode == 0
    r = proxx("run", write_job(spec11([src], outdir, existing_outputs="skip_verified")))  # ProRes Proxy
    clip = r.json()["clips"][0]
    assert r.returncode == 2 and clip["failure"]["category"] == "output_exists"
    assert "codec_profile" in clip["failure"]["message"]


def test_overwrite_policy_replaces_and_fail_is_the_default(proxx, write_job, media, outdir):
    src = media("a.mov")
    assert proxx("run", write_job(spec11([src], outdir))).returncode == 0
    again = proxx("run", write_job(spec11([src], outdir)))
    assert again.returncode == 2 and again.json()["clips"][0]["failure"]["category"] == "output_exists"
    inode = os.stat(outdir / "a_proxy.mov").st_ino
    replaced = proxx("run", write_job(spec11([src], outdir, existing_outputs="overwrite")))
    assert replaced.returncode == 0 and replaced.json()["clips"][0]["status"] == "COMPLETED"
    assert os.stat(outdir / "a_proxy.mov").st_ino != inode


def test_overwrite_and_existing_outputs_together_are_refused(proxx, write_job, media, outdir):
    r = proxx("validate", write_job(spec11([media("a.mov")], outdir, overwrite=True, existing_outputs="overwrite")))
    assert r.returncode == 1
    problems = {p["path"]: p["message"] for p in json.loads(r.stdout)["problems"]}
    assert "not both" in problems["/existing_outputs"] and "remove /overwrite" in problems["/existing_outputs"]


def test_1_1_keys_in_a_1_0_spec_name_jobspec_version(proxx, write_job, media, outdir):
    for key, value in (("existing_outputs", "skip_verified"), ("unsupported_sources", "fail_clip")):
        r = proxx("validate", write_job(job_doc([media(f"{key}.mov")], outdir, **{key: value})))
        assert r.returncode == 1
        messages = [p["message"] for p in json.loads(r.stdout)["problems"] if p["path"] == "/jobspec_version"]
        assert any(f"/{key}" in m and 'set jobspec_version to "1.1.0"' in m for m in messages), messages
