"""JobSpec 1.1 ``look``: a show LUT (3D ``.cube``) and/or an ASC CDL, parsed and checked at validate.

Why here and not in an engine: a malformed look file must fail the job before any encode, with the
file and the line, the same way on every engine. The parsed values (and each file's SHA-256) are
what the engines apply and what the result records.

Accepted ``.cube``: the Adobe/IRIDAS 3D form: optional ``TITLE``, ``LUT_3D_SIZE N`` (2..129),
``DOMAIN_MIN 0 0 0`` / ``DOMAIN_MAX 1 1 1`` (other domains are refused: FFmpeg reads them
differently from the spec), in any order before the data, ``#`` comments and blank lines anywhere,
then exactly N^3 rows of three finite numbers, red changing fastest; a UTF-8 byte order mark and
CR LF line ends too. 1D cubes and Resolve's ``LUT_*_INPUT_RANGE`` are refused with the reason, never
read approximately. The parse is streamed (bounded memory) and tells whether the file is already
*plain* (the form FFmpeg's own reader parses exactly as this one); an engine hands any other file to
its reader as the plain copy ``write_plain_cube`` makes, so the LUT applied is the LUT validated.

Accepted CDL: inline numbers, or an ASC CDL XML file: ``.cdl`` (ColorDecisionList/ColorDecision/
ColorCorrection) or ``.cc`` (a ColorCorrection root), each with a SOPNode (Slope, Offset, Power)
and an optional SatNode (Saturation). A ``.cdl`` must hold exactly one ColorCorrection: a list of
several would need a rule saying which clip gets which, and there is none.
"""

from __future__ import annotations

import itertools
import math
import os
import re
from collections.abc import Iterator
from typing import BinaryIO

import attrs

from ..contract.errors import Problem, cut, shown
from ..contract.look import Cdl, CubeLut, Look
from ..io.digests import file_sha256, short_sha256
from ..io.safeopen import NotAFile, open_regular
from ..support.specvalues import InlineCdl, LookSpec

MAX_CUBE_BYTES = 128 * 1024 * 1024
MAX_CDL_BYTES = 1024 * 1024
MIN_CUBE_SIZE, MAX_CUBE_SIZE = 2, 129
#: FFmpeg reads a .cube with 512-byte line buffers; a longer line would be split differently
MAX_CUBE_LINE = 500

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
#: .cube syntax is ASCII: whitespace is what C's isspace() says (as FFmpeg's reader), digits are 0-9
#: (Python's \s and \d would also take NBSP or Arabic-Indic digits, which no other reader does)
_CUBE_SPACE = " \t\v\f"
_ROW = re.compile(rf"\s*({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})\s*", re.ASCII)
_SIZE = re.compile(r"LUT_3D_SIZE\s+(\d+)\s*", re.ASCII)
_DOMAIN = re.compile(rf"(DOMAIN_MIN|DOMAIN_MAX)\s+({_NUMBER})\s+({_NUMBER})\s+({_NUMBER})\s*", re.ASCII)
_TITLE = re.compile(r"TITLE(\s.*)?", re.ASCII)
_KEYWORD_SPLIT = re.compile(r"[ \t\v\f]+")


class LookFileError(ValueError):
    """A look file that cannot be used, with the line (or XML element) at fault."""


def _open_bounded(path: str, limit: int) -> BinaryIO:
    """A look file opened for binary reading, or LookFileError saying why not (absolute, exists, a
    regular file, readable, at most ``limit`` bytes). Opened with :mod:`.safeopen`: a FIFO or a device
    put in the file's place is refused, never waited on, and the bytes read are those of the file
    checked."""
    if not os.path.isabs(path):
        raise LookFileError(f"{shown(path)} is not an absolute path; write the full path starting at /")
    try:
        fh = open_regular(path)
    except NotAFile as exc:
        raise LookFileError(str(exc)) from None
    except FileNotFoundError:
        raise LookFileError(f"{path}: no such file; check the path and that the volume is mounted") from None
    except PermissionError as exc:
        raise LookFileError(f"{path}: not readable ({exc.strerror}); give this user read permission") from None
    except OSError as exc:
        raise LookFileError(f"{path}: cannot be accessed ({exc.strerror}); check permissions") from None
    size = os.fstat(fh.fileno()).st_size
    if size > limit:
        fh.close()
        raise LookFileError(f"{path}: is {size} bytes; the limit for this kind of file is {limit} bytes")
    return fh


