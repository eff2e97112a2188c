"""A job interrupted mid-run (watch-folder recovery) reports what it left behind under every
layout, not only output_dir: the proxy_subfolder and avid_mxf files and temporaries too."""

from __future__ import annotations

import os

from proxx_core.features.layouts import avid_clip_name
from proxx_core.pipeline.results import interrupted


def _doc(sources, **extra) -> dict:
    return {
        "jobspec_version": "1.1.0",
        "sources": [str(s) for s in sources],
        "proxy_profile": "offline_prores_proxy_1920x1080",
        "codec": "prores",
        "container": "mov",
        "fps_mode": "preserve_source",
        **extra,
    }


def test_proxy_subfolder_reports_the_proxy_folders_files(tmp_path):
    cards = [tmp_path / "A001", tmp_path / "B001"]
    for card in cards:
        (card / "Proxy").mkdir(parents=True)
        (card / "C001.mov").write_bytes(b"camera")
    (cards[0] / "Proxy" / ".C001.mov.proxx-partial").write_bytes(b"half")
    (cards[1] / "Proxy" / "C001.mov").write_bytes(b"whole?")
    res = interrupted(_doc([c / "C001.mov" for c in cards], layout="proxy_subfolder"), "owner died")
    first, second = res.clips
    assert first.output.path == str(cards[0] / "Proxy" / "C001.mov")
    assert first.output.kept_temp_path == str(cards[0] / "Proxy" / ".C001.mov.proxx-partial")
    assert "an unfinished output was left at" in first.failure.message
    assert second.output.kept_temp_path is None
    assert f"a file exists at {cards[1] / 'Proxy' / 'C001.mov'}" in second.failure.message


def test_avid_mxf_reports_every_op_atom_file(tmp_path):
    out = tmp_path / "out"
    folder = out / "Avid MediaFiles" / "MXF" / "1"
    folder.mkdir(parents=True)
    src = tmp_path / "A001C001.mov"
    src.write_bytes(b"camera")
    doc = _doc(
        [src],
        layout="avid_mxf",
        output_dir=str(out),
        output_name_template="{source_name}",
        proxy_profile="offline_dnxhr_lb_1920x1080",
        codec="dnxhr",
        container="mxf",
    )
    stem = avid_clip_name("A001C001.mxf", str(src), "offline_dnxhr_lb_1920x1080").removesuffix(".mxf")
    (folder / f"{stem}.V1.mxf").write_bytes(b"v")
    (folder / f".{stem}.A1.mxf.proxx-partial").write_bytes(b"a1")
    (folder / f".{stem}.A2.mxf.proxx-partial").write_bytes(b"a2")
    (folder / f"{stem}X.A1.mxf").write_bytes(b"another clip's")
    (clip,) = interrupted(doc, "owner died").clips
    assert clip.output.path == str(folder / f"{stem}.V1.mxf")
    assert clip.output.kept_temp_path == str(folder / f".{stem}.A1.mxf.proxx-partial")
    message = clip.failure.message
    assert f"a file exists at {folder / f'{stem}.V1.mxf'}" in message
    for k in (1, 2):
        assert f"left at {folder / f'.{stem}.A{k}.mxf.proxx-partial'}" in message
    assert f"{stem}X" not in message


def test_an_unnameable_spec_still_gives_a_result(tmp_path):
    res = interrupted(_doc(["/nowhere/C001.mov"], layout="avid_mxf"), "owner died")  # no output_dir
    (clip,) = res.clips
    assert clip.output is None and clip.failure.category == "interrupted"
    assert not os.path.exists("/nowhere")
