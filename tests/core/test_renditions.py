"""JobSpec 1.2 renditions: validation names the rendition's field and the fix, each rendition is routed,
planned, verified and published as its single-rendition job would be, and one failing never loses the
others (the job is PARTIAL, exit 3)."""

from __future__ import annotations

import json
import os

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxx_core.contract.profiles import PROFILES
from proxx_core.contract.results import EXIT_PARTIAL, PARTIAL
from proxx_core.pipeline.check import check_document
from proxx_core.pipeline.runner import run_job
from proxx_core.pipeline.serialization import RESULT_SCHEMA, load_schema, to_data
from proxx_core.support.plugins import load_engines

#: DNxHR LB's smallest raster is 256x120: the smallest source all three profiles make
DNXHR_SIZE = "256x144"
DNXHR, H264_720, PRORES = "offline_dnxhr_lb_1920x1080", "offline_h264_1280x720", "offline_prores_proxy_1920x1080"


@pytest.fixture(scope="module")
def engines():
    return load_engines()


def spec(sources, output_dir, *renditions, **extra):
    return {
        "jobspec_version": "1.2.0",
        "sources": [str(s) for s in sources],
        "output_dir": str(output_dir),
        "renditions": list(renditions),
        **extra,
    }


def avid(**kw):
    return {"name": "avid", "proxy_profile": DNXHR, "layout": "avid_mxf", "output_name_template": "{source_name}", **kw}


def review(folder, **kw):
    return {
        "name": "review",
        "proxy_profile": H264_720,
        "output_dir": str(folder),
        "output_name_template": "{source_name}",
        **kw,
    }


def source(media):
    return media("A.mov", size=DNXHR_SIZE)


def problems(doc, engines):
    checked = check_document(doc, engines)
    assert checked.job is None, "the spec was accepted"
    return {p.path: p.message for p in checked.problems}


@pytest.fixture
def review_dir(outdir):
    folder = outdir / "review"
    folder.mkdir()
    return folder


def test_a_dailies_order_validates_and_plans_one_decode(media, outdir, review_dir, engines):
    src = media("A001_C001.mov", audio=(2, 1), size=DNXHR_SIZE)
    checked = check_document(spec([src], outdir, avid(), review(review_dir)), engines)
    assert checked.job is not None, checked.problems
    job = checked.job
    assert [(c.index, c.rendition, c.plan.request.profile.name) for c in job.clips] == [
        (1, "avid", DNXHR),
        (1, "review", H264_720),
    ]
    assert job.clips[0].plan.request.output_path.startswith(str(outdir / "Avid MediaFiles" / "MXF" / "1"))
    assert job.clips[1].plan.request.output_path == str(review_dir / "A001_C001.mp4")
    (together,) = job.together
    assert together.members == tuple(c.plan for c in job.clips)
    decodes = [c for c in together.commands if c.argv.count("file:" + str(src)) and "-cpuflags" not in c.argv]
    assert len(decodes) == 1, "one process decodes the source for both renditions"


@pytest.mark.parametrize("key", ["proxy_profile", "output_name_template", "layout", "raster", "codec"])
def test_both_forms_at_once_are_refused(key, media, outdir, review_dir, engines):
    value = {
        "proxy_profile": PRORES,
        "output_name_template": "{source_name}",
        "layout": "output_dir",
        "raster": "fit",
        "codec": "prores",
    }[key]
    found = problems(spec([source(media)], outdir, avid(), review(review_dir), **{key: value}), engines)
    assert f"/{key}" in found and "renditions" in found[f"/{key}"]


def test_names_are_unique_case_insensitively(media, outdir, review_dir, engines):
    found = problems(spec([source(media)], outdir, avid(), review(review_dir, name="AVID")), engines)
    assert "/renditions/1/name" in found and "/renditions/0" in found["/renditions/1/name"]


