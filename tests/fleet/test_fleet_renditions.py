"""JobSpec 1.2 renditions on a fleet (proxx_fleet/units.py, task.py): real redis-server, real `proxx worker`
processes, real FFmpeg encodes. One task per work unit, so a node makes a source's renditions from one
decode exactly as `proxx run` does (the same bytes, OP-Atom files included); every rendition has its own
result; one failing its verification leaves the others published (PARTIAL, exit 3); a node lost
mid-run fails every rendition it was making, naming it; a lone chunkable rendition is chunked."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
from fleethelp import FLAKY_WORKER, STRICT_WORKER
from hypothesis import given
from hypothesis import strategies as st
from test_end_of_job import SIDECARS, SINKS, finished_calls
from test_fleet import counting_ffmpeg, runs, status, submit, wait_for_state

from proxx_core.pipeline.serialization import load_schema

pytest.importorskip("celery", reason="proxx-fleet's dependencies (celery[redis]) are not installed")

pytestmark = pytest.mark.timeout(180)

#: DNxHR LB's smallest raster is 256x120: the smallest source both profiles make
SIZE = "256x144"
DNXHR, H264_720, PRORES = "offline_dnxhr_lb_1920x1080", "offline_h264_1280x720", "offline_prores_proxy_1920x1080"


def dailies(sources, out: Path, *, job_id: str) -> dict:
    """The dailies order: DNxHR LB in avid_mxf for the edit, H.264 720p in review/ for the director."""
    return {
        "jobspec_version": "1.2.0",
        "job_id": job_id,
        "sources": [str(s) for s in sources],
        "output_dir": str(out),
        "renditions": [
            {"name": "avid", "proxy_profile": DNXHR, "layout": "avid_mxf", "output_name_template": "{source_name}"},
            {
                "name": "review",
                "proxy_profile": H264_720,
                "output_dir": str(out / "review"),
                "output_name_template": "{source_name}",
            },
        ],
    }


def folder(tmp_path: Path, name: str) -> Path:
    out = tmp_path / name
    (out / "review").mkdir(parents=True)
    return out


def tree(root: Path) -> dict[str, str]:
    """SHA-256 of every file under ``root``, by path relative to it."""
    files = (p for p in sorted(root.rglob("*")) if p.is_file())
    return {str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


@pytest.fixture
def sources(media):
    return [media("A001_C001.mov", size=SIZE, audio=(1,)), media("B001_C002.mov", size=SIZE, audio=(1,))]


def test_two_renditions_of_two_sources_on_two_workers_match_proxx_run(
    workers, fleet, proxx, sources, tmp_path, write_job
):
    """The same spec by `proxx run` and by a two-worker fleet: every file identical (OP-Atom files and
    the sidecars of the end of job included), one result per source and rendition, a source's
    renditions made by one run on one node, proxx_job_finished called once."""
    wrapper, counter = counting_ffmpeg(tmp_path, sleep=1.0)
    env = {"PROXX_FFMPEG": str(wrapper), "PROXX_LOAD_PLUGINS": SINKS}
    out = folder(tmp_path, "out")
    job = write_job({**dailies(sources, out, job_id="dailies-1"), "deliverables": list(SIDECARS)})
    r = proxx("run", job, env_extra=env)
    assert r.returncode == 0, r.stderr
    by_run, local_runs = tree(out), runs(counter)
    assert {f"dailies-1.{ext}" for ext in SIDECARS} <= set(by_run)
    shutil.rmtree(out)
    (out / "review").mkdir(parents=True)
    counter.unlink()

    calls = tmp_path / "finished.jsonl"
    for name in ("node-a", "node-b"):
        workers.start(name, plugins=SINKS, env={"PROXX_FFMPEG": str(wrapper)}, record_finished=calls)
    res = fleet("submit", job)
    assert res.returncode == 0, res.stderr
    assert "4 clip(s) queued as 2 task(s)" in res.stderr
    job_id = res.stdout.strip()
    res = fleet("wait", job_id, "--timeout", "150")
    assert res.returncode == 0, res.stderr + workers.log("node-a") + workers.log("node-b")
    result = res.json()
    jsonschema.validate(result, load_schema("result-1.0.json"))
    assert [(c["index"], c["rendition"], c["status"]) for c in result["clips"]] == [
        (1, "avid", "COMPLETED"),
        (1, "review", "COMPLETED"),
        (2, "avid", "COMPLETED"),
        (2, "review", "COMPLETED"),
    ]
    assert tree(out) == by_run, "the fleet's files are not proxx run's"
    assert len([p for p in by_run if p.endswith(".mxf")]) == 4  # V1 and A1 of each source
    assert runs(counter) == local_runs, "the fleet ran FFmpeg more often than proxx run: a second decode"
    for avid, review in (result["clips"][:2], result["clips"][2:]):
        assert avid["commands"] == review["commands"], "both record the one run that made them"
        assert avid["node"]["name"] == review["node"]["name"]
    assert {c["node"]["name"] for c in result["clips"]} == {"node-a", "node-b"}  # a source each
    assert [c["output"]["sha256"] for c in result["clips"]] == [c["output"]["sha256"] for c in r.json()["clips"]]
    assert [(d["name"], d["error"]) for d in result["deliverables"]] == [(ext, None) for ext in SIDECARS]
    assert [(c["job_id"], c["status"], c["clips"]) for c in finished_calls(calls)] == [("dailies-1", "COMPLETED", 4)]
    doc = status(fleet, job_id)
    assert doc["counts"] == {"done": 4}
    assert [(row["index"], row["rendition"]) for row in doc["clips"]] == [
        (1, "avid"),
        (1, "review"),
        (2, "avid"),
        (2, "review"),
    ]


def test_a_rendition_failing_verification_leaves_the_other_published(workers, fleet, sources, tmp_path, write_job):
    """A house rule fails every H.264 720p output on the node: the review rendition fails its own
    verification after the shared run, the avid one is published; the job is PARTIAL (exit 3)."""
    workers.start("strict", script=STRICT_WORKER)
    out = folder(tmp_path, "out")
    job_id = submit(fleet, write_job(dailies(sources[:1], out, job_id="strict-1")))
    res = fleet("wait", job_id, "--timeout", "120")
    assert res.returncode == 3, res.stderr + workers.log("strict")
    result = res.json()
    jsonschema.validate(result, load_schema("result-1.0.json"))
    assert result["status"] == "PARTIAL"
    avid, review = result["clips"]
    assert (avid["rendition"], avid["status"]) == ("avid", "COMPLETED")
    assert (review["rendition"], review["status"]) == ("review", "FAILED")
    assert review["failure"]["category"] == "verification_failed" and "house_rule" in review["failure"]["message"]
    assert "rendition 'review'" in res.stderr
    assert all(os.path.isfile(f["path"]) for f in avid["output"]["files"])
    assert not (out / "review" / "A001_C001.mp4").exists()
    assert os.path.isfile(review["output"]["kept_temp_path"])


def test_an_unexpected_error_in_a_shared_run_fails_its_renditions_as_proxx_run_does(
    workers, fleet, sources, tmp_path, write_job
):
    """A bug in the core's shared run of one source (flaky_worker.py): on a node as on `proxx run`,
    each of its renditions fails with a result of its own, in the same words (run_unit's), and the
    other source's renditions are published."""
    local = subprocess.run(
        [
            sys.executable,
            str(FLAKY_WORKER),
            "run",
            str(write_job(dailies(sources, folder(tmp_path, "run"), job_id="f"))),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert local.returncode == 3, local.stderr  # PARTIAL
    workers.start("flaky", script=FLAKY_WORKER)
    job_id = submit(fleet, write_job(dailies(sources, folder(tmp_path, "out"), job_id="f")))
    res = fleet("wait", job_id, "--timeout", "120")
    assert res.returncode == 3, res.stderr + workers.log("flaky")

    def outcomes(clips: list[dict]) -> list[tuple]:
        failures = [c["failure"] and (c["failure"]["category"], c["failure"]["message"]) for c in clips]
        return [(c["index"], c["rendition"], c["status"], f) for c, f in zip(clips, failures, strict=True)]

    clips = res.json()["clips"]
    assert outcomes(clips) == outcomes(json.loads(local.stdout)["clips"])
    bug = ("engine_failed", "internal error RuntimeError: a planted bug in the shared run; please report it")
    assert [o[2:] for o in outcomes(clips)] == [("COMPLETED", None)] * 2 + [("FAILED", bug)] * 2
    assert {c["node"]["name"] for c in clips} == {"flaky"} and clips[3]["node"]["mapped"]["source"] == str(sources[1])


def test_a_node_lost_mid_run_fails_every_rendition_it_was_making(workers, fleet, sources, tmp_path, write_job):
    wrapper, _ = counting_ffmpeg(tmp_path, sleep=6)
    proc = workers.start("only", env={"PROXX_FFMPEG": str(wrapper)})
    out = folder(tmp_path, "out")
    job_id = submit(fleet, write_job(dailies(sources[:1], out, job_id="lost-r")))
    wait_for_state(fleet, job_id, 1, "running")
    assert status(fleet, job_id)["clips"][1]["state"] == "running"  # both renditions: one run
    os.kill(proc.pid, signal.SIGKILL)
    doc = wait_for_state(fleet, job_id, 2, "lost")
    assert [row["state"] for row in doc["clips"]] == ["lost", "lost"]
    assert [entry["worker"] for entry in doc["lost_workers"]] == ["only"]
    assert doc["lost_workers"][0]["clips"] == [
        {"index": 1, "source": str(sources[0]), "rendition": "avid"},
        {"index": 1, "source": str(sources[0]), "rendition": "review"},
    ]
    res = fleet("wait", job_id, "--timeout", "30")
    assert res.returncode == 2, res.stderr
    for clip in res.json()["clips"]:
        assert clip["failure"]["category"] == "worker_lost" and "worker only" in clip["failure"]["message"]
    assert "worker only was lost" in res.stderr and "clip 1 rendition 'review'" in res.stderr


def test_a_lone_chunkable_rendition_is_chunked_on_the_fleet(workers, fleet, proxx, media, tmp_path, write_job):
    """One rendition is a lone clip: a long ProRes one is cut into chunks on the fleet, as locally,
    and joined to the single pass's bytes."""
    chunked = {"PROXX_CHUNK_SECONDS": "0.4"}  # 10 frames per chunk at 25 fps: 32 frames make 3 chunks
    source = media("A001_C001.mov", size="320x180", rate="25/1", frames=32, audio=(2,))

    def spec(out: Path) -> dict:
        rendition = {"name": "edit", "proxy_profile": PRORES, "output_name_template": "{source_name}"}
        return {"jobspec_version": "1.2.0", "sources": [str(source)], "output_dir": str(out), "renditions": [rendition]}

    single = tmp_path / "single"
    single.mkdir()
    r = proxx("run", write_job(spec(single)), env_extra={"PROXX_CHUNK_SECONDS": "0"})
    assert r.returncode == 0, r.stderr
    workers.start("node-a", env=chunked)
    workers.start("node-b", env=chunked)
    out = tmp_path / "out"
    out.mkdir()
    job_id = submit(fleet, write_job(spec(out)))
    res = fleet("wait", job_id, "--timeout", "150")
    assert res.returncode == 0, res.stderr + workers.log("node-a") + workers.log("node-b")
    clip = res.json()["clips"][0]
    assert clip["rendition"] == "edit" and clip["chunks"]["count"] == 3 and len(clip["commands"]) == 4
    assert clip["output"]["sha256"] == r.json()["clips"][0]["output"]["sha256"]


def test_submission_makes_one_task_per_source_and_engine(sources, tmp_path):
    """The FFmpeg engine makes a source's renditions in one run: one task per source, its clips
    numbered source by source, renditions in the spec's order."""
    from proxx_core.support.plugins import load_engines
    from proxx_fleet.submit import plan_submission

    sub = plan_submission(dailies(sources, folder(tmp_path, "out"), job_id="plan-1"), load_engines())
    assert not sub.problems
    assert sub.engines == ("ffmpeg",) * 4
    assert sub.tasks == ((1, 2), (3, 4))


@given(
    sources=st.integers(min_value=1, max_value=6),
    renditions=st.integers(min_value=0, max_value=4),
    engines=st.lists(st.sampled_from([None, "a", "b"]), min_size=24, max_size=24),
    together=st.frozensets(st.sampled_from(["a", "b"])),
)
def test_clip_numbers_and_tasks_cover_every_clip_once(sources, renditions, engines, together):
    from proxx_fleet.units import slot, slots, tasks

    doc: dict = {"sources": [f"/m/{i}.mov" for i in range(sources)], "proxy_profile": PRORES}
    if renditions:
        doc["renditions"] = [{"name": f"r{k}", "proxy_profile": H264_720} for k in range(renditions)]
    numbered = slots(doc)
    assert [s.number for s in numbered] == list(range(1, len(numbered) + 1))
    assert all(slot(doc, s.number) == s for s in numbered)
    assert [(s.index, s.rendition) for s in numbered] == sorted((s.index, s.rendition) for s in numbered), (
        "result order: source by source, then renditions in the spec's order (names sort so here)"
    )
    chosen = engines[: len(numbered)]
    made = tasks(doc, chosen, lambda name: name in together)
    flat = [n for t in made for n in t]
    assert sorted(flat) == [s.number for s, e in zip(numbered, chosen, strict=True) if e is not None]
    for task in made:
        assert len({slot(doc, n).index for n in task}) == 1, "a task makes one source"
        assert len({chosen[n - 1] for n in task}) == 1, "a task runs one engine"
        assert len(task) == 1 or chosen[task[0] - 1] in together
