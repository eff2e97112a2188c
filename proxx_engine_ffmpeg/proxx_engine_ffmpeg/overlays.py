"""FFmpeg filters for a JobSpec 1.1 look (CDL, then 3D LUT) and burn-in/watermark text.

Pure functions of the request, like commands.py. Why each choice (docs/jobspec.md, "look" and
"burn_in"):

- The look runs on the scaled frame in packed 16-bit RGB (``rgb48le``): the source's own signal
  (camera log or Rec.709), converted from Y'CbCr with the source's matrix and range to normalised
  R'G'B' 0..1, the domain every show LUT and CDL is written for. After scaling, because the look is
  then computed once per proxy pixel, not per camera pixel (4-9x fewer for UHD/6K sources), with no
  visible difference at proxy size. Packed, not planar, RGB: FFmpeg's lut3d has hand-written SIMD
  for planar 16-bit and float RGB whose rounding differs from the C code (bytes would differ
  between CPUs); for packed RGB it runs the C code on every CPU.
- The CDL is exact, not baked into a LUT: SOP per channel with ``lutrgb`` (one 65,536-entry table,
  evaluated once per clip), saturation with ``colorchannelmixer`` (Rec.709 luma weights, as ASC CDL
  v1.2 specifies); values clamped to 0..1 after SOP and after saturation. A saturation above ~2.078
  needs coefficients outside colorchannelmixer's -2..2: it is applied as a 2-point 3D LUT of the same
  matrix (``saturation_cube``: a linear map, which lut3d's interpolation reproduces exactly).
- A show LUT FFmpeg's cube parser would read differently from Proxx's (``CubeLut.plain`` False: a
  UTF-8 byte order mark, CR LF, indented keywords) is given to FFmpeg as a plain copy Proxx writes
  beside the clip's temporary output, from the same parse, with the file's own number tokens, so the
  LUT FFmpeg reads is the one validated (and a plain file gives the same bytes as its copy would).
- Text is drawn last, on the final Y'CbCr frame, with the font shipped in ``fonts/`` named by its
  absolute path (no fontconfig lookup), so every node draws the same pixels.

Escaping: every option value is quoted for both levels FFmpeg parses (the filter's options, then
the graph), so no text or path can end a filter or inject one; drawtext's own ``%{...}``/``\\``
expansion is escaped in literal text.
"""

from __future__ import annotations

import os
import re
from decimal import Decimal

from proxx_core import ClipRequest
from proxx_core.kit import ClipFailure, LookFileError, write_plain_cube

#: the shipped font (fonts/README.md): SHA-256 0f5db4f1749979d961019838b160bec74abdf7f9eca69553fe1aa856bbff49a4
FONT_NAME = "DejaVuSansMono.ttf"
FONT_SHA256 = "0f5db4f1749979d961019838b160bec74abdf7f9eca69553fe1aa856bbff49a4"
SCALE_FLAGS = "bicubic+bitexact+accurate_rnd"
#: Rec.709 luma weights, as ASC CDL v1.2 defines saturation
LUMA = (0.2126, 0.7152, 0.0722)
#: the dark box behind burn-in text
BOX_COLOR = "black@0.6"


def font_path() -> str:
    """Absolute path of the shipped font inside the installed package."""
    from importlib import resources  # only jobs with burn-ins: kept out of every command's start-up

    return str(resources.files("proxx_engine_ffmpeg").joinpath("fonts", FONT_NAME))


#: option values made only of these need no quoting at either level
_PLAIN = re.compile(r"[A-Za-z0-9_./@+()*-]+")
#: what the graph parser (av_get_token with terms "[],;") treats specially
_GRAPH_SPECIAL = re.compile(r"([\\'\[\],;])")


def option_value(value: str) -> str:
    """``value`` written so it survives both parses of a -vf chain: first the graph parser (which
    ends a filter at , ; [ ]), then the filter's option parser (which ends a value at :). Inner level:
    the value in '...' quotes (everything literal; a quote itself is closed, escaped, reopened);
    outer level: every character the graph parser treats specially, backslash-escaped."""
    if _PLAIN.fullmatch(value):
        return value
    inner = "'" + value.replace("'", "'\\''") + "'"
    return _GRAPH_SPECIAL.sub(r"\\\1", inner)


def _plain(x: float) -> str:
    """A float as a plain decimal (no exponent) that reads back as the same double."""
    return format(Decimal(repr(float(x))), "f")


def num(x: float) -> str:
    """A float for FFmpeg's expression parser: plain decimal, in parentheses so a sign never meets
    an operator."""
    return f"({_plain(x)})"


# -------------------------------------------------------------------------------------------- look