def _read_bounded(path: str, limit: int) -> bytes:
    """The file's bytes (at most ``limit`` + 1 of them), or LookFileError saying why not."""
    with _open_bounded(path, limit) as fh:
        try:
            return fh.read(limit + 1)
        except OSError as exc:
            raise LookFileError(f"{path}: not readable ({exc.strerror}); give this user read permission") from None


def _finite(text: str, path: str, line: int) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise LookFileError(f"{path}, line {line}: {text!r} is not a finite number")
    return value


#: LUT sizes (and plain form) of cube files this process has already checked, by the SHA-256 of their
#: bytes: `validate` and `run` check a spec's files, then plan with them (a 65-point cube takes ~1 s)
_CHECKED_CUBES: dict[str, tuple[int, bool]] = {}
#: read size of the hashing pass
_CHUNK = 1 << 16
#: the largest magnitude a 32-bit float holds: FFmpeg (and most graders) read cube values as floats
_FLOAT32_MAX = 3.4028234663852886e38


def _hash_file(path: str) -> str:
    """SHA-256 of the file, read in chunks."""
    h = file_sha256()
    with _open_bounded(path, MAX_CUBE_BYTES) as fh:
        try:
            while chunk := fh.read(_CHUNK):
                h.update(chunk)
        except OSError as exc:
            raise LookFileError(f"{path}: not readable ({exc.strerror}); give this user read permission") from None
    return h.hexdigest()


def parse_cube(path: str) -> CubeLut:
    """Parse and check a 3D ``.cube`` (see the module docstring); LookFileError names the line.
    Streamed: memory stays a few lines whatever the LUT's size (a 129-point cube is ~60 MB of text).
    Bytes already checked in this process (same SHA-256) are not parsed again."""
    digest = _hash_file(path)
    if digest not in _CHECKED_CUBES:
        _CHECKED_CUBES[digest] = _check_cube(path, digest)
    size, plain = _CHECKED_CUBES[digest]
    return CubeLut(path=path, sha256=digest, size=size, plain=plain)


def _check_cube(path: str, digest: str) -> tuple[int, bool]:
    """(LUT size, plain form) of the file whose bytes hash to ``digest``, checked line by line."""
    scan = _CubeScan(path)
    with _open_bounded(path, MAX_CUBE_BYTES) as fh:
        for _row in scan.rows(fh):
            pass
    if scan.sha256() != digest:
        raise LookFileError(f"{path}: changed while it was being read; check that nothing is still writing it")
    assert scan.size is not None
    return scan.size, scan.plain


def write_plain_cube(lut: CubeLut, out: BinaryIO) -> None:
    """Write ``lut`` in the plain form (``LUT_3D_SIZE N`` then the N^3 rows, each the file's own three
    numbers, LF line ends: no BOM, title, domain or comment) that every cube reader, FFmpeg's included,
    parses exactly as ``parse_cube`` did. LookFileError if the file no longer has the bytes validated."""
    scan = _CubeScan(lut.path)
    with _open_bounded(lut.path, MAX_CUBE_BYTES) as fh:
        for k, row in enumerate(scan.rows(fh)):
            if k == 0:
                out.write(f"LUT_3D_SIZE {scan.size}\n".encode())
            out.write(b" ".join(row) + b"\n")
    if scan.sha256() != lut.sha256:
        raise LookFileError(
            f"{lut.path} changed since the job was validated; the clip was not made with a LUT "
            f"other than the one validated: run the job again"
        )


