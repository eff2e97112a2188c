"""JobSpec 1.1 /look: .cube and ASC CDL files are parsed at validate, and every fault names its line."""

from __future__ import annotations

import hashlib
import json

import pytest
from cubeforms import CUBE_FORMS, PLAIN, cube_text
from hypothesis import given, settings
from hypothesis import strategies as st

from proxx_core.contract.look import Cdl
from proxx_core.features.look import LookFileError, look_problems, parse_cdl_file, parse_cube
from proxx_core.pipeline.document import document_problems
from proxx_core.support.specvalues import InlineCdl, LookSpec
from proxxtest import job_doc

CC = """<?xml version="1.0" encoding="UTF-8"?>
<ColorCorrection id="A001C001" xmlns="urn:ASC:CDL:v1.01">
  <SOPNode>
    <Slope>1.1 1.0 0.9</Slope>
    <Offset>0.01 0 -0.02</Offset>
    <Power>1.0 1.2 1</Power>
  </SOPNode>
  <SatNode>
    <Saturation>0.8</Saturation>
  </SatNode>
</ColorCorrection>
"""

CDL = """<?xml version="1.0" encoding="UTF-8"?>
<ColorDecisionList xmlns="urn:ASC:CDL:v1.01">
 <ColorDecision>
  <ColorCorrection id="sh010">
   <SOPNode><Slope>1 1 1</Slope><Offset>0.1 0.1 0.1</Offset><Power>1 1 1</Power></SOPNode>
  </ColorCorrection>
 </ColorDecision>
</ColorDecisionList>
"""


def test_a_good_cube_is_read_with_its_sha256(tmp_path):
    p = tmp_path / "show.cube"
    p.write_text(cube_text(3, header="DOMAIN_MIN 0 0 0\nDOMAIN_MAX 1.0 1 1\n# a comment\n"))
    lut = parse_cube(str(p))
    assert lut.size == 3
    assert lut.sha256 == hashlib.sha256(p.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("LUT_3D_SIZE 2\n0 0 0\n1 0 0\n", 3, "2 data rows; LUT_3D_SIZE 2 needs 8"),
        (cube_text(2) + "0 0 0\n", 11, "more than the 8 rows"),
        (cube_text(2).replace("1.000000 1.000000 1.000000", "1 nan 1"), 10, "expected three numbers"),
        (cube_text(2).replace("0.000000 0.000000 0.000000", "0 0"), 3, "expected three numbers"),
        ("0 0 0\nLUT_3D_SIZE 2\n", 1, "data before LUT_3D_SIZE"),
        ("LUT_3D_SIZE 1\n", 1, "outside 2..129"),
        ('TITLE "x"\n', 1, "no LUT_3D_SIZE"),
        ("LUT_1D_SIZE 16\n", 1, "a 1D .cube"),
        ("DOMAIN_MIN -0.1 0 0\n" + cube_text(2), 1, "0..1 domain only"),
        ("LUT_3D_INPUT_RANGE 0 1\n" + cube_text(2), 1, "not supported"),
        ("LUT_3D_SIZE 2\nFOO 1\n", 2, "unknown keyword"),
        (cube_text(2).replace("1.000000 1.000000 1.000000", "1 1 1e999"), 10, "not a finite number"),
    ],
)
def test_a_malformed_cube_names_its_line(tmp_path, text, line, words):
    p = tmp_path / "bad.cube"
    p.write_text(text)
    with pytest.raises(LookFileError) as err:
        parse_cube(str(p))
    assert f"{p}, line {line}:" in str(err.value)
    assert words in str(err.value)


def test_a_missing_or_relative_lut_is_refused(tmp_path):
    with pytest.raises(LookFileError, match="no such file"):
        parse_cube(str(tmp_path / "nope.cube"))
    with pytest.raises(LookFileError, match="not an absolute path"):
        parse_cube("show.cube")


def test_a_cc_and_a_cdl_file_are_read(tmp_path):
    cc = tmp_path / "a.cc"
    cc.write_text(CC)
    got = parse_cdl_file(str(cc))
    assert (got.slope, got.offset, got.power, got.saturation) == (
        (1.1, 1.0, 0.9),
        (0.01, 0.0, -0.02),
        (1.0, 1.2, 1.0),
        0.8,
    )
    assert got.id == "A001C001" and got.sha256 == hashlib.sha256(cc.read_bytes()).hexdigest()
    cdl = tmp_path / "b.cdl"
    cdl.write_text(CDL)
    got = parse_cdl_file(str(cdl))
    assert got.offset == (0.1, 0.1, 0.1) and got.saturation == 1.0 and got.id == "sh010"


