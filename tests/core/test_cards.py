"""Folder and camera-card sources: each card structure a DIT meets, built with its clutter, gives the
clips (in name order) and reports what it skipped and why (proxx_core.pipeline.cards)."""

import os
import socket

import pytest

from proxx_core.pipeline.cards import expand


def _tree(root, files):
    for rel in files:
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"x" * 16)
    return root


def _rel(root, paths):
    return [os.path.relpath(p, root) for p in paths]


def _skipped(root, exp):
    return {os.path.relpath(s.path.rstrip(os.sep), root): s.reason for s in exp.skipped}


CARDS = {
    "Sony XDCAM": (
        [
            "XDROOT/Clip/C0002.MXF",
            "XDROOT/Clip/C0001.MXF",
            "XDROOT/Clip/C0001M01.XML",
            "XDROOT/Clip/C0001.BIM",
            "XDROOT/Sub/C0001S01.MXF",
            "XDROOT/Edit/E0001E01.SMI",
            "XDROOT/General/info.txt",
            "XDROOT/MEDIAPRO.XML",
            "XDROOT/DISCMETA.XML",
        ],
        ["XDROOT/Clip/C0001.MXF", "XDROOT/Clip/C0002.MXF"],
        {
            "XDROOT/Clip/C0001M01.XML": "XML",
            "XDROOT/Clip/C0001.BIM": "BIM",
            "XDROOT/Sub": "card data",
            "XDROOT/MEDIAPRO.XML": "XML",
        },
    ),
    "Sony XAVC / NXCAM": (
        [
            "PRIVATE/M4ROOT/CLIP/C0001.MP4",
            "PRIVATE/M4ROOT/CLIP/C0001M01.XML",
            "PRIVATE/M4ROOT/CLIP/C0010.MP4",
            "PRIVATE/M4ROOT/SUB/C0001S03.MP4",
            "PRIVATE/M4ROOT/THMBNL/C0001T01.JPG",
            "PRIVATE/M4ROOT/MEDIAPRO.XML",
            "PRIVATE/M4ROOT/STATUS.BIN",
            "DCIM/100MSDCF/DSC0001.JPG",
            ".DS_Store",
        ],
        ["PRIVATE/M4ROOT/CLIP/C0001.MP4", "PRIVATE/M4ROOT/CLIP/C0010.MP4"],
        {
            "PRIVATE/M4ROOT/SUB": "card data",
            "PRIVATE/M4ROOT/THMBNL": "card data",
            "DCIM": "card data",
            ".DS_Store": "hidden",
            "PRIVATE/M4ROOT/CLIP/C0001M01.XML": "XML",
        },
    ),
    "AVCHD": (
        [
            "PRIVATE/AVCHD/BDMV/STREAM/00001.MTS",
            "PRIVATE/AVCHD/BDMV/STREAM/00000.MTS",
            "PRIVATE/AVCHD/BDMV/CLIPINF/00000.CPI",
            "PRIVATE/AVCHD/BDMV/PLAYLIST/00000.MPL",
            "PRIVATE/AVCHD/BDMV/INDEX.BDM",
            "PRIVATE/AVCHD/BDMV/MOVIEOBJ.BDM",
        ],
        ["PRIVATE/AVCHD/BDMV/STREAM/00000.MTS", "PRIVATE/AVCHD/BDMV/STREAM/00001.MTS"],
        {"PRIVATE/AVCHD/BDMV/CLIPINF": "card data", "PRIVATE/AVCHD/BDMV/INDEX.BDM": "BDM"},
    ),
    "Canon XF / Cinema RAW Light": (
        [
            "CONTENTS/CLIPS001/AA0001/AA000101.MXF",
            "CONTENTS/CLIPS001/AA0001/AA000102.MXF",
            "CONTENTS/CLIPS001/AA0001/AA0001.XML",
            "CONTENTS/CLIPS001/AA0001/AA000101.CPF",
            "CONTENTS/CLIPS001/A002C003_2301019K_CANON.CRM",
            "CONTENTS/CLIPS001/A002C003_2301019K_CANON.XML",
            "CONTENTS/INDEX.MIF",
            "CONTENTS/._INDEX.MIF",
        ],
        [
            "CONTENTS/CLIPS001/A002C003_2301019K_CANON.CRM",
            "CONTENTS/CLIPS001/AA0001/AA000101.MXF",
            "CONTENTS/CLIPS001/AA0001/AA000102.MXF",
        ],
        {
            "CONTENTS/CLIPS001/AA0001/AA0001.XML": "XML",
            "CONTENTS/INDEX.MIF": "MIF",
            "CONTENTS/._INDEX.MIF": "AppleDouble",
        },
    ),
    "action camera / drone (DCIM)": (
        [
            "DCIM/100GOPRO/GX010042.MP4",
            "DCIM/100GOPRO/GX020042.MP4",
            "DCIM/100GOPRO/GX010042.LRV",
            "DCIM/100GOPRO/GX010042.THM",
            "DCIM/100MEDIA/DJI_0001.MP4",
            "DCIM/100MEDIA/DJI_0001.SRT",
            "DCIM/100MEDIA/DJI_0001.LRF",
            "DCIM/100MEDIA/DJI_0002.JPG",
            "MISC/version.txt",
        ],
        ["DCIM/100GOPRO/GX010042.MP4", "DCIM/100GOPRO/GX020042.MP4", "DCIM/100MEDIA/DJI_0001.MP4"],
        {
            "DCIM/100GOPRO/GX010042.LRV": "GoPro low-resolution preview",
            "DCIM/100GOPRO/GX010042.THM": "thumbnail",
            "DCIM/100MEDIA/DJI_0001.LRF": "DJI low-resolution preview",
            "DCIM/100MEDIA/DJI_0001.SRT": "telemetry",
            "MISC": "card data",
        },
    ),
    "RED": (
        [
            "A001_0101AB.RDM/A001_C001_0101XY.RDC/A001_C001_0101XY_001.R3D",
            "A001_0101AB.RDM/A001_C001_0101XY.RDC/A001_C001_0101XY_002.R3D",
            "A001_0101AB.RDM/A001_C001_0101XY.RDC/A001_C001_0101XY.RMD",
            "A001_0101AB.RDM/A001_C002_0101ZZ.RDC/A001_C002_0101ZZ_001.R3D",
        ],
        [
            "A001_0101AB.RDM/A001_C001_0101XY.RDC/A001_C001_0101XY_001.R3D",
            "A001_0101AB.RDM/A001_C002_0101ZZ.RDC/A001_C002_0101ZZ_001.R3D",
        ],
        {
            "A001_0101AB.RDM/A001_C001_0101XY.RDC/A001_C001_0101XY_002.R3D": "spanned RED clip",
            "A001_0101AB.RDM/A001_C001_0101XY.RDC/A001_C001_0101XY.RMD": "RED metadata",
        },
    ),
}


