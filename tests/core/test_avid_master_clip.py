"""avid_mxf read by readers Proxx did not write: pyaaf2 (the AAF library Avid-facing tools use to link
OP-Atom media) and MediaInfo.

pyaaf2's ``link_external_mxf`` builds the master clip from the first file it links and skips the
shared packages of the others, so every file of a clip must describe the whole clip: linking the
files in any order must give one master clip with V1 and A1…An at their edit rates and the clip's
start timecode. Dates and the writing application are Proxx's, the audio clip-wrapped, the file
names unique per clip and the bytes the same on every rerun.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import subprocess
from fractions import Fraction
from pathlib import Path

import aaf2
import pytest
from hypothesis import given
from hypothesis import strategies as st

from proxx_core.features.layouts import AVID_NAME_MAX, avid_clip_name, op_atom_targets
from proxx_engine_ffmpeg.mxfklv import RIP_KEY, is_partition, iter_klvs, read_kl
from proxx_engine_ffmpeg.testmedia import make_source
from proxxtest import job_doc, run_cli

PROFILE = "offline_dnxhr_lb_1920x1080"
#: 2026-03-14 09:26:53 UTC: the sources' modification time, which the files carry as their date
MTIME = 1773480413


def _doc(sources, output_dir, **extra) -> dict:
    return job_doc(sources, output_dir, profile=PROFILE, jobspec_version="1.1.0", layout="avid_mxf", **extra)


def _run(tmp: Path, doc: dict, name: str = "job.json") -> dict:
    job = tmp / name
    job.write_text(json.dumps(doc), encoding="utf-8")
    r = run_cli("run", job)
    assert r.returncode == 0, r.stderr
    return r.json()


def _clip_files(clip: dict) -> list[str]:
    """V1 then A1…An, as the result lists them."""
    files = [f["path"] for f in clip["output"]["files"] or [clip["output"]]]  # a clip without audio: null
    return sorted(files, key=lambda p: (".A" in p, len(p), p))


#: (name, rate, timecode, audio streams' channels, FFmpeg's TimecodeComponent start, drop, rounded fps)
CASES = {
    "23.976": ("A001C007.mov", "24000/1001", "10:00:00:00", (2, 1), 864000, False, 24),
    # 10:00:00;00 drop-frame: 10 h x 107 892 frames per drop-frame hour
    "29.97DF": ("B002C011.mov", "30000/1001", "10:00:00;00", (2,), 1078920, True, 30),
}


@pytest.fixture(scope="module", params=sorted(CASES))
def written(request, tmp_path_factory):
    name, rate, timecode, audio, *_ = CASES[request.param]
    tmp = tmp_path_factory.mktemp(request.param.replace(".", "_"))
    src = make_source(tmp / name, size="320x180", rate=rate, frames=6, audio=audio, reel="A001", timecode=timecode)
    os.utime(src, (MTIME, MTIME))
    (tmp / "out").mkdir()
    result = _run(tmp, _doc([src], tmp / "out"))
    return request.param, src, _clip_files(result["clips"][0])


def _link(paths: list[str], where: Path | None = None) -> list[tuple]:
    """Link ``paths`` in this order into a new AAF (in memory unless ``where``); what its master clips look like."""
    with aaf2.open(str(where), "w") if where else aaf2.open() as f:
        for p in paths:
            f.content.link_external_mxf(p)
        masters = [m for m in f.content.mobs if isinstance(m, aaf2.mobs.MasterMob)]
        out = []
        for m in masters:
            slots = []
            for s in m.slots:
                seg = s.segment
                tc = next(iter(seg.components), seg) if isinstance(seg, aaf2.components.Sequence) else seg
                extra = (
                    (tc["Start"].value, tc["Drop"].value, tc["FPS"].value)
                    if s.media_kind == "Timecode"
                    else s["PhysicalTrackNumber"].value
                )
                slots.append((s.slot_id, s.media_kind, s.name, Fraction(s.edit_rate), extra))
            out.append((m.name, slots))
        return out


def test_every_order_of_linking_gives_one_master_clip_with_every_track(written, tmp_path):
    case, src, paths = written
    _name, rate, _tc, audio, start, drop, fps = CASES[case]
    channels = sum(audio)
    assert len(paths) == 1 + channels
    video_rate = Fraction(rate)
    want = [
        (1, "Timecode", "TC1", video_rate, (start, drop, fps)),
        (2, "Picture", "V1", video_rate, 1),
        *((2 + k, "Sound", f"A{k}", Fraction(48000), k) for k in range(1, channels + 1)),
    ]
    orders = list(itertools.permutations(paths))
    assert len(orders) in (6, 24)
    for i, order in enumerate(orders):
        masters = _link(list(order), tmp_path / "first.aaf" if i == 0 else None)
        names = [os.path.basename(p) for p in order]
        assert len(masters) == 1, (names, masters)
        clip_name, slots = masters[0]
        assert clip_name == src.stem, names
        assert slots == want, names


def test_files_carry_proxx_dates_identification_and_clip_wrapped_audio(written):
    _case, _src, paths = written
    date = dt.datetime.fromtimestamp(MTIME, tz=dt.UTC).strftime("%Y-%m-%d %H:%M:%S")
    with aaf2.open() as f:  # in memory
        for p in paths:
            f.content.link_external_mxf(p)
        created = {m.name or "file": m["CreationTime"].value for m in f.content.mobs}
    assert {str(v)[:19] for v in created.values()} == {date}, created
    for p in paths:
        general, *tracks = _mediainfo(p)
        assert general["Format_Profile"] == "OP-Atom", p
        assert general["Encoded_Date"].startswith(date), (p, general.get("Encoded_Date"))
        assert general["Encoded_Application_CompanyName"] == "Proxx", p
        from proxx_engine_ffmpeg import __version__

        assert general["Encoded_Application_Version"].startswith(__version__), p
        kinds = [t["@type"] for t in tracks if t["@type"] in ("Video", "Audio")]
        if ".A" in os.path.basename(p):
            assert kinds == ["Audio"], p
            audio = next(t for t in tracks if t["@type"] == "Audio")
            assert audio["Channels"] == "1" and audio["Format_Settings_Wrapping"].startswith("Clip"), audio
        else:
            assert kinds == ["Video"], p
        _assert_partitions_consistent(p)


def _mediainfo(path) -> list[dict]:
    proc = subprocess.run(["mediainfo", "--Output=JSON", str(path)], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)["media"]["track"]


def _assert_partitions_consistent(path: str) -> None:
    """Each partition pack's ThisPartition is where it is, PreviousPartition the one before, the
    footer offset the footer's, and the RIP lists them all: the rewrite moved every offset."""
    with open(path, "rb") as fh:
        size = os.fstat(fh.fileno()).st_size
        found, footers, rip = [], set(), None
        for pos, key, vpos, n in iter_klvs(fh, 0, size):
            fh.seek(vpos)
            value = fh.read(min(n, 64))
            if is_partition(key):
                this, prev, footer = (int.from_bytes(value[o : o + 8], "big") for o in (8, 16, 24))
                assert this == pos and prev == (found[-1] if found else 0), (path, pos, this, prev)
                found.append(pos)
                footers.add(footer)
            elif key == RIP_KEY:
                fh.seek(vpos)
                data = fh.read(n)
                rip = [int.from_bytes(data[i + 4 : i + 12], "big") for i in range(0, n - 4, 12)]
        assert footers == {found[-1]} and rip == found, (path, found, footers, rip)
        key, _v, _n = read_kl(fh, found[-1])
        assert key[13] == 0x04  # the last partition is the footer


