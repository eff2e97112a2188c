"""What FFmpeg reads is what validate read, for any .cube Proxx accepts (issue 20).

A file ``parse_cube`` calls plain is given to FFmpeg as it is; any other is given as the plain copy
``write_plain_cube`` writes. For random files in the forms the cube specification allows (BOM, CR LF,
comments and blank lines anywhere, keywords in any order and spacing, numbers in every spelling),
FFmpeg's lut3d applied to a test pattern gives the same pixels from the file Proxx hands it as from
the plain copy: so the plain flag never lets FFmpeg read a file differently."""

from __future__ import annotations

import io
import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from looktest import ffmpeg

from proxx_core.features.look import LookFileError, parse_cube, write_plain_cube

SPACE = st.sampled_from([" ", "  ", "\t", " \t"])


#: the same value spelt as LUT tools write it
def _spellings(v: float) -> list[str]:
    return [
        f"{v:.6f}",
        repr(v),
        f"{v:.3e}",
        f"{v:g}",
        f"{v:+.4f}",
        (f"{v:.5f}".lstrip("0") or "0") if 0 <= v < 1 else f"{v:.5f}",
    ]


@st.composite
def cube_files(draw) -> bytes:
    size = draw(st.sampled_from([2, 3]))
    eol = draw(st.sampled_from(["\n", "\r\n"]))
    indent = st.sampled_from(["", "", " ", "\t"])
    comment = st.builds(
        lambda i, t: f"{i}#{t}", indent, st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=30)
    )
    blank = st.sampled_from(["", " ", "\t"])
    extra = st.lists(st.one_of(comment, blank), max_size=2)

    def keyword(words: list[str]) -> str:
        sep = draw(SPACE)
        return draw(indent) + sep.join(words) + draw(st.sampled_from(["", " "]))

    size_token = draw(st.sampled_from([str(size), f"0{size}"]))
    keywords = [keyword(["LUT_3D_SIZE", size_token])]
    if draw(st.booleans()):
        keywords.append(draw(indent) + "TITLE " + draw(st.sampled_from(['"show"', '"a  b"', "'x'", '""'])))
    for name, value in (("DOMAIN_MIN", "0"), ("DOMAIN_MAX", "1")):
        if draw(st.booleans()):
            keywords.append(
                keyword([name] + [draw(st.sampled_from([value, f"{value}.0", f"{value}e0"])) for _ in range(3)])
            )
    keywords = draw(st.permutations(keywords))
    lines = []
    for k in keywords:
        lines += draw(extra) + [k]
    values = st.floats(-0.5, 1.5, allow_nan=False).flatmap(lambda v: st.sampled_from(_spellings(v)))
    for _ in range(size**3):
        row = draw(indent) + draw(SPACE).join(draw(values) for _ in range(3)) + draw(st.sampled_from(["", " "]))
        lines += draw(st.lists(st.one_of(comment, blank), max_size=1)) + [row]
    lines += draw(extra)
    text = eol.join(lines) + draw(st.sampled_from([eol, ""]))
    return (b"\xef\xbb\xbf" if draw(st.booleans()) else b"") + text.encode()


def _render(lut_path: str) -> bytes:
    return subprocess.run(
        [
            ffmpeg(),
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            "testsrc2=size=48x32:rate=1,format=rgb48le",
            "-frames:v",
            "1",
            "-vf",
            f"lut3d=file={lut_path}:interp=tetrahedral",
            "-f",
            "rawvideo",
            "-",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(raw=cube_files())
def test_ffmpeg_reads_the_file_proxx_hands_it_as_proxx_parsed_it(tmp_path, raw):
    user = tmp_path / "user.cube"
    user.write_bytes(raw)
    try:
        lut = parse_cube(str(user))
    except LookFileError as exc:  # pragma: no cover - every generated form is one the spec allows
        raise AssertionError(f"an allowed form was refused: {exc}\n{raw!r}") from None
    copy = io.BytesIO()
    write_plain_cube(lut, copy)
    plain = tmp_path / "plain.cube"
    plain.write_bytes(copy.getvalue())
    handed = str(user) if lut.plain else str(plain)
    assert _render(handed) == _render(str(plain)), raw


def test_a_size_with_a_leading_zero_is_read_as_octal_by_ffmpeg_so_it_gets_the_copy(tmp_path):
    """FFmpeg reads LUT_3D_SIZE with strtol(..., 0): "010" is 8 to it and 10 to the cube spec."""
    from cubeforms import cube_text

    user = tmp_path / "octal.cube"
    user.write_text(cube_text(10, fn=lambda r, g, b: (g, b, r)).replace("LUT_3D_SIZE 10", "LUT_3D_SIZE 010"))
    lut = parse_cube(str(user))
    assert lut.size == 10 and not lut.plain
    copy = io.BytesIO()
    write_plain_cube(lut, copy)
    plain = tmp_path / "plain.cube"
    plain.write_bytes(copy.getvalue())
    assert _render(str(plain)) != _render(str(user))  # FFmpeg misreads the user's file itself