def test_a_rendition_field_is_named_with_its_fix(media, outdir, review_dir, engines):
    found = problems(
        spec([source(media)], outdir, avid(), review(review_dir, proxy_profile="offline_h264_720", colour="rec709")),
        engines,
    )
    assert "/renditions/1/colour" in found and "proxy_profile" in found["/renditions/1/colour"]
    assert "sources" not in found["/renditions/1/colour"], "the rendition's own keys, not the job's, are listed"
    assert "/renditions/1/proxy_profile" in found and "proxx profiles" in found["/renditions/1/proxy_profile"]


def test_a_rendition_is_checked_as_its_single_job(media, outdir, engines):
    found = problems(
        spec([source(media)], outdir, avid(proxy_profile=H264_720), review(outdir / "missing", raster="half")), engines
    )
    assert "avid_mxf" in found["/renditions/0/layout"]
    assert "/renditions/1/output_dir" in found


def test_renditions_need_jobspec_1_2(media, outdir, review_dir, engines):
    doc = spec([source(media)], outdir, avid(), review(review_dir), jobspec_version="1.1.0")
    assert "1.2.0" in problems(doc, engines)["/jobspec_version"]


def test_two_renditions_writing_one_file_are_refused(media, outdir, engines):
    doc = spec(
        [source(media)],
        outdir,
        {"name": "a", "proxy_profile": H264_720, "output_name_template": "x"},
        {"name": "b", "proxy_profile": "offline_h264_1920x1080", "output_name_template": "X"},
    )
    found = problems(doc, engines)
    assert (
        "/renditions/1/output_name_template" in found and "/renditions/0" in found["/renditions/1/output_name_template"]
    )


def test_a_rendition_never_replaces_a_source(media, engines):
    src = source(media)
    doc = spec(
        [src],
        src.parent,
        {"name": "a", "proxy_profile": PRORES, "output_name_template": "{source_name}"},
        {"name": "b", "proxy_profile": H264_720, "output_name_template": "{source_name}_r"},
    )
    found = problems(doc, engines)
    assert "/renditions/0/output_name_template" in found and "replace" in found["/renditions/0/output_name_template"]


def test_an_unroutable_rendition_names_itself(media, outdir, engines):
    src = media("wide.mov", audio=(10,))  # AAC carries 8 channels: the H.264 rendition cannot be made
    doc = spec(
        [src],
        outdir,
        {"name": "edit", "proxy_profile": PRORES, "output_name_template": "{source_name}"},
        {"name": "review", "proxy_profile": H264_720, "output_name_template": "{source_name}_r"},
    )
    found = problems(doc, engines)
    assert list(found) == ["/sources/0"] and "'review'" in found["/sources/0"]
    assert "8 channels" in found["/sources/0"]


def _run(doc, engines):
    checked = check_document(doc, engines)
    assert checked.job is not None, checked.problems
    return checked.job, run_job(checked.job, engines)


def test_results_name_each_rendition_and_validate(media, outdir, review_dir, engines):
    src = media("A001_C001.mov", audio=(2, 1), size=DNXHR_SIZE)
    job, result = _run(spec([src], outdir, avid(), review(review_dir)), engines)
    assert result.exit_code == 0, [c.failure for c in result.clips]
    data = json.loads(json.dumps(to_data(result)))
    jsonschema.Draft202012Validator(load_schema(RESULT_SCHEMA)).validate(data)
    assert [(c["index"], c["rendition"], c["profile"], c["status"]) for c in data["clips"]] == [
        (1, "avid", DNXHR, "COMPLETED"),
        (1, "review", H264_720, "COMPLETED"),
    ]
    assert data["clips"][0]["commands"] == data["clips"][1]["commands"], "both record the one run that made them"
    assert len(data["clips"][0]["output"]["files"]) == 4  # V1 and three audio channels
    assert os.path.isfile(review_dir / "A001_C001.mp4")