@pytest.mark.parametrize(
    "text, line, words",
    [
        (CC.replace("<Slope>1.1 1.0 0.9</Slope>", "<Slope>1.1 1.0</Slope>"), 4, "<Slope> must hold 3 number(s)"),
        (CC.replace("    <Power>1.0 1.2 1</Power>\n", ""), 3, "<SOPNode> has no <Power>"),
        (CC.replace("</SatNode>", "</SatNod>"), 10, "not well-formed XML"),
        (CC.replace("<Saturation>0.8", "<Saturation>-1"), 3, "saturation -1.0 is negative"),
        (CC.replace("<ColorCorrection", "<!DOCTYPE x [<!ENTITY a 'b'>]>\n<ColorCorrection"), 2, "DOCTYPE"),
        (
            CDL.replace(
                " </ColorDecision>\n",
                " </ColorDecision>\n"
                + CDL.split("\n", 2)[2]
                .split("</ColorDecisionList>")[0]
                .replace('<ColorDecisionList xmlns="urn:ASC:CDL:v1.01">\n', ""),
            ),
            9,
            "exactly one",
        ),
        ("<Foo/>", 1, "not an ASC CDL"),
    ],
)
def test_a_malformed_cdl_names_its_line(tmp_path, text, line, words):
    p = tmp_path / "bad.cc"
    p.write_text(text)
    with pytest.raises(LookFileError) as err:
        parse_cdl_file(str(p))
    assert f"{p}, line {line}:" in str(err.value), str(err.value)
    assert words in str(err.value)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.floats(allow_nan=False, allow_infinity=False, width=32), min_size=24, max_size=24))
def test_any_finite_numbers_in_a_well_formed_cube_are_accepted(tmp_path_factory, values):
    p = tmp_path_factory.mktemp("cube") / "h.cube"
    rows = [" ".join(repr(v) for v in values[i : i + 3]) for i in range(0, 24, 3)]
    p.write_text("LUT_3D_SIZE 2\n" + "\n".join(rows) + "\n")
    assert parse_cube(str(p)).size == 2


@settings(max_examples=80, deadline=None)
@given(st.text(max_size=200))
def test_any_text_is_a_lut_or_a_line_numbered_refusal(tmp_path_factory, text):
    p = tmp_path_factory.mktemp("cube") / "fuzz.cube"
    p.write_text(text, encoding="utf-8")
    try:
        parse_cube(str(p))
    except LookFileError as exc:
        assert f"{p}, line " in str(exc)


def test_look_problems_name_the_field(tmp_path):
    look, problems = look_problems(
        LookSpec(lut=str(tmp_path / "x.cube"), cdl=InlineCdl(slope=(1, -1, 1), offset=(0, 0, 0), power=(1, 1, 1)))
    )
    assert look is None
    assert [p.path for p in problems] == ["/look/lut", "/look/cdl"]
    ok, problems = look_problems(LookSpec(cdl=InlineCdl(slope=(1, 1, 1), offset=(0, 0, 0), power=(1, 1, 1))))
    assert problems == [] and ok.cdl == Cdl(slope=(1.0, 1.0, 1.0), offset=(0.0, 0.0, 0.0), power=(1.0, 1.0, 1.0))


def test_look_keys_need_jobspec_1_1(tmp_path):
    doc = job_doc(
        ["/a.mov"],
        tmp_path,
        look={"cdl": {"slope": [1, 1, 1], "offset": [0, 0, 0], "power": [1, 1, 1]}},
        burn_in=[{"text": "{timecode}", "position": "top_left"}],
        watermark={"text": "x", "opacity": 0.5},
    )
    messages = [p.message for p in document_problems(doc)]
    for key in ("look", "burn_in", "watermark"):
        assert any(f"/{key} is a JobSpec 1.1.0 key" in m and 'set jobspec_version to "1.1.0"' in m for m in messages)
    doc["jobspec_version"] = "1.1.0"
    assert document_problems(doc) == []


