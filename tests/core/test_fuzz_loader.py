"""Property-based tests (hypothesis) over the JobSpec loader and validator.

1. No input makes validation end in anything but valid (0) or invalid (1): hostile JSON (lone
   surrogates, huge integers, NaN, duplicate keys, deep nesting), mutated valid specs and raw bytes,
   through ``check_job_file`` (what ``proxx validate`` calls) and a few through the real CLI. A
   refused job's result is always strict, writable JSON.
2. No accepted spec names an output that is a source or lies outside ``output_dir``: hostile source
   names and templates, real tiny media files, several spellings of ``output_dir``.

Bounded and derandomised so CI stays fast and reproducible; no encodes.
"""

from __future__ import annotations

import itertools
import json
import os
import shutil
import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxx_core.pipeline.check import check_job_file
from proxx_core.pipeline.serialization import dumps
from proxxtest import PROFILE_CODECS, job_doc, run_cli

FAST = settings(
    max_examples=150,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.function_scoped_fixture],
)


@pytest.fixture(scope="module")
def engines():
    from proxx_core.support.plugins import load_engines
    from proxx_engine_ffmpeg import plugin

    return load_engines(plugins=[plugin], entry_points=False)


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    """One real media file per session; examples copy it under hostile names."""
    from proxx_engine_ffmpeg.testmedia import make_source

    return make_source(tmp_path_factory.mktemp("fuzzmedia") / "tiny.mov", size="64x36", frames=2, audio=())


# ------------------------------------------------------------------------------ hostile JSON text


class Raw(str):
    """JSON text emitted verbatim (numbers Python would not print, NaN, deep nesting)."""


class Pairs(list):
    """An object as a list of pairs, so keys may repeat."""


hostile_text = st.text(st.characters(codec=None, categories=("L", "N", "P", "S", "Z", "Cc", "Cs", "Mn")), max_size=20)
hostile_number = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(1, 6000).map(lambda n: Raw("9" * n)),
    st.sampled_from([Raw("NaN"), Raw("Infinity"), Raw("-Infinity"), Raw("1e999"), Raw("-0"), Raw("1E400")]),
)
deep = st.tuples(st.integers(1, 1500), st.sampled_from(["[]", "{}"])).map(
    lambda t: Raw('{"a":' * t[0] + "1" + "}" * t[0]) if t[1] == "{}" else Raw("[" * t[0] + "]" * t[0])
)
leaf = st.one_of(st.none(), st.booleans(), hostile_number, hostile_text, deep)
value = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.lists(st.tuples(hostile_text, inner), max_size=4).map(Pairs),
        st.lists(st.tuples(st.sampled_from(["a", "b"]), inner), min_size=2, max_size=4).map(Pairs),  # repeats
    ),
    max_leaves=12,
)


def emit(v) -> str:
    if isinstance(v, Raw):
        return str(v)
    if isinstance(v, Pairs):
        return "{" + ",".join(f"{json.dumps(k)}:{emit(x)}" for k, x in v) + "}"
    if isinstance(v, list):
        return "[" + ",".join(emit(x) for x in v) + "]"
    if isinstance(v, float):
        return json.dumps(v)  # NaN, Infinity as Python writes them
    if isinstance(v, int) and not isinstance(v, bool):
        return str(v)
    return json.dumps(v)  # ensure_ascii: a lone surrogate becomes a \udXXX escape


def mutated_spec_text(base: dict, key: str, raw_value: str, extra: bool) -> str:
    parts = [f"{json.dumps(k)}:{json.dumps(v)}" for k, v in base.items() if extra or k != key]
    parts.append(f"{json.dumps(key)}:{raw_value}")
    return "{" + ",".join(parts) + "}"


def assert_refusal_is_well_formed(checked) -> None:
    assert checked.exit_code in (0, 1), (checked.exit_code, checked.problems)
    if checked.exit_code == 0:
        assert checked.job is not None
        return
    assert checked.problems
    for p in checked.problems:
        assert p.path == "" or p.path.startswith("/"), p
        p.message.encode("utf-8")  # the CLI prints it; a lone surrogate would crash stdout
        assert len(p.message) < 5000, p
    text = dumps(checked.refusal)
    text.encode("utf-8")
    json.loads(text, parse_constant=lambda c: pytest.fail(f"result holds {c}: not strict JSON"))


@FAST
@given(doc=value)
def test_any_json_value_is_valid_or_invalid_never_an_error(tmp_path, engines, doc):
    path = tmp_path / "job.json"
    path.write_text(emit(doc), encoding="utf-8", errors="surrogatepass")
    assert_refusal_is_well_formed(check_job_file(path, engines))