def test_one_rendition_failing_keeps_the_others(media, outdir, review_dir, engines):
    """A rendition whose final name is taken fails alone; the others are still made together (planned
    again without it), verified and published: the job is PARTIAL, exit 3."""
    src = media("A001_C001.mov", audio=(1,), size=DNXHR_SIZE)
    taken = review_dir / "A001_C001.mp4"
    taken.write_bytes(b"someone else's file")
    prores = {"name": "edit", "proxy_profile": PRORES, "output_name_template": "{source_name}"}
    job, result = _run(spec([src], outdir, avid(), review(review_dir), prores), engines)
    assert (result.status, result.exit_code) == (PARTIAL, EXIT_PARTIAL)
    by_name = {c.rendition: c for c in result.clips}
    assert by_name["review"].status == "FAILED" and by_name["review"].failure.category == "output_exists"
    assert taken.read_bytes() == b"someone else's file"
    for name in ("avid", "edit"):
        clip = by_name[name]
        assert clip.status == "COMPLETED" and clip.output.verification.ok
        assert os.path.isfile(clip.output.path)
    assert by_name["avid"].commands == by_name["edit"].commands
    argv = by_name["edit"].commands[-1]["argv"]  # one process made both, without the one that failed
    made = {c.plan.request.temp_path for c in job.clips if c.rendition != "review"}
    assert made <= {a.removeprefix("file:") for a in argv} and not any("review" in a for a in argv)


def test_a_storage_error_escaping_a_shared_run_is_each_renditions_own_io_error(
    monkeypatch, media, outdir, review_dir, engines
):
    """An OSError nobody caught in a source's shared run (runner.run_unit): every rendition of it gets
    a result of its own, io_error naming the file, and the job's other source is still made."""
    import errno

    from proxx_core.pipeline import runner

    real = runner.run_together

    def flaky(plan, clips, *a, **kw):
        if clips[0].index == 1:
            raise OSError(errno.EIO, "Input/output error", "/mnt/raid/A001_C001.mov")
        return real(plan, clips, *a, **kw)

    monkeypatch.setattr(runner, "run_together", flaky)
    sources = [media("A001_C001.mov", size=DNXHR_SIZE), media("B001_C002.mov", size=DNXHR_SIZE)]
    _job, result = _run(spec(sources, outdir, avid(), review(review_dir)), engines)
    assert [(c.index, c.rendition, c.status) for c in result.clips] == [
        (1, "avid", "FAILED"),
        (1, "review", "FAILED"),
        (2, "avid", "COMPLETED"),
        (2, "review", "COMPLETED"),
    ]
    for clip in result.clips[:2]:
        assert clip.failure.category == "io_error"
        assert clip.failure.message == "/mnt/raid/A001_C001.mov: Input/output error"
    assert result.exit_code == 4


def test_a_verification_failure_of_one_rendition_keeps_the_other(media, outdir, review_dir, engines):
    """After the shared run each rendition is judged alone: one failing a check is kept for inspection
    under its temp name, the other is published."""
    from proxx_core import hookimpl
    from proxx_core.contract.engine import Check

    class FailReview:
        @hookimpl
        def proxx_clip_checks(self, plan, output_info):
            bad = plan.request.profile.name == H264_720
            return (Check(name="house_rule", expected="ok", actual="bad" if bad else "ok", ok=not bad),)

    strict = load_engines([FailReview()])
    src = media("A001_C001.mov", audio=(1,), size=DNXHR_SIZE)
    prores = {"name": "edit", "proxy_profile": PRORES, "output_name_template": "{source_name}"}
    job, result = _run(spec([src], outdir, prores, review(review_dir)), strict)
    assert job.together
    edit, rev = result.clips
    assert (edit.status, rev.status, result.exit_code) == ("COMPLETED", "FAILED", EXIT_PARTIAL)
    assert rev.failure.category == "verification_failed" and "house_rule" in rev.failure.message
    assert os.path.isfile(edit.output.path) and not os.path.exists(review_dir / "A001_C001.mp4")
    assert os.path.isfile(rev.output.kept_temp_path)


