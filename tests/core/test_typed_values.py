"""Typed from the edge: a JobSpec document is built once into typed values (``specvalues.DraftSpec``),
each key its value or an ``Invalid`` marker; the checks after it take those values, and steps pass
source indexes as ints (``Problem.source_index``), never parsing a JSON pointer back.

Fixed vocabularies are ``StrEnum`` s: each member equals its JSON string, so results keep their bytes.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxx_core.features.burnin import burn_in_problems
from proxx_core.pipeline.check import check_document, static_problems
from proxx_core.pipeline.document import JobSpec, document_problems, read_spec, structure
from proxx_core.pipeline.preflight import disk_problems
from proxx_core.rules.naming import name_problems
from proxx_core.support.specvalues import Invalid, LookSpec, RequiredBuilds, draft_of
from proxxtest import job_doc

FAST = settings(
    max_examples=120,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


# ------------------------------------------------------------------------------ typed values


def test_a_valid_spec_is_typed_values_not_dicts(tmp_path):
    doc = job_doc(
        ["/m/a.mov"],
        tmp_path,
        profile="offline_dnxhr_lb_1920x1080",
        jobspec_version="1.1.0",
        layout="avid_mxf",
        raster="half",
        existing_outputs="skip_verified",
        unsupported_sources="fail_clip",
        look={"lut": "/l.cube", "cdl": {"slope": [1, 1, 1], "offset": [0, 0, 0], "power": [1, 1, 1]}},
        burn_in=[{"text": "{timecode}", "position": "top_left"}],
        watermark={"text": "W", "opacity": 0.5},
        require_builds={"ffmpeg": "a" * 64},
    )
    from proxx_core import ExistingOutputs, FpsMode, Layout, Raster, UnsupportedSources

    spec = structure(doc)
    assert spec.layout is Layout.AVID_MXF and spec.raster is Raster.HALF and spec.fps_mode is FpsMode.PRESERVE_SOURCE
    assert spec.existing_outputs is ExistingOutputs.SKIP_VERIFIED
    assert spec.unsupported_sources is UnsupportedSources.FAIL_CLIP
    assert isinstance(spec.look, LookSpec) and spec.look.lut == "/l.cube" and spec.look.cdl.slope == (1.0, 1.0, 1.0)
    assert spec.burn_in[0].size == 0.04 and spec.watermark.size == 0.08 and spec.watermark.opacity == 0.5
    assert isinstance(spec.require_builds, RequiredBuilds) and spec.require_builds.get("ffmpeg") == "a" * 64


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("sources", "/m/a.mov"),
        ("layout", 5),
        ("look", "grade.cube"),
        ("burn_in", {"text": "x"}),
        ("overwrite", "yes"),
        ("engine", 3),
    ],
)
def test_a_value_of_the_wrong_type_is_an_invalid_marker_and_the_spec_is_never_built(tmp_path, key, value):
    draft = draft_of({**job_doc(["/m/a.mov"], tmp_path), key: value})
    assert getattr(draft, key) == Invalid(value)
    with pytest.raises(ValueError):
        JobSpec.of(draft)


def test_checks_given_an_invalid_marker_report_nothing_twice(tmp_path):
    """The schema words the problem once; the checks that need the key skip it."""
    doc = {
        **job_doc([], tmp_path, jobspec_version="1.1.0", burn_in="{nope}", watermark=["{nope}"], look="/missing.cube"),
        "sources": "/m/a.mov",
    }
    draft, problems = read_spec(doc)
    assert burn_in_problems(draft.burn_in, draft.watermark) == []
    assert disk_problems(draft) == [] and name_problems(draft, job_id="j") == []
    assert sorted(p.path for p in problems) == ["/burn_in", "/look", "/sources", "/watermark"], problems


def test_a_missing_required_key_is_invalid_and_its_checks_skip_it(tmp_path):
    doc = job_doc(["/m/a.mov"], tmp_path)
    del doc["output_name_template"]
    draft, problems = read_spec(doc)
    assert isinstance(draft.sources, tuple) and draft.output_name_template is None
    assert "output_name_template" in draft.flawed and [p.path for p in problems] == ["/output_name_template"]


def test_an_unknown_key_spelt_like_a_known_one_does_not_hide_its_checks(tmp_path):
    """Before: a problem at "/sources_old" or "/lookup" (pointers compared by prefix) skipped the
    disk checks of /sources and /look, so a missing source or LUT went unreported until fixed."""
    doc = job_doc(
        [tmp_path / "missing.mov"],
        tmp_path,
        jobspec_version="1.1.0",
        sources_old=["x"],
        lookup=1,
        look={"lut": str(tmp_path / "missing.cube")},
    )
    _, problems = static_problems(doc)
    paths = [p.path for p in problems]
    assert "/sources/0" in paths and "/look/lut" in paths, problems


# ------------------------------------------------------------------------------ source indexes


sources = st.lists(
    st.sampled_from(["", "rel.mov", "/nope/x.mov", "/m/a\x00.mov", 7, "/m/a.mov", "/m/a.mov"]), max_size=4
)


@FAST
@given(sources=sources, layout=st.sampled_from(["output_dir", "proxy_subfolder"]))
def test_every_problem_about_a_source_carries_its_index(tmp_path, sources, layout):
    doc = job_doc([], tmp_path, jobspec_version="1.1.0", layout=layout)
    doc["sources"] = sources
    if layout == "proxy_subfolder":
        del doc["output_name_template"]
    for problem in static_problems(doc)[1]:
        parts = problem.path.split("/")
        want = int(parts[2]) if len(parts) > 2 and parts[1] == "sources" else None
        assert problem.source_index == want, problem


def test_a_node_running_one_clip_ignores_the_other_sources_problems_by_index(media, outdir, tmp_path):
    from proxx_core.support.plugins import load_engines

    doc = job_doc([media("A001.mov"), tmp_path / "missing.mov"], outdir)
    engines = load_engines()
    assert check_document(doc, engines).job is None
    checked = check_document(doc, engines, only=1)
    assert checked.job is not None and [c.index for c in checked.job.clips] == [1], checked.problems


def test_the_source_index_is_not_part_of_the_result(tmp_path):
    from proxx_core.pipeline.serialization import dumps
    from proxx_core.support.plugins import load_engines

    checked = check_document(
        job_doc([tmp_path / "missing.mov"], tmp_path), load_engines(plugins=[], entry_points=False)
    )
    assert checked.problems[0].source_index == 0
    data = json.loads(dumps(checked.refusal))
    assert set(data["problems"][0]) == {"path", "message", "category", "install_hint"}


# ------------------------------------------------------------------------------ enums


def test_vocabularies_are_their_json_strings():
    import proxx_core
    import proxx_core.kit as kit
    from proxx_core import CATEGORIES, Category, Layout, Status

    assert json.dumps([Status.SKIPPED, Layout.AVID_MXF, Category.IO_ERROR]) == '["SKIPPED", "avid_mxf", "io_error"]'
    assert Status.COMPLETED == "COMPLETED" and f"{Layout.PROXY_SUBFOLDER}" == "proxy_subfolder"
    assert CATEGORIES == (
        "validation",
        "unsupported_source",
        "engine_unavailable",
        "engine_failed",
        "timeout",
        "verification_failed",
        "output_exists",
        "io_error",
        "interrupted",
        "worker_lost",
    )
    for name in ("Category", "ExistingOutputs", "FpsMode", "Layout", "Raster", "Status", "UnsupportedSources"):
        assert getattr(proxx_core, name) is getattr(kit, name)


def test_a_result_read_back_keeps_typed_statuses():
    from proxx_core import Status
    from proxx_core.contract.results import ClipResult
    from proxx_core.pipeline.serialization import from_data, to_data

    clip = ClipResult(
        index=1,
        source={"path": "/a", "size": 1, "info": None},
        engine=None,
        profile="p",
        output=None,
        status="FAILED",
        failure=None,
    )
    assert clip.status is Status.FAILED
    data = to_data(clip)
    assert type(data["status"]) is str and from_data(ClipResult, data) == clip


def test_document_problems_keep_their_wording(tmp_path):
    """Wording unchanged by the enums (a repr of a member would read <Layout.X: 'x'>)."""
    doc = job_doc(["/m/a.mov"], tmp_path, jobspec_version="1.1.0", layout="avid_mxf")
    messages = [p.message for p in document_problems(doc)]
    assert messages == [
        "layout avid_mxf makes Avid managed media (MXF OP-Atom DNxHR) and profile "
        "offline_prores_proxy_1920x1080 is prores; choose offline_dnxhr_lb_1920x1080 or another "
        "layout"
    ], messages


def test_every_jobspec_key_is_a_typed_value():
    """A key added to the schema must be added to DraftSpec (draft_of) and JobSpec (JobSpec.of) too,
    or a valid spec would silently lose it."""
    import attrs

    from proxx_core.pipeline.serialization import load_schema
    from proxx_core.support.specvalues import DraftSpec

    keys = set(load_schema()["properties"])
    assert keys <= {f.name for f in attrs.fields(DraftSpec)}, keys - {f.name for f in attrs.fields(DraftSpec)}
    assert keys == {f.name for f in attrs.fields(JobSpec)}


def test_every_key_given_reaches_the_spec(tmp_path):
    import attrs

    doc = job_doc(
        ["/m/a.mov"],
        tmp_path,
        profile="offline_dnxhr_lb_1920x1080",
        jobspec_version="1.2.0",
        created_at="2026-01-31T09:00:00Z",
        job_id="j1",
        engine="ffmpeg",
        existing_outputs="overwrite",
        user_metadata={"a": 1},
        require_builds={"ffmpeg": "a" * 64},
        layout="avid_mxf",
        raster="half",
        look={"lut": "/l.cube"},
        burn_in=[{"text": "x", "position": "top_left"}],
        watermark={"text": "W", "opacity": 0.5},
        unsupported_sources="fail_clip",
        deliverables=["ale"],
        notify=["ops"],
        priority="high",
    )
    spec = structure(doc)
    defaults = {f.name: f.default for f in attrs.fields(JobSpec)}
    unset = [k for k in doc if k != "overwrite" and getattr(spec, k) == defaults[k]]
    assert unset == [] and spec.overwrite is False
