"""Layout path arithmetic and the divided rasters (pure parts of proxx_core.features.layouts)."""

from __future__ import annotations

import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxx_core.contract.media import FrameRate, VideoInfo
from proxx_core.features.layouts import (
    divided_raster,
    folder_problems,
    folders_to_create,
    make_folders,
    op_atom_targets,
    proxy_folder,
)


def video(w, h, sar="1:1"):
    return VideoInfo(codec="prores", width=w, height=h, sample_aspect=sar, frame_rate=FrameRate.parse("25"))


@pytest.mark.parametrize(
    "size, raster, want",
    [
        ((1920, 1080), "half", (960, 540)),
        ((3840, 2160), "half", (1920, 1080)),
        ((4096, 2160), "half", (2048, 1080)),
        ((3840, 2160), "quarter", (960, 540)),
        ((1440, 1080), "half", (720, 540)),
    ],
)
def test_premiere_rasters_divide_the_source(size, raster, want):
    assert divided_raster(video(*size), raster, "yuv420p") == want


@pytest.mark.parametrize(
    "size, raster, pix_fmt, words",
    [
        ((321, 181), "half", "yuv422p10le", "does not divide by 2"),
        ((968, 1084), "quarter", "yuv420p", "odd height"),  # 242x271: 4:2:0 needs an even height
        ((1004, 1000), "quarter", "yuv422p", "odd width"),  # 251x250: 4:2:2 needs an even width
    ],
)
def test_rasters_a_profile_cannot_represent_are_refused_with_the_reason(size, raster, pix_fmt, words):
    got = divided_raster(video(*size), raster, pix_fmt)
    assert isinstance(got, str) and words in got


def test_quarter_1080_is_fine_in_422():
    assert divided_raster(video(1920, 1080), "quarter", "yuv422p10le") == (480, 270)


@given(
    st.integers(2, 9000),
    st.integers(2, 9000),
    st.sampled_from(["half", "quarter"]),
    st.sampled_from(["yuv420p", "yuv422p", "yuv422p10le"]),
)
def test_a_divided_raster_is_exact_or_refused(w, h, raster, pix_fmt):
    got = divided_raster(video(w, h), raster, pix_fmt)
    d = {"half": 2, "quarter": 4}[raster]
    if isinstance(got, tuple):
        assert (got[0] * d, got[1] * d) == (w, h) and got[0] % 2 == 0
        assert "420" not in pix_fmt or got[1] % 2 == 0


def test_op_atom_targets_one_file_per_track_and_channel():
    t = op_atom_targets("/o/Avid MediaFiles/MXF/1/A001.mxf", [2, 1])
    assert [x.path.rsplit("/", 1)[1] for x in t] == ["A001.V1.mxf", "A001.A1.mxf", "A001.A2.mxf", "A001.A3.mxf"]
    assert [(x.stream, x.channel) for x in t[1:]] == [(0, 0), (0, 1), (1, 0)]


def test_proxy_folder_created_only_as_a_leaf_and_never_through_a_symlink(tmp_path):
    src = tmp_path / "day1" / "A001.mov"
    src.parent.mkdir()
    src.write_bytes(b"x")
    folders = folders_to_create("proxy_subfolder", str(src), None)
    assert folders == (proxy_folder(str(src)),)
    assert folder_problems("proxy_subfolder", folders[0], "/sources/0") == []
    make_folders(folders)
    assert os.path.isdir(folders[0])
    # a symlinked Proxy (pointing anywhere) is refused at validation and at run time
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    src2 = tmp_path / "day2" / "B.mov"
    src2.parent.mkdir()
    (src2.parent / "Proxy").symlink_to(elsewhere)
    problems = folder_problems("proxy_subfolder", proxy_folder(str(src2)), "/sources/1")
    assert problems and "symbolic link" in problems[0].message
    with pytest.raises(NotADirectoryError):
        make_folders((proxy_folder(str(src2)),))
    # a missing parent is never created
    with pytest.raises(FileNotFoundError):
        make_folders((str(tmp_path / "nope" / "Proxy"),))


def test_avid_folders_live_inside_output_dir(tmp_path):
    folders = folders_to_create("avid_mxf", "/any/src.mov", str(tmp_path))
    assert folders == (
        str(tmp_path / "Avid MediaFiles"),
        str(tmp_path / "Avid MediaFiles" / "MXF"),
        str(tmp_path / "Avid MediaFiles" / "MXF" / "1"),
    )
    make_folders(folders)
    assert os.path.isdir(folders[-1])


_NAMES = st.sampled_from(["A001.mov", "a001.MXF", "A001.mp4", "Café.mov", "Cafe\u0301.mov", "B.mov", "b.MOV"])


@given(st.lists(st.tuples(st.sampled_from(["d1", "d2"]), _NAMES), min_size=1, max_size=6, unique=True))
def test_proxy_subfolder_collisions_are_exactly_same_folder_same_folded_stem(entries):
    """Two sources collide exactly when they share a folder and their names, without extension,
    are equal after NFC and lower-casing (what case-insensitive, normalising volumes compare)."""
    import unicodedata

    from proxx_core.contract.profiles import PROFILES
    from proxx_core.features.layouts import output_paths

    sources = tuple(f"/nonexistent-proxx/{d}/{n}" for d, n in entries)
    keys = [(d, unicodedata.normalize("NFC", n.rsplit(".", 1)[0]).lower()) for d, n in entries]
    paths, problems = output_paths(
        sources,
        layout="proxy_subfolder",
        output_dir=None,
        template=None,
        job_id="j",
        profile=PROFILES["offline_prores_proxy_1920x1080"],
    )
    assert paths == [f"/nonexistent-proxx/{d}/Proxy/{n.rsplit('.', 1)[0]}.mov" for d, n in entries]
    assert len(problems) == len(keys) - len(set(keys))