def cdl_filters(cdl, saturation_cube_path: str | None) -> list[str]:
    """ASC CDL on rgb48le: out = clamp(in * slope + offset)^power, then saturation about Rec.709
    luma. Identity parts are left out (they would change nothing). ``saturation_cube_path``: where
    ``write_look_files`` puts the saturation LUT when colorchannelmixer cannot express it."""
    filters = []
    if (cdl.slope, cdl.offset, cdl.power) != ((1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)):
        parts = []
        for channel, s, o, p in zip("rgb", cdl.slope, cdl.offset, cdl.power, strict=True):
            expr = f"65535*pow(clip(val/65535*{num(s)}+{num(o)},0,1),{num(p)})+0.5"
            parts.append(f"{channel}={option_value(expr)}")
        filters.append("lutrgb=" + ":".join(parts))
    if cdl.saturation != 1.0:
        if mixer_can_express(cdl.saturation):
            coefs = [
                f"{out}{inp}={_plain(c)}"
                for out, row in zip("rgb", saturation_matrix(cdl.saturation), strict=True)
                for inp, c in zip("rgb", row, strict=True)
            ]
            filters.append("colorchannelmixer=" + ":".join(coefs))
        else:
            assert saturation_cube_path is not None, "look_file_paths names the saturation LUT"
            filters.append(f"lut3d=file={option_value(saturation_cube_path)}:interp=tetrahedral")
    return filters


#: colorchannelmixer's coefficient range (its options refuse anything outside)
MIXER_LIMIT = 2.0
#: saturation applied through the LUT is capped here: lut3d converts value * 65535 to a 32-bit int, so
#: a LUT value must stay below 32768; at this gain every pixel further than 1/16384 from its grey is
#: already clipped to 0 or 1, and nearer ones are within lut3d's float precision of the limit
MAX_LUT_SATURATION = 16384.0


def saturation_matrix(s: float) -> tuple[tuple[float, ...], ...]:
    """ASC CDL v1.2 saturation as a 3x3 matrix: out = luma + s * (in - luma), Rec.709 luma."""
    return tuple(tuple(LUMA[k] * (1 - s) + (s if out == k else 0.0) for k in range(3)) for out in range(3))


def mixer_can_express(s: float) -> bool:
    """colorchannelmixer takes coefficients in -2..2 only: saturation up to ~2.078."""
    return all(abs(c) <= MIXER_LIMIT for row in saturation_matrix(s) for c in row)


def saturation_cube(s: float) -> bytes:
    """A 2-point 3D LUT holding the saturation matrix at the cube's corners, for saturations
    colorchannelmixer cannot express. Exact, not an approximation: the map is linear, and lut3d's
    tetrahedral interpolation reproduces a linear map exactly (to float precision) anywhere in the
    cube; the LUT's values are not clamped, lut3d clamps its output to 0..1 as ASC CDL does after
    saturation. lut3d truncates value * 65535 to an integer, so half a step is added to round instead.
    Packed rgb48le: lut3d runs its C code on every CPU, so the bytes do not depend on SIMD."""
    matrix = saturation_matrix(min(s, MAX_LUT_SATURATION))
    half = 0.5 / 65535
    rows = ["LUT_3D_SIZE 2"]
    for b in (0, 1):
        for g in (0, 1):
            for r in (0, 1):
                rows.append(" ".join(repr(row[0] * r + row[1] * g + row[2] * b + half) for row in matrix))
    return ("\n".join(rows) + "\n").encode()


def look_file_paths(req: ClipRequest) -> dict[str, str]:
    """The files ``write_look_files`` writes for this clip before the encode, by kind ("saturation": the
    saturation LUT; "lut": a plain copy of a show LUT FFmpeg cannot read as it is). Named after the
    clip's temporary output, which this run owns, so two runs never share one; removed after the clip."""
    look = req.look
    paths = {}
    if (
        look is not None
        and look.cdl is not None
        and look.cdl.saturation != 1.0
        and not mixer_can_express(look.cdl.saturation)
    ):
        paths["saturation"] = req.temp_path + ".saturation.cube"
    if look is not None and look.lut is not None and not look.lut.plain:
        paths["lut"] = req.temp_path + ".lut.cube"
    return paths


def write_look_files(req: ClipRequest) -> list[str]:
    """Write this clip's look files (``look_file_paths``), each to a new file renamed into place;
    returns the paths written. A show LUT whose bytes are not those validated raises ClipFailure."""
    written: list[str] = []
    look = req.look
    for kind, path in look_file_paths(req).items():
        assert look is not None  # look_file_paths names files of a look only
        tmp = f"{path}.{os.urandom(6).hex()}"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:
                if kind == "saturation":
                    assert look.cdl is not None
                    out.write(saturation_cube(look.cdl.saturation))
                else:
                    assert look.lut is not None
                    write_plain_cube(look.lut, out)
            os.replace(tmp, path)
        except LookFileError as exc:
            raise ClipFailure(str(exc), category="io_error") from None
        finally:
            if os.path.lexists(tmp):
                os.unlink(tmp)
        written.append(path)
    return written


