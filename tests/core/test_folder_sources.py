"""JobSpec 1.2 folder sources: a folder or card named in sources is expanded in place, in name
order, recorded file by file in the result; older specs keep refusing a folder."""

import json
import os

from proxxtest import job_doc, run_cli


def _card(root, media):
    clip = root / "XDROOT" / "Clip"
    clip.mkdir(parents=True)
    for name in ("C0002", "C0001"):
        os.replace(media(f"{name}.MXF", video="mpeg2_422", frames=4, audio=(1,)), clip / f"{name}.MXF")
        (clip / f"{name}M01.XML").write_text("<x/>")
    (root / "XDROOT" / "MEDIAPRO.XML").write_text("<x/>")
    return root


def test_a_card_in_a_12_spec_runs_its_clips_and_the_result_records_them(tmp_path, media, outdir, write_job):
    card = _card(tmp_path / "A001", media)
    single = media("insert.mov", frames=4)
    doc = job_doc([single, card], outdir, profile="offline_h264_1280x720", jobspec_version="1.2.0")
    r = run_cli("run", write_job(doc))
    assert r.returncode == 0, r.stderr
    result = r.json()
    got = [os.path.relpath(c["source"]["path"], tmp_path) for c in result["clips"]]
    assert got == ["media/insert.mov", "A001/XDROOT/Clip/C0001.MXF", "A001/XDROOT/Clip/C0002.MXF"]
    assert result["jobspec"]["sources"] == [
        str(single),
        *(str(card / "XDROOT" / "Clip" / n) for n in ("C0001.MXF", "C0002.MXF")),
    ]
    (folder,) = result["source_folders"]
    assert folder["given"] == str(card) and folder["index"] == 1
    assert folder["cards"] == [{"root": str(card), "kind": "Sony XDCAM"}]
    assert {os.path.basename(s["path"]) for s in folder["skipped"]} == {"C0001M01.XML", "C0002M01.XML", "MEDIAPRO.XML"}
    # the same card gives the same job on a rerun (job id from the expanded list)
    again = run_cli("validate", write_job(doc))
    assert again.json()["job_id"] == result["job_id"]


def test_folder_sources_need_12_and_an_empty_folder_is_refused(tmp_path, media, outdir, write_job):
    card = _card(tmp_path / "B001", media)
    old = run_cli("validate", write_job(job_doc([card], outdir, jobspec_version="1.1.0")))
    assert old.returncode == 1 and '"jobspec_version": "1.2.0"' in old.stderr
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "notes.txt").write_text("x")
    r = run_cli("validate", write_job(job_doc([empty], outdir, jobspec_version="1.2.0")))
    assert r.returncode == 1
    problem = r.json()["problems"][0]
    assert problem["path"] == "/sources/0"
    assert "no media files in it (skipped notes.txt: text file)" in problem["message"]
    p2 = tmp_path / "P2"
    for rel in ("CONTENTS/VIDEO/0001AB.MXF", "CONTENTS/AUDIO/0001AB00.MXF"):
        (p2 / rel).parent.mkdir(parents=True, exist_ok=True)
        (p2 / rel).write_bytes(b"x")
    r = run_cli("validate", write_job(job_doc([p2], outdir, jobspec_version="1.2.0")))
    assert r.returncode == 1 and "Panasonic P2" in json.dumps(r.json()["problems"])


def test_a_12_spec_may_leave_codec_container_and_fps_mode_to_its_profile(media, outdir, write_job):
    """1.0 and 1.1 specs confirm codec and container by hand; a 1.2 spec takes them from the profile
    (a value it gives must still agree), and the result records the filled-in spec."""
    doc = job_doc([media("a.mov")], outdir, profile="offline_h264_1280x720", jobspec_version="1.2.0")
    for key in ("codec", "container", "fps_mode"):
        del doc[key]
    r = run_cli("run", write_job(doc))
    assert r.returncode == 0, r.stderr
    spec = r.json()["jobspec"]
    assert (spec["codec"], spec["container"], spec["fps_mode"]) == ("h264", "mp4", "preserve_source")
    wrong = run_cli("validate", write_job({**doc, "container": "mov"}))
    assert wrong.returncode == 1 and "disagrees with profile" in wrong.stderr
    older = run_cli("validate", write_job({**doc, "jobspec_version": "1.1.0"}))
    assert older.returncode == 1 and "missing required key 'codec'" in older.stderr
