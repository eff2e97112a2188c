"""ALE and ASC MHL deliverables read back by tools Proxx did not write (issue 21): OpenTimelineIO's
ALE adapter (name, start timecode with its drop-frame flag, rate, duration, and the original's
format) and the ASC's own ``ascmhl`` (verify after Media Composer indexed an Avid folder, and with
proxies in several ``Proxy/`` folders). Plus the ALE control-character rule of issue 20."""

from __future__ import annotations

import os
import subprocess
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from proxx_deliver.ale import AleRow, ale_text, unwritable
from proxx_deliver.clips import DeliveredClip
from proxx_engine_ffmpeg.testmedia import make_source
from proxxtest import job_doc


def spec(srcs, outdir, deliverables, **extra):
    return job_doc(srcs, outdir, jobspec_version="1.1.0", job_id="day1", deliverables=deliverables, **extra)


def read_ale(path: Path):
    return otio.adapters.read_from_file(str(path), "ale")


def ascmhl_verify(ascmhl: Path, root: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ascmhl / "ascmhl-debug"), "verify", str(root)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


# --- ALE -------------------------------------------------------------------------------------------


def test_ale_describes_the_1080_originals_of_a_half_raster_job(proxx, write_job, media, outdir):
    srcs = [
        media(n, size="1920x1080", rate="25/1", frames=2, timecode="01:00:00:00", audio=(2,))
        for n in ("A001_C001.mov", "A001_C002.mov")
    ]
    r = proxx("run", write_job(spec(srcs, outdir, ["ale"], raster="half")))
    assert r.returncode == 0, r.stderr
    res = r.json()
    assert {c["output"]["verification"]["output_info"]["video"]["width"] for c in res["clips"]} == {960}
    ale = read_ale(outdir / "day1.ale")
    assert ale.metadata["ALE"]["header"]["VIDEO_FORMAT"] == "1080"
    for clip in ale.find_clips():
        assert clip.metadata["ALE"]["Video Format"] == "1080"
        assert clip.metadata["ALE"]["Image Size"] == "1920x1080"
    # the adapter's own writer derives the format from Image Size: a round trip keeps it 1080
    again = otio.adapters.write_to_string(
        otio.schema.SerializableCollection(children=[c.deepcopy() for c in ale.find_clips()]), "ale"
    )
    assert "VIDEO_FORMAT\t1080" in again


#: a DIT's card: 23.976 dialogue, 59.94 DF slow motion, 29.97 DF; start timecodes as the camera wrote them
MIXED = {
    "A001_C001.mov": dict(rate="24000/1001", timecode="10:00:00:12", frames=4),
    "A001_C002.mov": dict(rate="60000/1001", timecode="10:00:01;04", frames=5),
    "A001_C003.mov": dict(rate="30000/1001", timecode="10:01:00;02", frames=3),
    "A001_C004.mov": dict(rate="24000/1001", timecode="11:00:00:00", frames=3),
}


def test_mixed_frame_rates_get_one_ale_per_rate_listed_in_the_result(proxx, write_job, media, outdir):
    srcs = [media(name, size="64x36", audio=(1,), **kw) for name, kw in MIXED.items()]
    job = write_job(spec(srcs, outdir, ["ale", "otio"]))
    v = proxx("validate", job)
    assert v.returncode == 0, v.stdout + v.stderr
    r = proxx("run", job)
    assert r.returncode == 0, r.stderr
    ales = [d for d in r.json()["deliverables"] if d["name"] == "ale"]
    assert [Path(d["path"]).name for d in ales] == ["day1.23.976fps.ale", "day1.29.97fps.ale", "day1.59.94fps.ale"]
    seen = {}
    for d in ales:
        ale = read_ale(Path(d["path"]))
        fps = ale.metadata["ALE"]["header"]["FPS"]
        for clip in ale.find_clips():
            rate = clip.source_range.start_time.rate
            assert abs(rate - float(Fraction(MIXED[clip.name + ".mov"]["rate"]))) < 1e-3, (clip.name, rate)
            seen[clip.name] = (
                fps,
                otio.opentime.to_timecode(
                    clip.source_range.start_time, rate, ";" in MIXED[clip.name + ".mov"]["timecode"]
                ),
                round(clip.source_range.duration.to_frames(rate)),
            )
    assert seen == {
        Path(n).stem: (
            {"24000/1001": "23.976", "30000/1001": "29.97", "60000/1001": "59.94"}[kw["rate"]],
            kw["timecode"],
            kw["frames"],
        )
        for n, kw in MIXED.items()
    }
    # source order within each file
    first = [c.name for c in read_ale(Path(ales[0]["path"])).find_clips()]
    assert first == ["A001_C001", "A001_C004"]