@pytest.mark.parametrize("kind", sorted(CARDS))
def test_each_card_structure_gives_its_clips_in_order_and_reports_the_clutter(tmp_path, kind):
    files, want, skipped = CARDS[kind]
    card = _tree(tmp_path / "CARD A001", files)
    exp = expand([str(card)])
    assert [c.kind for c in exp.cards] == [kind]
    assert _rel(card, exp.sources) == want
    got = _skipped(card, exp)
    for rel, reason in skipped.items():
        assert rel in got and reason in got[rel], (rel, got.get(rel))
    taken_or_skipped = set(_rel(card, exp.sources)) | set(got)
    for rel in files:  # every file is either a source or reported, under itself or a skipped folder
        assert any(rel == t or rel.startswith(t + "/") for t in taken_or_skipped), rel
    assert not exp.problems


def test_spans_are_reported_as_nles_handle_them(tmp_path):
    gopro = expand([str(_tree(tmp_path / "g", CARDS["action camera / drone (DCIM)"][0]))])
    (span,) = gopro.spans
    assert [os.path.basename(f) for f in span.files] == ["GX010042.MP4", "GX020042.MP4"]
    assert "each chapter is its own clip" in span.handling
    red = expand([str(_tree(tmp_path / "r", CARDS["RED"][0]))])
    (span,) = red.spans
    assert len(span.files) == 2 and "first part" in span.handling
    canon = expand([str(_tree(tmp_path / "c", CARDS["Canon XF / Cinema RAW Light"][0]))])
    assert [s.recording for s in canon.spans] == ["Canon AA0001"]