@FAST
@given(
    key=st.sampled_from(
        [
            "jobspec_version",
            "sources",
            "output_dir",
            "output_name_template",
            "proxy_profile",
            "codec",
            "container",
            "fps_mode",
            "created_at",
            "job_id",
            "engine",
            "overwrite",
            "user_metadata",
            "x-unknown",
        ]
    ),
    raw=value.map(emit) | hostile_text.map(json.dumps),
    duplicate=st.booleans(),
)
def test_a_valid_spec_with_one_hostile_value_is_valid_or_invalid(tmp_path, engines, tiny, key, raw, duplicate):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    path = tmp_path / "job.json"
    path.write_text(
        mutated_spec_text(job_doc([tiny], out), key, raw, duplicate), encoding="utf-8", errors="surrogatepass"
    )
    assert_refusal_is_well_formed(check_job_file(path, engines))


@FAST
@given(data=st.binary(max_size=300))
def test_arbitrary_bytes_are_valid_or_invalid(tmp_path, engines, data):
    path = tmp_path / "job.json"
    path.write_bytes(data)
    assert_refusal_is_well_formed(check_job_file(path, engines))


@settings(
    max_examples=6,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(doc=value)
def test_the_real_cli_exits_0_or_1(tmp_path, doc):
    path = tmp_path / "job.json"
    path.write_text(emit(doc), encoding="utf-8", errors="surrogatepass")
    r = run_cli("validate", path)
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stderr
    json.loads(r.stdout)


# ------------------------------------------------------------------------- outputs stay in place

NAME_CHARS = st.characters(codec="utf-8", exclude_characters="/\x00", categories=("L", "N", "P", "S", "Zs", "Mn", "Cf"))
source_stem = st.one_of(
    st.text(NAME_CHARS, min_size=1, max_size=40),
    st.sampled_from(
        [
            "-rf",
            "--help",
            "..",
            ".",
            "...",
            " lead",
            "trail ",
            "A001C002",
            "a001c002",
            unicodedata.normalize("NFD", "Café"),
            "Café",
            "x" * 230,
            "clip:1*?",
            "\u202eevil",
        ]
    ),
)
source_ext = st.sampled_from([".mov", ".MOV", ".mp4", "", ".mov.mov", ". mov"])
template_part = st.one_of(
    st.sampled_from(
        [
            "{source_name}",
            "{source_ext}",
            "{index}",
            "{job_id}",
            "{profile}",
            "..",
            "/",
            "-",
            " ",
            "../",
            "./",
            "\\",
            ".",
            "_proxy",
        ]
    ),
    st.text(NAME_CHARS, min_size=1, max_size=6),
)
template = st.lists(template_part, min_size=1, max_size=5).map("".join)
_counter = itertools.count()


def _fits(name: str) -> bool:
    raw = name.encode("utf-8")
    return name not in (".", "..") and 0 < len(raw) <= 255


def _make_case(root: Path, tiny: Path, stems: list[str], exts: list[str]) -> list[Path]:
    media = root / "media"
    media.mkdir()
    sources = []
    for stem, ext in zip(stems, exts, strict=False):
        name = stem + ext
        if not _fits(name) or (media / name).exists():
            continue
        shutil.copyfile(tiny, media / name)
        sources.append(media / name)
    return sources


def _output_dir(root: Path, kind: str) -> str:
    media = root / "media"
    if kind == "separate":
        (root / "out").mkdir()
        return str(root / "out")
    if kind == "same":
        return str(media)
    if kind == "dot":
        return str(media) + "/."
    if kind == "dotdot":
        (root / "sub").mkdir()
        return str(root / "sub" / ".." / "media")
    if kind == "trailing_slash":
        return str(media) + "/"
    if kind == "symlink":
        os.symlink(media, root / "link")
        return str(root / "link")
    if kind == "double_slash":
        return "/" + str(media)
    raise AssertionError(kind)


def assert_outputs_stay_in_place(checked, output_dir: str, sources: list[Path]) -> None:
    if checked.job is None:
        return
    real_out = os.path.realpath(output_dir)
    real_sources = {os.path.realpath(s) for s in sources}
    for clip in checked.job.clips:
        out = clip.plan.request.output_path
        name = os.path.basename(out)
        assert name not in ("", ".", "..") and "/" not in name, out
        assert os.path.realpath(os.path.dirname(out)) == real_out, f"{out} is outside {output_dir}"
        assert os.path.realpath(out) not in real_sources, f"{out} would replace a source"
        for src in sources:
            assert not (os.path.exists(out) and os.path.samefile(out, src)), f"{out} is source {src}"


def _check_case(root, tiny, engines, stems, exts, tmpl, profile, overwrite, kind):
    sources = _make_case(root, tiny, stems, exts)
    if not sources:
        return
    output_dir = _output_dir(root, kind)
    codec, container = PROFILE_CODECS[profile]
    doc = job_doc(sources, output_dir, profile, output_name_template=tmpl, overwrite=overwrite)
    path = root / "job.json"
    path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    checked = check_job_file(path, engines)
    assert checked.exit_code in (0, 1), checked.problems
    assert_outputs_stay_in_place(checked, output_dir, sources)


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    stems=st.lists(source_stem, min_size=1, max_size=3),
    exts=st.lists(source_ext, min_size=3, max_size=3),
    tmpl=template | st.sampled_from(["{source_name}", "{source_name}{source_ext}", "{source_name}.{source_ext}"]),
    profile=st.sampled_from(sorted(PROFILE_CODECS)),
    overwrite=st.booleans(),
    kind=st.sampled_from(["separate", "same", "dot", "dotdot", "trailing_slash", "symlink", "double_slash"]),
)
def test_no_accepted_spec_names_an_output_that_is_a_source_or_outside_output_dir(
    tmp_path_factory, engines, tiny, stems, exts, tmpl, profile, overwrite, kind
):
    root = tmp_path_factory.mktemp(f"case{next(_counter)}")
    _check_case(root, tiny, engines, stems, exts, tmpl, profile, overwrite, kind)