def test_names_are_unique_per_clip_and_every_byte_is_the_same_on_a_rerun(tmp_path):
    """Two cards with a clip of the same name (Sony cameras name every card's first clip C0001) go to
    one Avid folder: each clip gets its own files; a rerun writes the same names and bytes."""
    cards = []
    for day, mtime in (("day1", MTIME), ("day2", MTIME + 86400)):
        (tmp_path / day).mkdir()
        src = make_source(
            tmp_path / day / "C0001.mov", size="320x180", frames=4, audio=(2,), reel=day.upper(), timecode="01:00:00:00"
        )
        os.utime(src, (mtime, mtime))
        cards.append(src)
    out = tmp_path / "out"
    out.mkdir()
    first = _run(tmp_path, _doc([cards[0]], out, output_name_template="{source_name}"), "day1.json")
    second = _run(tmp_path, _doc([cards[1]], out, output_name_template="{source_name}"), "day2.json")
    files = [_clip_files(r["clips"][0]) for r in (first, second)]
    names = [os.path.basename(p) for f in files for p in f]
    assert len(set(names)) == 6 and all(n.startswith("C0001_") for n in names), names
    assert all(len(n) <= AVID_NAME_MAX for n in names)
    folder = out / "Avid MediaFiles" / "MXF" / "1"
    assert sorted(p.name for p in folder.iterdir()) == sorted(names)
    digests = {p: _sha256(p) for f in files for p in f}
    again = _run(tmp_path, _doc([cards[0]], out, output_name_template="{source_name}", overwrite=True), "re.json")
    assert _clip_files(again["clips"][0]) == files[0]
    assert {p: _sha256(p) for p in files[0]} == {p: digests[p] for p in files[0]}
    assert {f["path"]: f["sha256"] for f in again["clips"][0]["output"]["files"]} == {p: digests[p] for p in files[0]}