def test_an_interrupted_job_reports_every_rendition(tmp_path, review_dir, outdir):
    """Watch-folder recovery builds the result from the spec alone: one entry per source and
    rendition, each at its rendition's final name, noting what a dead run left there."""
    from proxx_core.pipeline.results import interrupted

    sources = [str(tmp_path / "A001.mov"), str(tmp_path / "A002.mov")]
    (review_dir / ".A002.mp4.proxx-partial").write_bytes(b"half")
    doc = spec(
        sources,
        outdir,
        {"name": "edit", "proxy_profile": PRORES, "output_name_template": "{source_name}"},
        review(review_dir),
    )
    clips = interrupted(doc, "owner died").clips
    assert [(c.index, c.rendition, c.profile, c.output.path) for c in clips] == [
        (1, "edit", PRORES, str(outdir / "A001.mov")),
        (1, "review", H264_720, str(review_dir / "A001.mp4")),
        (2, "edit", PRORES, str(outdir / "A002.mov")),
        (2, "review", H264_720, str(review_dir / "A002.mp4")),
    ]
    assert clips[3].output.kept_temp_path == str(review_dir / ".A002.mp4.proxx-partial")
    assert all(c.failure.category == "interrupted" for c in clips)


TEMPLATES = ["{source_name}", "{source_name}_{profile}", "proxy", "{index}", "Proxy"]


@pytest.fixture(scope="module")
def two_sources(tmp_path_factory):
    from proxx_engine_ffmpeg.testmedia import make_source

    root = tmp_path_factory.mktemp("media")
    out = tmp_path_factory.mktemp("out")
    (out / "review").mkdir()
    return [make_source(root / n, size=DNXHR_SIZE, frames=2, audio=(1,)) for n in ("A001.mov", "A002.mov")], out