def test_ale_source_file_names_the_original_and_proxy_path_the_proxy(proxx, write_job, media, outdir):
    src = media("A001_C001.mov", size="64x36", rate="25/1", frames=3, timecode="01:00:00:00", audio=(1,))
    r = proxx("run", write_job(spec([src], outdir, ["ale"])))
    assert r.returncode == 0, r.stderr
    out = r.json()["clips"][0]["output"]
    (clip,) = read_ale(outdir / "day1.ale").find_clips()
    assert clip.media_reference.target_url == "A001_C001.mov"  # Source File: the original's file name
    assert clip.metadata["ALE"]["Camera File"] == str(src)
    assert (clip.metadata["ALE"]["Proxy Path"], clip.metadata["ALE"]["Proxy SHA-256"]) == (out["path"], out["sha256"])


@pytest.mark.parametrize("name", ["A001\tC001.mov", "A001\u2028C001.mov", "A001\nC001.mov"])
def test_ale_refuses_names_it_would_change_at_validate(name, proxx, write_job, media, outdir):
    src = media(name, size="64x36", rate="25/1", frames=2, audio=())
    # (a template rendering the source name is refused anyway for tab and newline: proxy names are checked)
    r = proxx("validate", write_job(spec([src], outdir, ["ale", "otio"], output_name_template="clip_{index}")))
    assert r.returncode == 1, r.stdout
    (p,) = r.json()["problems"]
    assert p["path"] == "/deliverables/0"
    assert repr(str(src)) in p["message"] and "rename the file" in p["message"] and "U+" in p["message"]
    ok = proxx("validate", write_job(spec([src], outdir, ["otio"], output_name_template="clip_{index}")))
    assert ok.returncode == 0, ok.stdout


def _clip(name: str, path: str) -> DeliveredClip:
    return DeliveredClip(
        index=1,
        name=name,
        tape=name or "T",
        source_path=path,
        proxy_path="/out/p.mov",
        proxy_sha256="0" * 64,
        rate=Fraction(25),
        drop_frame=False,
        start_frame=90000,
        frames=5,
        width=64,
        height=36,
        audio_channels=(2,),
        audio_rate=48000,
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(min_size=1, max_size=12))
def test_an_ale_carries_every_name_exactly_or_refuses_it(stem):
    path = f"/media/card/{stem}.mov"
    row = AleRow(
        clip=_clip(stem, path), source_width=1920, source_height=1080, proxy_path="/out/p.mov", proxy_sha256="0" * 64
    )
    if unwritable(stem):
        with pytest.raises(ValueError, match="U\\+"):
            ale_text([row])
        return
    (clip,) = otio.adapters.read_from_string(ale_text([row]), "ale").find_clips()
    assert (clip.name, clip.metadata["ALE"]["Camera File"], clip.metadata["ALE"]["Tape"]) == (stem, path, stem)
    assert clip.media_reference.target_url == os.path.basename(path)


# --- ASC MHL ---------------------------------------------------------------------------------------