class _CubeScan:
    """One streaming pass over a .cube: checks every line (see the module docstring), yields the data
    rows as their three number tokens, hashes the bytes read, and tells whether the file is already
    in the plain form (``plain``: FFmpeg's lut3d parser reads the user's file itself exactly as this
    parse does: no BOM, no CR, every keyword at the start of its line with single spaces)."""

    def __init__(self, path: str):
        self.path = path
        self.size: int | None = None
        self.plain = True
        self._hash = file_sha256()

    def sha256(self) -> str:
        return self._hash.hexdigest()

    def _lines(self, fh: BinaryIO) -> Iterator[tuple[int, str]]:
        """(number, text without its line end); lines longer than MAX_CUBE_LINE bytes refused before
        they are held (FFmpeg reads lines into 512-byte buffers: a longer one would be split)."""
        for number in itertools.count(1):
            try:
                raw = fh.readline(MAX_CUBE_LINE + 3)
            except OSError as exc:
                raise LookFileError(f"{self.path}: not readable ({exc.strerror})") from None
            if not raw:
                return
            self._hash.update(raw)
            body = raw[:-1] if raw.endswith(b"\n") else raw
            if body.endswith(b"\r"):
                body = body[:-1]
                self.plain = False
            if len(body) > MAX_CUBE_LINE or (not raw.endswith(b"\n") and len(raw) > MAX_CUBE_LINE):
                raise LookFileError(f"{self.path}, line {number}: longer than {MAX_CUBE_LINE} bytes")
            if number == 1 and body.startswith(b"\xef\xbb\xbf"):
                body = body[3:]
                self.plain = False  # a UTF-8 byte order mark: FFmpeg would not see the first keyword
            if b"\r" in body:
                raise LookFileError(
                    f"{self.path}, line {number}: a carriage return inside the line; line ends are LF or CR LF"
                )
            try:
                yield number, body.decode("utf-8")
            except UnicodeDecodeError:
                raise LookFileError(
                    f"{self.path}, line {number}: not UTF-8/ASCII text; is this a .cube file?"
                ) from None

    # a streaming .cube parser: one branch per keyword and per malformed-line case, each refusal naming
    # its line; split up, the line number and the header state would have to travel between pieces
    def rows(self, fh: BinaryIO) -> Iterator[list[bytes]]:  # noqa: C901
        path = self.path
        size: int | None = None
        rows = 0
        last = 0
        for number, line in self._lines(fh):
            stripped = line.strip(_CUBE_SPACE)
            if not stripped or stripped.startswith("#"):
                continue
            last = number
            if stripped[0] in "+-.0123456789":
                if size is None:
                    raise LookFileError(
                        f"{path}, line {number}: data before LUT_3D_SIZE; a 3D .cube declares "
                        f"LUT_3D_SIZE N before its rows"
                    )
                m = _ROW.fullmatch(line)
                if not m:
                    raise LookFileError(
                        f"{path}, line {number}: expected three numbers (R G B), found {_cut(stripped)!r}"
                    )
                for v in m.groups():
                    if abs(_finite(v, path, number)) > _FLOAT32_MAX:
                        raise LookFileError(
                            f"{path}, line {number}: {_cut(v)!r} is beyond the range of a 32-bit "
                            f"float, which LUT readers use"
                        )
                rows += 1
                if rows > size**3:
                    raise LookFileError(
                        f"{path}, line {number}: more than the {size**3} rows LUT_3D_SIZE {size} declares"
                    )
                yield [v.encode() for v in m.groups()]
                continue
            if rows:
                raise LookFileError(
                    f"{path}, line {number}: {_cut(stripped)!r} after the first data row; keywords come before the rows"
                )
            words = _KEYWORD_SPLIT.split(stripped)
            if line != stripped or " ".join(words) != stripped:
                self.plain = False  # FFmpeg matches keywords at the start of the line, single-spaced
            keyword = words[0]
            if keyword == "TITLE" and _TITLE.fullmatch(stripped):
                continue
            if keyword == "LUT_3D_SIZE":
                m = _SIZE.fullmatch(stripped)
                if not m or size is not None:
                    raise LookFileError(
                        f"{path}, line {number}: {_cut(stripped)!r}: LUT_3D_SIZE must appear once, with one integer"
                    )
                size = int(m.group(1))
                if m.group(1) != str(size):
                    self.plain = False  # FFmpeg reads "017" as octal 15
                if not MIN_CUBE_SIZE <= size <= MAX_CUBE_SIZE:
                    raise LookFileError(
                        f"{path}, line {number}: LUT_3D_SIZE {size} is outside {MIN_CUBE_SIZE}..{MAX_CUBE_SIZE}"
                    )
                self.size = size
                continue
            if keyword in ("DOMAIN_MIN", "DOMAIN_MAX"):
                m = _DOMAIN.fullmatch(stripped)
                if not m:
                    raise LookFileError(f"{path}, line {number}: {keyword} takes three numbers")
                values = tuple(_finite(v, path, number) for v in m.groups()[1:])
                want = (0.0, 0.0, 0.0) if keyword == "DOMAIN_MIN" else (1.0, 1.0, 1.0)
                if values != want:
                    raise LookFileError(
                        f"{path}, line {number}: {keyword} {' '.join(m.groups()[1:])} is not "
                        f"supported; Proxx applies LUTs on the 0..1 domain only: re-export the LUT "
                        f"with {keyword} {' '.join(str(int(v)) for v in want)}"
                    )
                continue
            if keyword == "LUT_1D_SIZE":
                raise LookFileError(
                    f"{path}, line {number}: a 1D .cube LUT; Proxx applies 3D .cube LUTs only: "
                    f"export the LUT as 3D (LUT_3D_SIZE)"
                )
            if keyword in ("LUT_1D_INPUT_RANGE", "LUT_3D_INPUT_RANGE"):
                raise LookFileError(
                    f"{path}, line {number}: {keyword} is not supported; re-export the LUT with a 0..1 input range"
                )
            raise LookFileError(
                f"{path}, line {number}: unknown keyword {_cut(keyword)!r}; a 3D .cube has TITLE, "
                f"LUT_3D_SIZE, DOMAIN_MIN, DOMAIN_MAX and rows of three numbers"
            )
        if size is None:
            raise LookFileError(f"{path}, line {max(last, 1)}: no LUT_3D_SIZE line; is this a 3D .cube file?")
        if rows != size**3:
            raise LookFileError(f"{path}, line {last}: {rows} data rows; LUT_3D_SIZE {size} needs {size**3}")