def test_validate_refuses_a_malformed_lut_with_its_line(proxx, media, outdir, write_job, tmp_path):
    src = media("A001.mov")
    bad = tmp_path / "show.cube"
    bad.write_text(cube_text(2).replace("0.000000 1.000000 1.000000", "0 1"))
    r = proxx("validate", write_job(job_doc([src], outdir, jobspec_version="1.1.0", look={"lut": str(bad)})))
    assert r.returncode == 1
    assert f"/look/lut: {bad}, line 9: expected three numbers" in r.stderr, r.stderr
    assert list(outdir.iterdir()) == []


def test_the_result_schema_accepts_a_look_record(tmp_path):
    from proxx_core.contract.look import Look
    from proxx_core.features.look import parse_cube
    from proxx_core.pipeline.serialization import load_schema

    p = tmp_path / "s.cube"
    p.write_text(cube_text(2))
    record = Look(cdl=Cdl(slope=(1, 1, 1), offset=(0, 0, 0), power=(1, 1, 1)), lut=parse_cube(str(p))).record()
    assert record["order"] == ["cdl", "lut"] and record["lut"]["sha256"]
    schema = load_schema("result-1.0.json")["$defs"]["clip"]["properties"]["look"]
    import jsonschema

    jsonschema.Draft202012Validator(schema).validate(json.loads(json.dumps(record)))


def test_a_node_path_map_maps_the_look_files_too():
    from proxx_core.pipeline.pathmap import PathMap, map_document

    doc = {
        "sources": ["/Volumes/show/a.mov"],
        "output_dir": "/Volumes/show/px",
        "job_id": "j",
        "look": {"lut": "/Volumes/show/luts/show.cube", "cdl": "/Volumes/show/a.cc"},
    }
    mapped, _ = map_document(doc, PathMap.from_mapping({"/Volumes/show": "/mnt/show"}))
    assert mapped["look"] == {"lut": "/mnt/show/luts/show.cube", "cdl": "/mnt/show/a.cc"}
    inline = {"cdl": {"slope": [1, 1, 1], "offset": [0, 0, 0], "power": [1, 1, 1]}}
    mapped_inline, _ = map_document(dict(doc, look=inline), PathMap.from_mapping({"/Volumes/show": "/mnt/show"}))
    assert mapped_inline["look"] == inline


def test_validating_a_job_checks_each_lut_once(media, outdir, write_job, tmp_path, monkeypatch):
    """preflight and planning both need the parsed look; a 65-point cube takes ~0.6 s to check, so
    the same bytes are checked once per process (keyed by their SHA-256, so an edited file is not)."""
    import proxx_core.features.look as look_module
    from proxx_core.pipeline.check import check_job_file
    from proxx_core.support.plugins import load_engines

    lut = tmp_path / "show.cube"
    lut.write_text(cube_text(3, fn=lambda r, g, b: (b, g, r)))
    checks = []
    real = look_module._check_cube
    monkeypatch.setattr(look_module, "_CHECKED_CUBES", {})
    monkeypatch.setattr(look_module, "_check_cube", lambda *a: (checks.append(a[0]), real(*a))[1])
    job = write_job(job_doc([str(media("A001.mov"))], outdir, jobspec_version="1.1.0", look={"lut": str(lut)}))
    checked = check_job_file(job, load_engines())
    assert checked.job is not None and checked.job.clips[0].plan.request.look.lut.size == 3
    assert checks == [str(lut)]
    lut.write_text(cube_text(2))  # edited: new bytes are checked again
    assert parse_cube(str(lut)).size == 2 and len(checks) == 2
    lut.write_text(cube_text(2).replace("1.000000 1.000000 1.000000", "1 1"))  # and a broken edit is refused
    with pytest.raises(LookFileError):
        parse_cube(str(lut))


# ------------------------------------------------ every form the cube specification allows (issue 20)


@pytest.mark.parametrize("form", sorted(CUBE_FORMS))
def test_every_allowed_cube_form_is_accepted_and_its_plain_copy_is_the_plain_cube(tmp_path, form):
    """Accepted at validate must mean FFmpeg reads the same LUT: a file not already plain is flagged,
    and its plain copy holds the plain file's numbers (FFmpeg's parser saw an empty LUT behind a BOM)."""
    import io

    from proxx_core.features.look import write_plain_cube

    plain, other = tmp_path / "plain.cube", tmp_path / f"{form}.cube"
    plain.write_bytes(PLAIN.encode())
    other.write_bytes(CUBE_FORMS[form].encode())
    want, lut = parse_cube(str(plain)), parse_cube(str(other))
    assert want.plain and lut.size == want.size == 2
    out = io.BytesIO()
    write_plain_cube(lut, out)
    rows = PLAIN.split("\n", 1)[1]  # without the TITLE
    assert out.getvalue().decode() == rows
    assert lut.plain == (
        form
        in (
            "comments_and_blank_lines_everywhere",
            "domain_before_size",
            "domain_after_size_title_last",
            "no_final_newline",
        )
    )