renditions_strategy = st.lists(
    st.fixed_dictionaries(
        {
            "name": st.sampled_from(["a", "b", "A", "review"]),
            "proxy_profile": st.sampled_from(sorted(PROFILES)),
            "output_name_template": st.sampled_from(TEMPLATES),
            "layout": st.sampled_from(["output_dir", "avid_mxf"]),
            "sub": st.booleans(),
        }
    ),
    min_size=1,
    max_size=3,
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(renditions_strategy)
def test_an_accepted_spec_never_writes_one_file_twice(two_sources, engines, renditions):
    """Whatever renditions a spec lists, validate either refuses it at /renditions/... or /sources/...,
    or accepts a job whose renditions have distinct names and never share a file or touch a source."""
    sources, out = two_sources
    listed = [
        {**{k: v for k, v in r.items() if k != "sub"}, **({"output_dir": str(out / "review")} if r["sub"] else {})}
        for r in renditions
    ]
    checked = check_document(spec(sources, out, *listed), engines)
    if checked.job is None:
        assert all(p.path.startswith(("/renditions/", "/sources/")) for p in checked.problems), checked.problems
        return
    names = [r["name"].lower() for r in renditions]
    assert len(set(names)) == len(names)
    files = [name_key(p) for c in checked.job.clips for p in _all_files(c.plan.request)]
    assert len(set(files)) == len(files)
    assert not {name_key(str(s)) for s in sources} & set(files)
    assert len(checked.job.clips) == len(sources) * len(renditions)


def _all_files(req):
    return (req.output_path, req.temp_path, *(p for t in req.extra_outputs for p in (t.path, t.temp_path)))


def name_key(path):
    from proxx_core.io.writegate import name_key as key

    return os.path.dirname(path), key(os.path.basename(path))


def test_a_failed_shared_run_fails_its_renditions_only(media, outdir, review_dir, proxx, write_job, tmp_path):
    """The run that makes a source's renditions crashes: every rendition of that source fails with the
    engine's error and leaves no file; the other source's renditions are made (PARTIAL, exit 3)."""
    import sys
    from pathlib import Path

    from proxx_engine_ffmpeg.binary import inspect_binary

    sys.path.insert(0, str(Path(__file__).parent.parent / "ffmpeg"))
    from test_failures import WRAPPER  # the stand-in ffmpeg that provokes real failures

    fake = tmp_path / "bin" / "ffmpeg"
    fake.parent.mkdir()
    fake.write_text(WRAPPER.replace("{real}", inspect_binary().path).replace("{fmt}", "mov"))
    fake.chmod(0o755)
    bad, good = media("fail-me.mov", size=DNXHR_SIZE), media("good.mov", size=DNXHR_SIZE)
    prores = {"name": "edit", "proxy_profile": PRORES, "output_name_template": "{source_name}"}
    r = proxx(
        "run",
        write_job(spec([bad, good], outdir, prores, review(review_dir))),
        "--max-workers",
        1,
        env_extra={"PROXX_FFMPEG": str(fake)},
    )
    assert r.returncode == EXIT_PARTIAL, r.stderr
    clips = r.json()["clips"]
    assert [(c["index"], c["rendition"], c["status"]) for c in clips] == [
        (1, "edit", "FAILED"),
        (1, "review", "FAILED"),
        (2, "edit", "COMPLETED"),
        (2, "review", "COMPLETED"),
    ]
    for failed in clips[:2]:
        assert failed["failure"]["category"] == "engine_failed"
        assert "simulated encoder crash" in failed["failure"]["message"]
    assert sorted(p.name for p in outdir.iterdir()) == ["good.mov", "review"]
    assert sorted(p.name for p in review_dir.iterdir()) == ["good.mp4"]


def test_the_plan_lists_the_shared_run_and_validates(media, outdir, review_dir, engines):
    from proxx_core.pipeline.serialization import PLAN_SCHEMA, plan_document

    checked = check_document(spec([source(media)], outdir, avid(), review(review_dir)), engines)
    plan = json.loads(json.dumps(plan_document(checked.job, [engines.identity("ffmpeg")])))
    jsonschema.Draft202012Validator(load_schema(PLAN_SCHEMA)).validate(plan)
    assert [c["rendition"] for c in plan["clips"]] == ["avid", "review"]
    (together,) = plan["together"]
    assert together["renditions"] == ["avid", "review"] and together["index"] == 1
    assert together["commands"] == [to_data(c) for c in checked.job.together[0].commands]


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)
rendition_like = st.fixed_dictionaries(
    {},
    optional={
        "name": json_values | st.sampled_from(["a", "b"]),
        "proxy_profile": json_values | st.sampled_from(sorted(PROFILES)),
        "output_name_template": json_values | st.just("{source_name}"),
        "layout": json_values,
        "raster": json_values,
        "output_dir": json_values,
    },
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(rendition_like | json_values, max_size=3) | json_values)
def test_any_renditions_value_is_answered_never_raised(two_sources, engines, renditions):
    """Whatever JSON stands under /renditions, validation answers with problems naming fields (never an
    exception), and a watch folder's recovery still builds a result from the spec."""
    from proxx_core.pipeline.results import interrupted

    sources, out = two_sources
    doc = spec(sources, out)
    doc["renditions"] = renditions
    checked = check_document(doc, engines)
    assert checked.job is not None or all(p.path.startswith("/") for p in checked.problems)
    interrupted(doc, "owner died")


def test_progress_events_start_the_run_once_and_end_each_rendition(media, outdir, review_dir, engines):
    """Displays key a clip by its index, which a source's renditions share: one start per run, a done
    per rendition (proxx_cli.progress, the watch folder's live file)."""
    checked = check_document(spec([source(media)], outdir, avid(), review(review_dir)), engines)
    seen = []
    run_job(checked.job, engines, events=seen.append)
    assert [(e.event, e.index) for e in seen if e.event != "progress"] == [("start", 1), ("done", 1), ("done", 1)]