def lut_filter(req: ClipRequest) -> str:
    lut = req.look.lut if req.look is not None else None
    assert lut is not None
    path = look_file_paths(req).get("lut", lut.path)
    return f"lut3d=file={option_value(path)}:interp=tetrahedral"


def look_chain(req: ClipRequest, scale: str, out_matrix: str, interlaced: bool) -> str:
    """The -vf head when a look is set: scale to the proxy raster in RGB, the look, back to Y'CbCr
    with the output's matrix (``scale`` is the clip's scale filter without output options)."""
    look = req.look
    assert look is not None
    chain = [f"{scale},format=rgb48le"]
    if look.cdl is not None:
        chain += cdl_filters(look.cdl, look_file_paths(req).get("saturation"))
    if look.lut is not None:
        chain.append(lut_filter(req))
    back = f"scale=flags={SCALE_FLAGS}:out_color_matrix={out_matrix}:out_range=tv"
    if interlaced:
        back += ":interl=1"
    chain.append(back)
    return ",".join(chain)


# ------------------------------------------------------------------------------------------- text


def _literal(text: str) -> str:
    """Literal text for drawtext's expansion: '\\' and '%' escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%")


def _eif(expr: str, digits: int | None = None) -> str:
    return "%{eif:" + expr + ":d" + (f":{digits}" if digits else "") + "}"


def timecode_text(burn) -> str:
    """drawtext expansion showing the running source timecode of frame ``n``: the start frame
    count plus n, counted back to HH:MM:SS:FF (drop-frame: ;FF and 2 or 4 frame numbers skipped
    each minute except every tenth), as proxx_core.features.burnin.frames_to_timecode does."""
    from proxx_core.kit import timecode_base, timecode_to_frames

    fps, drop = timecode_base(burn.frame_rate)
    drop = drop if burn.drop_frame else 0
    start = timecode_to_frames(burn.start_timecode, burn.frame_rate)
    f = f"({start}+n)"
    if drop:
        per_ten, per_minute = fps * 600 - 9 * drop, fps * 60 - drop
        f = f"({f}+{9 * drop}*floor({f}/{per_ten})+{drop}*max(0,floor((mod({f},{per_ten})-{drop})/{per_minute})))"
    sep = ";" if drop else ":"
    return (
        _eif(f"mod(floor({f}/{fps * 3600}),24)", 2)
        + ":"
        + _eif(f"mod(floor({f}/{fps * 60}),60)", 2)
        + ":"
        + _eif(f"mod(floor({f}/{fps}),60)", 2)
        + sep
        + _eif(f"mod({f},{fps})", 2)
    )


def overlay_text(overlay, burn) -> str:
    """The drawtext ``text`` of one element: literal segments escaped, tokens as expansions."""
    out = []
    for seg in overlay.segments:
        if seg.kind == "text":
            out.append(_literal(seg.text))
        elif seg.kind == "timecode":
            out.append(timecode_text(burn))
        elif seg.kind == "frame":
            out.append(_eif("n"))
        else:  # pragma: no cover - the core resolves every other token
            raise ValueError(seg.kind)
    return "".join(out)


def _placement(position: str, margin: int, border: int) -> tuple[str, str]:
    edge = margin + border
    col, row = ("center", "center") if position == "center" else (position.split("_")[1], position.split("_")[0])
    x = {"left": f"{edge}", "center": "(w-tw)/2", "right": f"w-tw-{edge}"}[col]
    y = {"top": f"{edge}", "center": "(h-lh)/2", "bottom": f"h-lh-{edge}"}[row]
    return x, y


def text_filters(req: ClipRequest) -> list[str]:
    """One drawtext per burn-in element, then the watermark; sizes in pixels of the output frame."""
    burn = req.burn_in
    assert burn is not None
    margin = max(2, round(req.height * 0.02))
    filters = []
    for overlay in burn.overlays():
        size = max(8, round(overlay.size * req.height))
        border = max(1, round(size * 0.2)) if overlay.boxed else 0
        x, y = _placement(overlay.position, margin, border)
        opts = [
            f"fontfile={option_value(font_path())}",
            f"text={option_value(overlay_text(overlay, burn))}",
            "expansion=normal",
            "y_align=font",
            f"fontsize={size}",
            f"fontcolor={option_value(f'white@{overlay.opacity:g}')}",
            f"x={option_value(x)}",
            f"y={option_value(y)}",
        ]
        if overlay.boxed:
            opts += ["box=1", f"boxcolor={option_value(BOX_COLOR)}", f"boxborderw={border}"]
        filters.append("drawtext=" + ":".join(opts))
    return filters
