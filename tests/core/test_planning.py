"""Step 5, planning (``proxx_core.pipeline.planning``): probe, route and plan every clip, with no side
effects; a clip no engine here can make is refused naming what to install."""

from __future__ import annotations

import attrs
import jsonschema
from test_document import _expect

from proxx_core import hookimpl
from proxx_core.support.plugins import load_engines
from proxx_engine_ffmpeg.engine import FFmpegEngine
from proxxtest import job_doc


def test_raw_source_without_resolve_names_the_package(proxx, write_job, valid, tmp_path):
    doc, _ = valid
    raw = tmp_path / "A001_C002.braw"
    raw.write_bytes(b"\x00" * 4096)
    doc["sources"] = [str(raw)]
    r = proxx("validate", write_job(doc), env_extra={"PROXX_LOAD_PLUGINS": "ffmpeg"})
    assert r.returncode == 1
    assert "proxx-engine-resolve" in r.stderr and "/sources/0" in r.stderr


def test_no_engines_names_ffmpeg_package(proxx, write_job, valid):
    doc, _ = valid
    r = proxx("validate", write_job(doc), env_extra={"PROXX_LOAD_PLUGINS": ""})
    assert r.returncode == 1
    assert "pip install ./proxx_engine_ffmpeg" in r.stderr


def test_dnxhr_refuses_frame_rate_mxf_cannot_carry(proxx, write_job, media, outdir):
    src = media("odd_rate.mov", rate="12/1")
    doc = job_doc([src], outdir, profile="offline_dnxhr_lb_1920x1080")
    _expect(proxx, write_job, doc, "/sources/0", "frame rate 12/1", "MXF")


def test_plan_is_byte_identical_across_calls(proxx, write_job, media, outdir):
    srcs = [media("A001.mov", audio=(1, 2)), media("B002.mov", rate="25/1")]
    job = write_job(job_doc(srcs, outdir, profile="offline_h264_1280x720"))
    first, second = proxx("plan", job), proxx("plan", job)
    assert first.returncode == 0, first.stderr
    assert first.stdout == second.stdout
    plan = first.json()
    assert [c["engine"] for c in plan["clips"]] == ["ffmpeg", "ffmpeg"]
    argv = plan["clips"][0]["commands"][-1]["argv"]  # the encode runs last, after the AAC pass
    assert "-threads" in argv and argv[argv.index("-threads") + 1] == "4"
    assert not list(outdir.iterdir()), "plan must not write anything"
    schema = proxx("schema", "--plan").json()
    jsonschema.Draft202012Validator(schema).validate(plan)


class BrokenPlan(FFmpegEngine):
    name = "brokenplan"

    def claim(self, info, profile):
        claim = super().claim(info, profile)
        return attrs.evolve(claim, specificity=99) if hasattr(claim, "specificity") else claim

    def plan(self, request):
        raise KeyError("profile table")


class RegistersBrokenPlan:
    __name__ = "registers_broken_plan"

    @hookimpl
    def proxx_register_engines(self, register):
        register(BrokenPlan())


def test_an_engine_whose_plan_raises_makes_a_clear_problem_not_a_traceback(media, outdir):
    from proxx_core.pipeline.check import check_document
    from proxxtest import job_doc

    engines = load_engines([RegistersBrokenPlan()], entry_points=False)
    checked = check_document(job_doc([media("A001.mov")], outdir), engines)
    assert checked.job is None and checked.exit_code == 1
    (problem,) = checked.problems
    assert problem.path == "/sources/0" and "plan() raised KeyError" in problem.message