def test_a_plain_copy_of_a_lut_edited_after_validation_is_refused(tmp_path):
    import io

    from proxx_core.features.look import write_plain_cube

    p = tmp_path / "show.cube"
    p.write_bytes(CUBE_FORMS["bom"].encode())
    lut = parse_cube(str(p))
    p.write_bytes(CUBE_FORMS["bom"].replace("0.500000", "0.600000").encode())
    with pytest.raises(LookFileError, match="changed since the job was validated"):
        write_plain_cube(lut, io.BytesIO())


@pytest.mark.parametrize(
    "text, line, words",
    [
        (PLAIN.replace("1.000000 0.000000", "1e39 0.000000", 1), 3, "beyond the range of a 32-bit float"),
        (PLAIN.replace("\n", "\r"), 1, "carriage return inside the line"),
        ("# " + "é" * 300 + "\n" + PLAIN, 1, "longer than 500"),
        (
            PLAIN.replace("1.000000 0.000000 0.000000", "1.000000\u00a00.000000 0.000000", 1),
            3,
            "expected three numbers",
        ),
        (PLAIN.replace("1.000000 0.000000 0.000000", "\u0661.000000 0.000000 0.000000", 1), 3, "unknown keyword"),
        (PLAIN.replace("LUT_3D_SIZE 2", "LUT_3D_SIZE \u0662"), 2, "LUT_3D_SIZE must appear once"),
    ],
)
def test_cube_values_ffmpeg_would_misread_are_refused_with_the_line(tmp_path, text, line, words):
    """Beyond a float32, a lone CR, over-long lines, NBSP as a separator, non-ASCII digits (Python's
    float() takes them, no LUT reader does): refused with the line, never handed to FFmpeg."""
    p = tmp_path / "bad.cube"
    p.write_bytes(text.encode())
    with pytest.raises(LookFileError) as err:
        parse_cube(str(p))
    assert f"line {line}:" in str(err.value) and words in str(err.value)


def test_parsing_the_largest_cube_stays_in_bounded_memory(tmp_path):
    """A 129-point cube is ~60 MB of text; the parse is streamed, so its peak is a read buffer and a
    few lines, not the file (325 MB for 129 points before). Measured on a 33-point cube (1 MB) to stay
    fast (~1.5 s under tracemalloc); the slow test measures the largest size the schema allows."""
    _assert_parse_peak(tmp_path, 33, limit=512 * 1024)


@pytest.mark.slow
def test_parsing_a_129_point_cube_peaks_under_50_mb(tmp_path):
    """The largest cube the schema allows (~55 MB), parsed in a fresh interpreter: its peak resident
    memory grows by less than 50 MB over the same interpreter's before the parse (~6 s)."""
    import subprocess
    import sys

    p = _write_cube(tmp_path, 129)
    probe = (
        "import resource, sys\nfrom proxx_core.features.look import parse_cube\n"
        "before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss\n"
        "assert parse_cube(sys.argv[1]).size == 129\n"
        "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)"
    )
    grew_kib = int(
        subprocess.run(
            [sys.executable, "-c", probe, str(p)], check=True, capture_output=True, text=True, timeout=120
        ).stdout
    )
    assert grew_kib < 50 * 1024, f"parsing a {p.stat().st_size}-byte cube grew the peak by {grew_kib} KiB"


def _write_cube(tmp_path, size):
    p = tmp_path / "big.cube"
    row = b"0.123456 0.654321 0.999999\n"
    with open(p, "wb") as fh:
        fh.write(f"LUT_3D_SIZE {size}\n".encode())
        for _ in range(size * size):
            fh.write(row * size)
    return p


def _assert_parse_peak(tmp_path, size, limit):
    import tracemalloc

    p = _write_cube(tmp_path, size)
    tracemalloc.start()
    try:
        lut = parse_cube(str(p))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert lut.size == size
    assert peak < limit, f"parsing a {p.stat().st_size}-byte cube peaked at {peak} bytes"
