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
  v1.2 specifies); values clamped to 0..1 after SOP and after saturation.
- Text is drawn last, on the final Y'CbCr frame, with the font shipped in ``fonts/`` named by its
  absolute path (no fontconfig lookup), so every node draws the same pixels.

Escaping: every option value is quoted for both levels FFmpeg parses (the filter's options, then
the graph), so no text or path can end a filter or inject one; drawtext's own ``%{...}``/``\\``
expansion is escaped in literal text.
"""

from __future__ import annotations

import re
from decimal import Decimal
from importlib import resources

from proxx_core import ClipRequest

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


def cdl_filters(cdl) -> list[str]:
    """ASC CDL on rgb48le: out = clamp(in * slope + offset)^power, then saturation about Rec.709
    luma. Identity parts are left out (they would change nothing)."""
    filters = []
    if (cdl.slope, cdl.offset, cdl.power) != ((1.0, 1.0, 1.0), (0.0, 0.0, 0.0), (1.0, 1.0, 1.0)):
        parts = []
        for channel, s, o, p in zip("rgb", cdl.slope, cdl.offset, cdl.power, strict=True):
            expr = f"65535*pow(clip(val/65535*{num(s)}+{num(o)},0,1),{num(p)})+0.5"
            parts.append(f"{channel}={option_value(expr)}")
        filters.append("lutrgb=" + ":".join(parts))
    if cdl.saturation != 1.0:
        s = cdl.saturation
        coefs = []
        for out in "rgb":
            for k, inp in enumerate("rgb"):
                c = LUMA[k] * (1 - s) + (s if out == inp else 0.0)
                coefs.append(f"{out}{inp}={_plain(c)}")
        filters.append("colorchannelmixer=" + ":".join(coefs))
    return filters


def lut_filter(lut) -> str:
    return f"lut3d=file={option_value(lut.path)}:interp=tetrahedral"


def look_chain(req: ClipRequest, scale: str, out_matrix: str, interlaced: bool) -> str:
    """The -vf head when a look is set: scale to the proxy raster in RGB, the look, back to Y'CbCr
    with the output's matrix (``scale`` is the clip's scale filter without output options)."""
    look = req.look
    assert look is not None
    chain = [f"{scale},format=rgb48le"]
    if look.cdl is not None:
        chain += cdl_filters(look.cdl)
    if look.lut is not None:
        chain.append(lut_filter(look.lut))
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
    each minute except every tenth), as proxx_core.burnin.frames_to_timecode does."""
    from proxx_core.burnin import timecode_base, timecode_to_frames

    fps, drop = timecode_base(burn.frame_rate)
    drop = drop if burn.drop_frame else 0
    start = timecode_to_frames(burn.start_timecode, burn.frame_rate)
    f = f"({start}+n)"
    if drop:
        per_ten, per_minute = fps * 600 - 9 * drop, fps * 60 - drop
        f = f"({f}+{9 * drop}*floor({f}/{per_ten})+{drop}*max(0,floor((mod({f},{per_ten})-{drop})/{per_minute})))"
    sep = ";" if drop else ":"
    return (_eif(f"mod(floor({f}/{fps * 3600}),24)", 2) + ":" + _eif(f"mod(floor({f}/{fps * 60}),60)", 2) + ":"
            + _eif(f"mod(floor({f}/{fps}),60)", 2) + sep + _eif(f"mod({f},{fps})", 2))


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
        opts = [f"fontfile={option_value(font_path())}", f"text={option_value(overlay_text(overlay, burn))}",
                "expansion=normal", "y_align=font", f"fontsize={size}",
                f"fontcolor={option_value(f'white@{overlay.opacity:g}')}", f"x={option_value(x)}",
                f"y={option_value(y)}"]
        if overlay.boxed:
            opts += ["box=1", f"boxcolor={option_value(BOX_COLOR)}", f"boxborderw={border}"]
        filters.append("drawtext=" + ":".join(opts))
    return filters