def test_p2_is_refused_with_the_reason(tmp_path):
    card = _tree(
        tmp_path / "P2",
        [
            "CONTENTS/VIDEO/0001AB.MXF",
            "CONTENTS/AUDIO/0001AB00.MXF",
            "CONTENTS/AUDIO/0001AB01.MXF",
            "CONTENTS/CLIP/0001AB.XML",
            "LASTCLIP.TXT",
        ],
    )
    exp = expand([str(card)])
    assert exp.sources == () and [c.kind for c in exp.cards] == ["Panasonic P2"]
    (problem,) = exp.problems
    assert "P2" in problem.message and "CONTENTS/AUDIO" in problem.message and "rewrap" in problem.message


def test_plain_folders_folders_of_cards_and_globs(tmp_path):
    day = tmp_path / "DAY 01"
    _tree(
        day,
        [
            "B001/PRIVATE/M4ROOT/CLIP/C0001.MP4",
            "A001/XDROOT/Clip/C0001.MXF",
            "sound/wild.wav",
            "interviews/-int 1.mov",
            "interviews/ünï cödé.MXF",
            "interviews/notes.pdf",
            "interviews/._-int 1.mov",
        ],
    )
    exp = expand([str(day)])
    assert _rel(day, exp.sources) == [
        "A001/XDROOT/Clip/C0001.MXF",
        "B001/PRIVATE/M4ROOT/CLIP/C0001.MP4",
        "interviews/-int 1.mov",
        "interviews/ünï cödé.MXF",
    ]
    assert [c.kind for c in exp.cards] == ["Sony XDCAM", "Sony XAVC / NXCAM"]
    assert _skipped(day, exp)["sound/wild.wav"] == "audio-only file"
    globbed = expand([str(day / "interviews" / "*")])
    assert _rel(day, globbed.sources) == ["interviews/-int 1.mov", "interviews/ünï cödé.MXF"]
    assert expand([str(day / "nothing*")]).problems[0].message == "the pattern matches nothing"
    assert "no such file or folder" in expand([str(tmp_path / "gone")]).problems[0].message
    # a file named explicitly and again inside a folder is taken once, where first named
    mov = str(day / "interviews" / "-int 1.mov")
    assert expand([mov, str(day / "interviews")]).sources[0] == mov
    assert len(expand([mov, str(day / "interviews")]).sources) == 2


def test_order_does_not_depend_on_the_order_the_file_system_lists(tmp_path):
    names = [f"A001C{n:03d}.MOV" for n in (7, 1, 12, 3)] + ["a001c002.mov"]
    one = _tree(tmp_path / "one", names)
    two = _tree(tmp_path / "two", list(reversed(names)))
    assert (
        _rel(one, expand([str(one)]).sources)
        == _rel(two, expand([str(two)]).sources)
        == ["A001C001.MOV", "a001c002.mov", "A001C003.MOV", "A001C007.MOV", "A001C012.MOV"]
    )


def test_nothing_in_a_folder_can_block_the_walk(tmp_path):
    """A FIFO, a socket, an empty file and a link loop are skipped with reasons; none is opened."""
    folder = _tree(tmp_path / "card", ["A.mov"])
    os.mkfifo(folder / "fifo.mov")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind(str(folder / "s.mov"))
    (folder / "empty.mov").write_bytes(b"")
    (folder / "loop").symlink_to(folder)
    exp = expand([str(folder)])
    sock.close()
    assert _rel(folder, exp.sources) == ["A.mov"]
    got = _skipped(folder, exp)
    assert "not a regular file" in got["fifo.mov"] and "not a regular file" in got["s.mov"]
    assert "empty file" in got["empty.mov"] and "not followed" in got["loop"]