def _cut(text: str, limit: int = 60) -> str:
    return cut(text, limit)


# ---------------------------------------------------------------------------------------------- CDL


@attrs.define
class _Element:
    name: str
    line: int
    attributes: dict[str, str]
    children: list[_Element] = attrs.field(factory=list)
    text: str = ""

    def local(self) -> str:
        return self.name.rsplit(" ", 1)[-1].rsplit(":", 1)[-1]

    def kids(self, name: str) -> list[_Element]:
        return [c for c in self.children if c.local() == name]


def _parse_xml(raw: bytes, path: str) -> _Element:
    """A minimal element tree with line numbers (ElementTree keeps none). DTDs are refused, so no
    entity can expand."""
    from xml.parsers import expat  # only CDL files need it

    parser = expat.ParserCreate(namespace_separator=" ")
    stack: list[_Element] = []
    root: list[_Element] = []

    def start(name: str, attributes: dict[str, str]) -> None:
        el = _Element(name=name, line=parser.CurrentLineNumber, attributes=dict(attributes))
        (stack[-1].children if stack else root).append(el)
        stack.append(el)

    def end(_name: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        if stack:
            stack[-1].text += data

    def doctype(*_args: object) -> None:
        raise LookFileError(f"{path}, line {parser.CurrentLineNumber}: a DOCTYPE; ASC CDL files have none")

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.CharacterDataHandler = chars
    parser.StartDoctypeDeclHandler = doctype
    try:
        parser.Parse(raw, True)
    except expat.ExpatError as exc:
        raise LookFileError(
            f"{path}, line {exc.lineno}: not well-formed XML ({expat.ErrorString(exc.code)}, column {exc.offset + 1})"
        ) from None
    return root[0]


def _numbers(el: _Element, count: int, path: str) -> tuple[float, ...]:
    parts = el.text.split()
    if len(parts) != count or not all(re.fullmatch(_NUMBER, p) for p in parts):
        raise LookFileError(
            f"{path}, line {el.line}: <{el.local()}> must hold {count} number(s), found {_cut(el.text.strip())!r}"
        )
    return tuple(_finite(p, path, el.line) for p in parts)


def _one(parent: _Element, name: str, path: str, *, required: bool = True) -> _Element | None:
    found = parent.kids(name)
    if len(found) > 1:
        raise LookFileError(f"{path}, line {found[1].line}: a second <{name}> in <{parent.local()}>")
    if not found and required:
        raise LookFileError(f"{path}, line {parent.line}: <{parent.local()}> has no <{name}>")
    return found[0] if found else None


def parse_cdl_file(path: str) -> Cdl:
    """Parse an ASC CDL ``.cdl`` or ``.cc`` file; LookFileError names the line of the fault."""
    raw = _read_bounded(path, MAX_CDL_BYTES)
    root = _parse_xml(raw, path)
    if root.local() == "ColorCorrection":
        cc = root
    elif root.local() == "ColorDecisionList":
        found = [c for d in root.kids("ColorDecision") for c in d.kids("ColorCorrection")]
        if len(found) != 1:
            where = found[1].line if found else root.line
            raise LookFileError(
                f"{path}, line {where}: a .cdl applied to a whole job must hold exactly one "
                f"ColorDecision/ColorCorrection; found {len(found)}. Export that shot's .cc"
            )
        cc = found[0]
    elif root.local() == "ColorCorrectionCollection":
        found = root.kids("ColorCorrection")
        if len(found) != 1:
            raise LookFileError(
                f"{path}, line {root.line}: a .ccc applied to a whole job must hold exactly one "
                f"ColorCorrection; found {len(found)}"
            )
        cc = found[0]
    else:
        raise LookFileError(
            f"{path}, line {root.line}: root element <{root.local()}> is not an ASC CDL "
            f"(ColorDecisionList or ColorCorrection)"
        )
    sop = _one(cc, "SOPNode", path)
    assert sop is not None
    slope = _numbers(_one(sop, "Slope", path), 3, path)  # type: ignore[arg-type]
    offset = _numbers(_one(sop, "Offset", path), 3, path)  # type: ignore[arg-type]
    power = _numbers(_one(sop, "Power", path), 3, path)  # type: ignore[arg-type]
    saturation = 1.0
    sat = _one(cc, "SatNode", path, required=False)
    if sat is not None:
        saturation = _numbers(_one(sat, "Saturation", path), 1, path)[0]  # type: ignore[arg-type]
    cdl = Cdl(
        slope=(slope[0], slope[1], slope[2]),
        offset=(offset[0], offset[1], offset[2]),
        power=(power[0], power[1], power[2]),
        saturation=saturation,
        path=path,
        sha256=short_sha256(raw).hexdigest(),
        id=cc.attributes.get("id"),
    )
    why = cdl_value_problem(cdl)
    if why:
        raise LookFileError(f"{path}, line {sop.line}: {why}")
    return cdl


def cdl_value_problem(cdl: Cdl) -> str | None:
    """ASC CDL's ranges: slope >= 0, power > 0, saturation >= 0 (offset is free)."""
    if any(s < 0 for s in cdl.slope):
        return f"slope {list(cdl.slope)} has a negative value; ASC CDL slopes are >= 0"
    if any(p <= 0 for p in cdl.power):
        return f"power {list(cdl.power)} has a value <= 0; ASC CDL powers are > 0"
    if cdl.saturation < 0:
        return f"saturation {cdl.saturation} is negative; ASC CDL saturation is >= 0"
    return None


def look_problems(value: LookSpec, where: str = "/look") -> tuple[Look | None, list[Problem]]:
    """Read the JobSpec's ``look`` (already schema-checked for shape): its files parsed, its numbers checked."""
    problems: list[Problem] = []
    lut = cdl = None
    if value.lut is not None:
        try:
            lut = parse_cube(value.lut)
        except LookFileError as exc:
            problems.append(Problem(path=f"{where}/lut", message=str(exc)))
    if isinstance(value.cdl, str):
        try:
            cdl = parse_cdl_file(value.cdl)
        except LookFileError as exc:
            problems.append(Problem(path=f"{where}/cdl", message=str(exc)))
    elif isinstance(value.cdl, InlineCdl):
        numbers = value.cdl
        cdl = Cdl(slope=numbers.slope, offset=numbers.offset, power=numbers.power, saturation=numbers.saturation)
        why = cdl_value_problem(cdl)
        if why:
            problems.append(Problem(path=f"{where}/cdl", message=why))
            cdl = None
    if problems:
        return None, problems
    if lut is None and cdl is None:
        return None, [Problem(path=where, message="names neither a lut nor a cdl; add one or remove /look")]
    return Look(cdl=cdl, lut=lut), []


def changed_files(look: Look) -> list[str]:
    """The LUT file, if its bytes are no longer those validated (re-exported mid-job): the clip must
    not be made with a LUT other than the one the result records. (A CDL file's numbers are in the
    plan itself, so a later change to the file cannot reach the output.)"""
    if look.lut is None:
        return []
    try:
        now = _hash_file(look.lut.path)  # in chunks: a 129-point cube is ~55 MB
    except LookFileError:
        now = None
    return [] if now == look.lut.sha256 else [look.lut.path]