def _sha256(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@given(stem=st.text(min_size=1, max_size=200).filter(lambda s: "/" not in s and "\0" not in s))
def test_avid_names_stay_within_the_limit_and_keep_the_clip_name(stem):
    name = avid_clip_name(stem + ".mxf", "/cards/A/" + stem + ".mov", PROFILE)
    assert name == avid_clip_name(stem + ".mxf", "/cards/A/" + stem + ".mov", PROFILE)  # deterministic
    base = name.removesuffix(".mxf")
    head, unique = base.rsplit("_", 1)
    assert len(unique) == 12 and int(unique, 16) >= 0
    assert stem.startswith(head) or head == "clip"
    for target in op_atom_targets("/o/" + name, [999]):
        assert len(os.path.basename(target.path)) <= AVID_NAME_MAX


def test_files_that_describe_only_themselves_fail_verification(tmp_path, monkeypatch):
    """The core checks every file's master clip itself: an engine that leaves FFmpeg's one-track
    packages (what avid_mxf wrote before) fails verification and publishes nothing."""
    from proxx_core.pipeline.check import check_document
    from proxx_core.pipeline.runner import run_job
    from proxx_core.support.plugins import load_engines
    from proxx_engine_ffmpeg import engine as ffengine
    from proxx_engine_ffmpeg import opatom

    def stamp_only(req, records=()):
        seed = opatom.clip_seed(req)
        opatom.stamp_umids(req.temp_path, seed, "V1")
        for k, t in enumerate(req.extra_outputs, start=1):
            opatom.stamp_umids(t.temp_path, seed, f"A{k}")

    monkeypatch.setattr(ffengine, "finish_clip", stamp_only)
    src = make_source(tmp_path / "X.mov", size="320x180", frames=4, audio=(2,), reel="A001")
    (tmp_path / "out").mkdir()
    engines = load_engines()
    checked = check_document(_doc([src], tmp_path / "out"), engines)
    assert checked.job is not None, checked.problems
    clip = run_job(checked.job, engines).clips[0]
    assert clip.status == "FAILED" and clip.failure.category == "verification_failed", clip.failure
    failed = {c.name: c.actual for c in clip.output.verification.failed_checks()}
    assert {"V1:master_clip_tracks", "A1:master_clip_tracks", "A2:master_clip_tracks"} <= set(failed), failed
    assert failed["A2:master_clip_tracks"] == [""]  # FFmpeg's own: its one, unnamed track
    assert not any(
        p.suffix == ".mxf" and not p.name.startswith(".")
        for p in (tmp_path / "out" / "Avid MediaFiles" / "MXF" / "1").iterdir()
    )


def test_a_clip_without_audio_or_reel_is_one_master_clip_too(tmp_path):
    """No audio: the clip is V1 alone; no reel name: FFmpeg writes no tape package, nothing to extend."""
    src = make_source(tmp_path / "D001.mov", size="320x180", frames=4, audio=(), reel=None)
    (tmp_path / "out").mkdir()
    clip = _run(tmp_path, _doc([src], tmp_path / "out"))["clips"][0]
    (v1,) = _clip_files(clip)
    ((name, slots),) = _link([v1], tmp_path / "x.aaf")
    assert name == "D001" and [(s[1], s[2]) for s in slots] == [("Timecode", "TC1"), ("Picture", "V1")]
    _assert_partitions_consistent(v1)


def test_ffmpeg_output_the_rewriter_does_not_know_fails_the_clip_naming_the_file(tmp_path, monkeypatch):
    from proxx_core.pipeline.check import check_document
    from proxx_core.pipeline.runner import run_job
    from proxx_core.support.plugins import load_engines
    from proxx_engine_ffmpeg import avidclip
    from proxx_engine_ffmpeg.mxfklv import MxfLayoutError

    def unknown(_h):
        raise MxfLayoutError("no file package linked by the essence container data")

    monkeypatch.setattr(avidclip, "_packages", unknown)
    src = make_source(tmp_path / "Y.mov", size="320x180", frames=4, audio=(1,), reel="A001")
    (tmp_path / "out").mkdir()
    engines = load_engines()
    checked = check_document(_doc([src], tmp_path / "out"), engines)
    clip = run_job(checked.job, engines).clips[0]
    assert clip.status == "FAILED" and clip.failure.category == "engine_failed", clip.failure
    assert ".V1.mxf" in clip.failure.message and "one Avid master clip" in clip.failure.message
    assert clip.commands and clip.commands[0]["exit_code"] == 0  # the encode's record is kept
    assert not any(p.suffix == ".mxf" for p in (tmp_path / "out" / "Avid MediaFiles" / "MXF" / "1").iterdir())


def test_each_file_package_references_its_own_track_of_the_tape(written):
    """The tape (reel) package holds every track too, and each file's essence is its own track of it."""
    _case, _src, paths = written
    labels = ["V1"] + [f"A{k}" for k in range(1, len(paths))]
    with aaf2.open() as f:
        for p in paths:
            f.content.link_external_mxf(p)
        sources = [m for m in f.content.mobs if isinstance(m, aaf2.mobs.SourceMob)]
        tapes = [m for m in sources if isinstance(m.descriptor, aaf2.essence.TapeDescriptor)]
        assert [m.name for m in tapes] == ["A001"]
        tape = tapes[0]
        assert [s.name for s in tape.slots] == ["TC1", *labels]
        master = next(m for m in f.content.mobs if isinstance(m, aaf2.mobs.MasterMob))
        for slot in list(master.slots)[1:]:
            clip = next(iter(slot.segment.components))
            file_mob = next(m for m in sources if m.mob_id == clip["SourceID"].value)
            (essence,) = [s for s in file_mob.slots if s.media_kind in ("Picture", "Sound")]
            ref = next(iter(essence.segment.components))
            assert ref["SourceID"].value == tape.mob_id
            assert ref["SourceMobSlotID"].value == slot.slot_id == 2 + labels.index(slot.name), slot.name


def test_unique_names_keep_the_collision_and_never_a_source_rules(tmp_path, write_job, proxx):
    """Two identical copies of a clip (same name, size and time: a card copied twice) still collide and are
    refused; an output that would land on a source is refused."""
    import shutil

    out = tmp_path / "out"
    folder = out / "Avid MediaFiles" / "MXF" / "1"
    folder.mkdir(parents=True)
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    src = make_source(tmp_path / "a" / "C0001.mov", size="96x54", frames=2, audio=(1,), reel="A001")
    copy = Path(shutil.copy2(src, tmp_path / "b" / "C0001.mov"))
    r = proxx("validate", write_job(_doc([src, copy], out, output_name_template="{source_name}")))
    assert r.returncode == 1 and "would both write" in r.stdout, r.stdout
    stem = avid_clip_name("C0001.mxf", str(src), PROFILE).removesuffix(".mxf")
    victim = make_source(folder / f"{stem}.V1.mxf", size="96x54", frames=2, audio=(), reel="A001")
    r = proxx("validate", write_job(_doc([src, victim], out, output_name_template="{source_name}")))
    assert r.returncode == 1 and "would replace source" in r.stdout, r.stdout
