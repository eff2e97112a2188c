"""The write gate (proxx_core.io.writegate): every file Proxx writes is never a source, never outside the
job's folders, written to a temporary sibling and checked again right before the rename; the names
only known after the probe (OP-Atom audio files) and the temporary-name space are refused at
validate, never discovered after the encode."""

from __future__ import annotations

import hashlib
import os

import pytest

from proxx_core.io import writegate
from proxx_core.io.writegate import WriteGate, WriteRefused
from proxxtest import job_doc


def _sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


def _source(tmp_path, name="A001.mov", data=b"camera original\n"):
    (tmp_path / "media").mkdir(exist_ok=True)
    src = tmp_path / "media" / name
    src.write_bytes(data)
    return src


def test_write_bytes_writes_atomically_inside_a_declared_folder(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    gate = WriteGate([str(_source(tmp_path))], [str(out)])
    digest = gate.write_bytes(str(out / "day1.otio"), b"{}\n", replace=False)
    assert (out / "day1.otio").read_bytes() == b"{}\n" and digest == hashlib.sha256(b"{}\n").hexdigest()
    with pytest.raises(FileExistsError):
        gate.write_bytes(str(out / "day1.otio"), b"other\n", replace=False)
    gate.write_bytes(str(out / "day1.otio"), b"other\n", replace=True)
    assert sorted(os.listdir(out)) == ["day1.otio"], "a temporary file was left behind"


@pytest.mark.parametrize("how", ["same path", "other case", "hard link", "symlinked folder"])
def test_a_source_is_refused_by_name_and_by_identity(tmp_path, how):
    src = _source(tmp_path, "Day1.otio")
    out = src.parent
    if how == "same path":
        final = out / "Day1.otio"
    elif how == "other case":
        final = out / "day1.OTIO"  # one file on case-insensitive volumes (APFS, NTFS, SMB)
    elif how == "hard link":
        final = out / "day1.otio"
        os.link(src, final)
    else:
        link = tmp_path / "link"
        link.symlink_to(out, target_is_directory=True)
        out, final = link, link / "Day1.otio"
    gate = WriteGate([str(src)], [str(out)])
    with pytest.raises(WriteRefused, match="is a source of this job"):
        gate.write_bytes(str(final), b"sidecar", replace=True)
    assert src.read_bytes() == b"camera original\n"


def test_a_file_outside_the_declared_folders_is_refused(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    gate = WriteGate([str(_source(tmp_path))], [str(out)])
    with pytest.raises(WriteRefused, match="outside the folders this job writes"):
        gate.write_bytes(str(tmp_path / "elsewhere.otio"), b"x", replace=True)
    assert not (tmp_path / "elsewhere.otio").exists()


def test_the_gate_checks_again_right_before_the_rename(tmp_path, monkeypatch):
    """A source that appears at the final name while the temp is written (a hard link) is not replaced."""
    src = _source(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    final = out / "day1.ale"
    gate = WriteGate([str(src)], [str(out)])
    real_fsync = os.fsync

    def fsync_then_race(fd):
        real_fsync(fd)
        if not final.exists():
            os.link(src, final)

    monkeypatch.setattr(writegate.os, "fsync", fsync_then_race)
    with pytest.raises(WriteRefused, match="is a source"):
        gate.write_bytes(str(final), b"ALE", replace=True)
    assert src.read_bytes() == b"camera original\n"
    assert sorted(os.listdir(out)) == ["day1.ale"], "the temporary file was left behind"


def test_check_tree_refuses_a_source_under_a_tool_written_folder(tmp_path):
    out = tmp_path / "out"
    (out / "ASCMHL").mkdir(parents=True)
    src = out / "ASCMHL" / "A001.mov"
    src.write_bytes(b"camera original\n")
    gate = WriteGate([str(src)], [str(out)])
    with pytest.raises(WriteRefused, match="at or under"):
        gate.check_tree(str(out / "ASCMHL"))
    gate.check_tree(str(out / "other"))


def test_check_tree_refuses_a_hard_link_to_a_source_under_the_folder(tmp_path):
    src = _source(tmp_path)
    out = tmp_path / "out"
    (out / "ascmhl").mkdir(parents=True)
    os.link(src, out / "ascmhl" / "ascmhl_chain.xml")  # a tool writing the chain would write into the source
    with pytest.raises(WriteRefused, match="at or under"):
        WriteGate([str(src)], [str(out)]).check_tree(str(out / "ascmhl"))


# --- names known only after the probe, and the temporary-name space: refused at validate -------------


@pytest.fixture(scope="module")
def engines():
    from proxx_core.support.plugins import load_engines

    return load_engines()


def test_avid_audio_file_at_a_source_is_refused_at_validate(proxx, write_job, media, outdir):
    """An OP-Atom A-file name is known after the probe (one per audio channel): it was caught only
    after the encode; now validate refuses it and run never starts an encode."""
    src = media("A001.mov", size="256x144", frames=3, audio=(2,))
    avid = outdir / "Avid MediaFiles" / "MXF" / "1"
    avid.mkdir(parents=True)
    from proxx_core.features.layouts import avid_clip_name

    base = avid_clip_name("A001_proxy.mxf", str(src), "offline_dnxhr_lb_1920x1080").removesuffix(".mxf")
    victim = avid / f"{base}.A2.mxf"  # the unique name this clip's 2nd channel gets (layouts.avid_clip_name)
    os.link(media("B001.mov", size="256x144", frames=3), victim)  # a camera file named like the 2nd channel
    before = _sha(victim)
    doc = job_doc(
        [src, victim],
        outdir,
        profile="offline_dnxhr_lb_1920x1080",
        jobspec_version="1.1.0",
        layout="avid_mxf",
        existing_outputs="overwrite",
    )
    job = write_job(doc)
    r = proxx("validate", job)
    assert r.returncode == 1, r.stdout + r.stderr
    assert f"{victim.name} is a source of this job" in r.stdout + r.stderr
    assert proxx("run", job).returncode == 1
    assert _sha(victim) == before
    assert sorted(os.listdir(avid)) == [victim.name]


def test_a_source_in_the_temporary_name_space_is_refused_at_validate(proxx, write_job, media, outdir):
    """The FFmpeg audio pass writes ``<temp>.audio`` beside the clip's temp: a source there was
    overwritten (FFmpeg -y) and then deleted."""
    src = media("A001.mov")
    victim = outdir / ".p001.mp4.proxx-partial.audio"
    os.link(media("B001.mov"), victim)
    before = _sha(victim)
    job = write_job(
        job_doc([src, victim], outdir, profile="offline_h264_1280x720", overwrite=True, output_name_template="p{index}")
    )
    r = proxx("run", job)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "named like Proxx's temporary file" in r.stdout
    assert _sha(victim) == before


def test_a_hard_link_to_a_source_at_the_audio_pass_name_is_not_written_through(
    proxx, write_job, media, outdir, tmp_path
):
    """The name check cannot see a hard link made under another name; FFmpeg would truncate the
    source through it. The engine drops that name first: the source keeps its bytes."""
    src = media("A001.mov")
    other = media("B001.mov")
    before = _sha(other)
    os.link(other, outdir / ".A001_proxy.mp4.proxx-partial.audio")
    r = proxx("run", write_job(job_doc([src], outdir, profile="offline_h264_1280x720")))
    assert r.returncode == 0, r.stderr
    assert _sha(other) == before
    assert sorted(os.listdir(outdir)) == ["A001_proxy.mp4"]