def test_avid_mxf_history_ignores_the_index_files_media_composer_writes(
    tmp_path, proxx, write_job, outdir, ascmhl, mhl_env
):
    src = make_source(
        tmp_path / "A001C007.mov", size="320x180", frames=3, audio=(2,), reel="A001", timecode="10:00:00:00"
    )
    doc = spec([src], outdir, ["ale", "mhl"], layout="avid_mxf", profile="offline_dnxhr_lb_1920x1080")
    r = proxx("run", write_job(doc), env_extra=mhl_env)
    assert r.returncode == 0, r.stderr
    out = r.json()["clips"][0]["output"]
    files = [Path(f["path"]) for f in out["files"]]
    folder = files[0].parent
    assert folder == outdir / "Avid MediaFiles" / "MXF" / "1" and len(files) == 3
    ok = ascmhl_verify(ascmhl, outdir)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # Media Composer indexes the folder
    (folder / "msmMMOB.mdb").write_bytes(b"\x00mob index")
    (folder / "msmFMID.pmr").write_bytes(b"\x00fmid")
    ok = ascmhl_verify(ascmhl, outdir)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    # still a seal: a changed audio file and an unknown new file are caught
    (folder / "stray.mxf").write_bytes(b"not sealed")
    assert ascmhl_verify(ascmhl, outdir).returncode != 0
    (folder / "stray.mxf").unlink()
    data = bytearray(files[2].read_bytes())
    data[len(data) // 2] ^= 0x01
    files[2].write_bytes(bytes(data))
    bad = ascmhl_verify(ascmhl, outdir)
    assert bad.returncode != 0 and files[2].name in bad.stdout + bad.stderr
    (clip,) = read_ale(outdir / "day1.ale").find_clips()
    assert clip.media_reference.target_url == "A001C007.mov"
    assert clip.metadata["ALE"]["Proxy Path"] == str(folder)  # the managed-media folder, not the V1 file
    assert clip.metadata["ALE"]["Tracks"] == "VA1A2"


def test_proxy_subfolder_seals_each_proxy_folder_with_its_own_history(
    tmp_path, proxx, write_job, outdir, ascmhl, mhl_env
):
    cards = tmp_path / "cards"
    srcs = []
    for card, name in (("A001", "A001C001.mov"), ("A001", "A001C002.mov"), ("B002", "B002C001.mov")):
        (cards / card).mkdir(parents=True, exist_ok=True)
        srcs.append(make_source(cards / card / name, size="64x36", frames=3, audio=(1,)))
    doc = spec(srcs, outdir, ["ale", "mhl"], layout="proxy_subfolder")
    del doc["output_name_template"]
    job = write_job(doc)
    v = proxx("validate", job, env_extra=mhl_env)
    assert v.returncode == 0, v.stdout
    r = proxx("run", job, env_extra=mhl_env)
    assert r.returncode == 0, r.stderr
    res = r.json()
    assert all(d["error"] is None for d in res["deliverables"]), res["deliverables"]
    mhl = [Path(d["path"]) for d in res["deliverables"] if d["name"] == "mhl"]
    for root in (outdir, cards / "A001" / "Proxy", cards / "B002" / "Proxy"):
        assert [p for p in mhl if p.parent == root / "ascmhl" and p.name == "ascmhl_chain.xml"], (root, mhl)
        ok = ascmhl_verify(ascmhl, root)
        assert ok.returncode == 0, (root, ok.stdout + ok.stderr)
    generation = next(p for p in mhl if p.parent == cards / "A001" / "Proxy" / "ascmhl" and p.suffix == ".mhl")
    assert "A001C001.mov" in generation.read_text("utf-8") and "A001C002.mov" in generation.read_text("utf-8")
    proxy = cards / "B002" / "Proxy" / "B002C001.mov"
    data = bytearray(proxy.read_bytes())
    data[len(data) // 2] ^= 0x01
    proxy.write_bytes(bytes(data))
    assert ascmhl_verify(ascmhl, cards / "B002" / "Proxy").returncode != 0


def test_proxy_subfolder_mhl_refuses_an_output_dir_that_would_nest_histories(tmp_path, proxx, write_job, mhl_env):
    card = tmp_path / "A001"
    card.mkdir()
    src = make_source(card / "A001C001.mov", size="64x36", frames=2, audio=())
    doc = spec([src], tmp_path, ["mhl"], layout="proxy_subfolder")
    del doc["output_name_template"]
    r = proxx("validate", write_job(doc), env_extra=mhl_env)
    assert r.returncode == 1, r.stdout
    (p,) = r.json()["problems"]
    assert p["path"] == "/deliverables/0" and str(card / "Proxy") in p["message"]
    assert "choose an output_dir outside the source folders" in p["message"]