@pytest.mark.parametrize(
    "kind",
    [
        "symlink",
        "double_slash",
        "same",
        "dot",
        "trailing_slash",
        "dotdot",
    ],
)
@pytest.mark.parametrize("overwrite", [False, True])
def test_template_source_name_into_the_sources_own_folder_is_refused(tmp_path, engines, tiny, kind, overwrite):
    """The example the property is about: ``{source_name}`` of ``A001.mov`` as a MOV proxy, written
    into the sources' own folder however it is spelt."""
    _check_case(
        tmp_path, tiny, engines, ["A001"], [".mov"], "{source_name}", "offline_prores_proxy_1920x1080", overwrite, kind
    )


# ------------------------------------------------------------------ NUL bytes and node configs

PATH_FIELDS = ("sources", "output_dir", "output_name_template", "lut", "cdl")


@FAST
@given(field=st.sampled_from(PATH_FIELDS), at=st.integers(0, 200), other_error=st.booleans(), extra=hostile_text)
def test_a_nul_byte_in_any_path_field_is_a_validation_problem(tmp_path, engines, tiny, field, at, other_error, extra):
    out = tmp_path / "out"
    out.mkdir(exist_ok=True)
    doc = job_doc([tiny, tiny.with_name("other.mov")], out, jobspec_version="1.1.0")
    paths = {
        "sources": str(tiny),
        "output_dir": str(out),
        "output_name_template": "{source_name}_proxy",
        "lut": str(tmp_path / "grade.cube"),
        "cdl": str(tmp_path / "grade.cdl"),
    }
    value = paths[field] + extra
    value = value[:at] + "\x00" + value[at:]
    where = {"sources": "/sources/0", "lut": "/look/lut", "cdl": "/look/cdl"}.get(field, f"/{field}")
    if field == "sources":
        doc["sources"][0] = value
    elif field in ("lut", "cdl"):
        doc["look"] = {field: value}
    else:
        doc[field] = value
    if other_error:
        doc["sources"].append("")  # one schema error elsewhere: the other checks must still hold
    path = tmp_path / "job.json"
    path.write_text(json.dumps(doc), encoding="utf-8")
    checked = check_job_file(path, engines)
    assert_refusal_is_well_formed(checked)
    assert checked.exit_code == 1
    # a value with a lone surrogate too is refused by the loader, at the same pointer, before field checks run
    said = ("NUL", "lone UTF-16 surrogate")
    assert any(
        p.path == where and any(s in p.message for s in said) and p.category == "validation" for p in checked.problems
    ), checked.problems


toml_text = st.one_of(
    st.text(max_size=120).map(lambda t: f'[paths]\n"/Volumes/RAID" = "{t}"\n'),
    st.text(max_size=120),
)
encoding = st.sampled_from(["latin-1", "utf-16", "utf-32", "cp1252", "utf-8-sig", "utf-8"])


@FAST
@given(text=toml_text, enc=encoding, junk=st.binary(max_size=40), raw=st.booleans())
def test_any_node_config_bytes_load_or_raise_proxx_error(tmp_path, text, enc, junk, raw):
    from proxx_core.contract.errors import ProxxError
    from proxx_core.pipeline.pathmap import NodeConfig, load_node_config

    config = tmp_path / "node.toml"
    config.write_bytes(junk if raw else text.encode(enc, errors="replace") + junk)
    try:
        assert isinstance(load_node_config(config), NodeConfig)
    except ProxxError as exc:
        assert str(config) in exc.message and len(exc.message) < 2000, exc.message


@settings(
    max_examples=4,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(text=toml_text, enc=encoding, junk=st.binary(min_size=1, max_size=10))
def test_the_real_watch_exits_0_or_1_whatever_the_node_config(tmp_path, text, enc, junk):
    config = tmp_path / "node.toml"
    config.write_bytes(text.encode(enc, errors="replace") + junk)
    (tmp_path / "w").mkdir(exist_ok=True)
    r = run_cli(
        "watch",
        tmp_path / "w",
        "--once",
        "--poll-seconds",
        "0.05",
        env_extra={"PROXX_CONFIG": str(config), "PROXX_LOAD_PLUGINS": "ffmpeg"},
        timeout=60,
    )
    assert r.returncode in (0, 1), r.stderr
    assert "Traceback" not in r.stderr
