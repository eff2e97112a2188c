"""JobSpec 1.1 layouts and rasters, end to end with real encodes of tiny sources.

- proxy_subfolder writes into each source folder's Proxy/ and nowhere else (tree snapshots);
- avid_mxf writes MXF OP-Atom that MediaInfo (independent of libav) reads as OP-Atom, with the tape
  name and timecode, one file per audio channel, one material package per clip;
- the per-clip relink verdict on sources built to break each NLE's rules;
- what the layouts and rasters refuse at validate.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from proxx_core.features.layouts import avid_clip_name
from proxx_engine_ffmpeg.testmedia import make_source
from proxxtest import job_doc


def spec(sources, layout, output_dir=None, profile="offline_prores_proxy_1920x1080", **extra) -> dict:
    doc = job_doc(sources, output_dir or "/unused", profile=profile, jobspec_version="1.1.0", layout=layout, **extra)
    if output_dir is None:
        del doc["output_dir"]
    if layout == "proxy_subfolder" and "output_name_template" not in extra:
        del doc["output_name_template"]
    return doc


def tree(root: Path) -> dict[str, int]:
    """Every file and folder under root (relative path -> size, -1 for folders)."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for d in dirnames:
            out[os.path.relpath(os.path.join(dirpath, d), root)] = -1
        for f in filenames:
            p = os.path.join(dirpath, f)
            out[os.path.relpath(p, root)] = os.path.getsize(p)
    return out


def mediainfo(path) -> list[dict]:
    proc = subprocess.run(["mediainfo", "--Output=JSON", str(path)], capture_output=True, text=True, check=True)
    return json.loads(proc.stdout)["media"]["track"]


def test_proxy_subfolder_writes_three_proxy_folders_and_nowhere_else(tmp_path, proxx, write_job):
    media = tmp_path / "cards"
    sources = []
    for day, name in (("day1", "A001C001.mov"), ("day2", "B002C003.mov"), ("day3/sub", "C003C004.mov")):
        (media / day).mkdir(parents=True)
        sources.append(make_source(media / day / name, size="96x54", frames=4, reel=name[:4]))
    (media / "day2" / "Proxy").mkdir()  # an existing Proxy folder is used as it is
    job = write_job(spec(sources, "proxy_subfolder"))
    before = tree(tmp_path)
    v = proxx("validate", job)
    assert v.returncode == 0, v.stderr
    folders = [str(s.parent / "Proxy") for s in sources]
    assert v.json()["folders"] == sorted(folders)
    plan = proxx("plan", job).json()
    assert plan["layout"] == "proxy_subfolder" and plan["folders"] == sorted(folders)
    assert tree(tmp_path) == before  # validate and plan create nothing
    r = proxx("run", job, "--max-workers", "2")
    assert r.returncode == 0, r.stderr
    after = tree(tmp_path)
    new = {k: v for k, v in after.items() if k not in before}
    expected = {os.path.relpath(s.parent / "Proxy" / s.name, tmp_path) for s in sources}
    created_dirs = {os.path.relpath(s.parent / "Proxy", tmp_path) for s in sources if s.parent.name != "day2"}
    assert set(new) == expected | created_dirs
    assert {k: v for k, v in after.items() if k in before} == before  # nothing else changed
    for clip in r.json()["clips"]:
        assert clip["relink"]["resolve"]["ok"], clip["relink"]["resolve"]


def test_proxy_subfolder_refusals(tmp_path, proxx, write_job):
    d = tmp_path / "cards"
    d.mkdir()
    a_mov = make_source(d / "A001.mov", size="96x54", frames=3)
    a_mxf = make_source(d / "a001.mp4", size="96x54", frames=3, video="h264")
    # same stem, other extension and case: both would be Proxy/A001.mov on a case-insensitive volume
    r = proxx("validate", write_job(spec([a_mov, a_mxf], "proxy_subfolder")))
    assert r.returncode == 1
    assert any(p["path"] == "/sources/1" and "both write" in p["message"] for p in r.json()["problems"]), r.stdout
    # a symlinked Proxy is refused (it could point anywhere)
    e = tmp_path / "cards2"
    e.mkdir()
    (e / "Proxy").symlink_to(tmp_path)
    src = make_source(e / "B.mov", size="96x54", frames=3)
    r = proxx("validate", write_job(spec([src], "proxy_subfolder")))
    assert r.returncode == 1 and "symbolic link" in r.stdout
    # a proxy never replaces a source sitting in the Proxy folder
    f = tmp_path / "cards3"
    (f / "Proxy").mkdir(parents=True)
    top = make_source(f / "C.mov", size="96x54", frames=3)
    inner = make_source(f / "Proxy" / "C.mov", size="96x54", frames=3)
    r = proxx("validate", write_job(spec([top, inner], "proxy_subfolder")))
    assert r.returncode == 1 and "would replace source" in r.stdout
    # the name is the source's: a template that renames is refused; output_dir is not required
    r = proxx("validate", write_job(spec([a_mov], "proxy_subfolder", output_name_template="{source_name}_p")))
    assert r.returncode == 1 and "/output_name_template" in r.stdout
    # a read-only source folder without Proxy/: Proxx cannot create it
    g = tmp_path / "ro"
    g.mkdir()
    ro = make_source(g / "D.mov", size="96x54", frames=3)
    g.chmod(0o555)
    try:
        if not os.access(g, os.W_OK):  # root ignores permissions
            r = proxx("validate", write_job(spec([ro], "proxy_subfolder")))
            assert r.returncode == 1 and "cannot create Proxy/" in r.stdout
    finally:
        g.chmod(0o755)


def test_layout_keys_need_1_1_and_output_dir_stays_required_otherwise(tmp_path, proxx, write_job, media, outdir):
    src = media("a.mov")
    doc = spec([src], "proxy_subfolder")
    doc["jobspec_version"] = "1.0.0"
    r = proxx("validate", write_job(doc))
    assert r.returncode == 1 and 'set jobspec_version to \\"1.1.0\\"' in r.stdout
    doc = spec([src], "output_dir", output_dir=str(outdir))
    del doc["output_dir"]
    r = proxx("validate", write_job(doc))
    assert r.returncode == 1 and any(p["path"] == "/output_dir" for p in r.json()["problems"])


def _avid_source(path: Path, **kw) -> Path:
    return make_source(path, size="320x180", frames=6, audio=(2, 1), reel="A001", timecode="10:00:00:00", **kw)


def test_avid_mxf_writes_op_atom_files_avid_can_index(tmp_path, proxx, write_job, outdir):
    src = _avid_source(tmp_path / "A001C007.mov")
    doc = spec([src], "avid_mxf", output_dir=str(outdir), profile="offline_dnxhr_lb_1920x1080")
    job = write_job(doc)
    plan = proxx("plan", job).json()
    folder = outdir / "Avid MediaFiles" / "MXF" / "1"
    assert plan["folders"] == [str(folder)]
    stem = avid_clip_name("A001C007_proxy.mxf", str(src), "offline_dnxhr_lb_1920x1080").removesuffix(".mxf")
    assert [t["path"] for t in plan["clips"][0]["extra_outputs"]] == [
        str(folder / f"{stem}.A{k}.mxf") for k in (1, 2, 3)
    ]
    r = proxx("run", job)
    assert r.returncode == 0, r.stderr
    clip = r.json()["clips"][0]
    names = sorted(p.name for p in folder.iterdir())
    assert names == [f"{stem}.A1.mxf", f"{stem}.A2.mxf", f"{stem}.A3.mxf", f"{stem}.V1.mxf"]
    assert sorted(os.path.basename(f["path"]) for f in clip["output"]["files"]) == names
    umids = set()
    for name in names:
        tracks = mediainfo(folder / name)
        general = tracks[0]
        assert general["Format"] == "MXF" and general["Format_Profile"] == "OP-Atom", name
        assert general.get("PackageName") == "A001C007 / A001", name  # clip (material) name / tape name
        tcs = {t.get("TimeCode_FirstFrame") for t in tracks if t["@type"] == "Other"}
        assert tcs == {"10:00:00:00"}, (name, tcs)
        kinds = [t["@type"] for t in tracks if t["@type"] in ("Video", "Audio")]
        assert kinds == (["Video"] if ".V1." in name else ["Audio"]), name
        if ".A" in name:
            assert [t["Channels"] for t in tracks if t["@type"] == "Audio"] == ["1"]
    from proxx_core.features.opatom import read_facts

    facts = [read_facts(str(folder / n)) for n in names]
    assert len({f.material_package_umid for f in facts}) == 1  # one master clip
    assert len({f.file_package_umid for f in facts}) == 4  # each file its own media
    umids.add(facts[0].material_package_umid)
    assert clip["relink"]["avid"]["ok"], clip["relink"]["avid"]
    checks = {c["name"]: c["ok"] for c in clip["output"]["verification"]["checks"]}
    assert checks["V1:op_atom"] and checks["A3:tape_name"] and checks["op_atom_one_master_clip"]
    # another clip gets another material package (FFmpeg's bitexact UMIDs are all zero)
    other = _avid_source(tmp_path / "A001C008.mov")
    r2 = proxx(
        "run", write_job(spec([other], "avid_mxf", output_dir=str(outdir), profile="offline_dnxhr_lb_1920x1080"))
    )
    assert r2.returncode == 0, r2.stderr
    other_v1 = r2.json()["clips"][0]["output"]["path"]
    assert os.path.basename(other_v1).startswith("A001C008_proxy_")
    assert read_facts(other_v1).material_package_umid not in umids
    # deterministic: the same job makes the same bytes
    first = {f["path"]: f["sha256"] for f in clip["output"]["files"]}
    r3 = proxx("run", job)
    assert r3.returncode == 2 and "already exists" in r3.stderr  # never overwritten unless told
    again = json.loads(json.dumps(doc))
    again["overwrite"] = True
    r4 = proxx("run", write_job(again))
    assert r4.returncode == 0, r4.stderr
    assert {f["path"]: f["sha256"] for f in r4.json()["clips"][0]["output"]["files"]} == first


def test_avid_mxf_refused_for_other_profiles(tmp_path, proxx, write_job, media, outdir):
    src = media("a.mov")
    r = proxx("validate", write_job(spec([src], "avid_mxf", output_dir=str(outdir))))
    assert r.returncode == 1
    assert any(p["path"] == "/layout" and "DNxHR" in p["message"] for p in r.json()["problems"])


def test_a_tampered_op_atom_audio_file_fails_verification(tmp_path, outdir, monkeypatch):
    """The core checks every file: an engine that leaves an audio file as OP1a (or with the wrong
    timecode) is caught, and nothing of the clip is published."""
    from proxx_core.pipeline.check import check_document
    from proxx_core.pipeline.runner import run_job
    from proxx_core.support.plugins import load_engines
    from proxx_engine_ffmpeg import engine as ffengine

    src = _avid_source(tmp_path / "X.mov")
    engines = load_engines()
    checked = check_document(
        spec([src], "avid_mxf", output_dir=str(outdir), profile="offline_dnxhr_lb_1920x1080"), engines
    )
    assert checked.job is not None, checked.problems
    real = ffengine.FFmpegEngine.execute

    def video_as_audio(self, plan, cancel):
        records = real(self, plan, cancel)
        # the second audio file now holds the video essence (same inode: the claim still holds it)
        shutil.copyfile(plan.request.temp_path, plan.request.extra_outputs[1].temp_path)
        return records

    monkeypatch.setattr(ffengine.FFmpegEngine, "execute", video_as_audio)
    result = run_job(checked.job, engines)
    clip = result.clips[0]
    assert clip.status == "FAILED" and clip.failure.category == "verification_failed", clip.failure
    failed = {c.name for c in clip.output.verification.failed_checks()}
    assert {"A2:one_mono_essence", "op_atom_one_master_clip"} <= failed, failed
    assert not any(
        p.suffix == ".mxf" and not p.name.startswith(".") for p in (outdir / "Avid MediaFiles" / "MXF" / "1").iterdir()
    )


@pytest.mark.parametrize("size, raster, want", [("192x108", "half", "96x54"), ("384x216", "quarter", "96x54")])
def test_premiere_rasters_divide_the_source_and_attach(tmp_path, proxx, write_job, outdir, size, raster, want):
    src = make_source(tmp_path / "a.mov", size=size, frames=3)
    r = proxx("run", write_job(spec([src], "output_dir", output_dir=str(outdir), raster=raster)))
    assert r.returncode == 0, r.stderr
    clip = r.json()["clips"][0]
    info = clip["output"]["verification"]["output_info"]["video"]
    assert f"{info['width']}x{info['height']}" == want
    assert clip["relink"]["premiere"]["ok"]


def test_anamorphic_half_keeps_pixel_aspect_in_mov_and_is_refused_in_mxf(tmp_path, proxx, write_job, outdir):
    src = make_source(tmp_path / "hdv.mov", size="576x272", sar="4/3", frames=2)
    r = proxx("run", write_job(spec([src], "output_dir", output_dir=str(outdir), raster="half")))
    assert r.returncode == 0, r.stderr
    video = r.json()["clips"][0]["output"]["verification"]["output_info"]["video"]
    assert (video["width"], video["height"], video["sample_aspect"]) == (288, 136, "4:3")
    r = proxx(
        "validate",
        write_job(
            spec([src], "output_dir", output_dir=str(outdir), raster="half", profile="offline_dnxhr_lb_1920x1080")
        ),
    )
    assert r.returncode == 1 and "/raster" in r.stdout


def test_raster_that_does_not_divide_is_refused_at_validate(tmp_path, proxx, write_job, outdir):
    src = make_source(tmp_path / "odd.mov", size="322x182", frames=3)  # /4 is not whole
    r = proxx("validate", write_job(spec([src], "output_dir", output_dir=str(outdir), raster="quarter")))
    assert r.returncode == 1
    assert any(p["path"] == "/raster" and "does not divide by 4" in p["message"] for p in r.json()["problems"])


def test_relink_verdicts_on_sources_built_to_break_rules(tmp_path, proxx, write_job, outdir):
    """Real proxies, real probes: each source breaks one NLE rule, and the verdict names it."""
    dci = make_source(tmp_path / "dci.mov", size="4096x2160", frames=2, audio=(1,))  # fit: 1920x1012, not 16:9-ish
    no_reel = make_source(tmp_path / "noreel.mov", size="96x54", frames=3)
    reel = make_source(tmp_path / "reel.mov", size="320x180", frames=3, reel="R001")
    # DCI at "fit" breaks Premiere's aspect rule: warned at validate, named in the result
    job = write_job(spec([dci, no_reel, reel], "output_dir", output_dir=str(outdir)))
    v = proxx("validate", job)
    assert v.returncode == 0
    assert any(
        w["path"] == "/sources/0" and "premiere" in w["message"] and "aspect_ratio" in w["message"]
        for w in v.json()["warnings"]
    ), v.stdout
    assert "warning: /sources/0" in v.stderr
    r = proxx("run", job)
    assert r.returncode == 0, r.stderr
    clips = r.json()["clips"]
    assert clips[0]["relink"]["premiere"]["failed"] == ["aspect_ratio"]
    assert clips[0]["relink"]["resolve"]["failed"] == ["name"]  # "{source_name}_proxy" is not the base name
    # no reel: Avid has no tape name to relink on, even in its own layout
    assert "tape_name" in clips[1]["relink"]["avid"]["failed"]
    # ProRes MOV carries the reel: only Avid's managed-media rule (not OP-Atom) fails
    assert clips[2]["relink"]["avid"]["failed"] == ["managed_media"]
    # MXF (OP1a): Resolve and FCP read timecode from tmcd only
    r = proxx(
        "run",
        write_job(
            spec(
                [reel],
                "output_dir",
                output_dir=str(outdir),
                profile="offline_dnxhr_lb_1920x1080",
                output_name_template="{source_name}",
            )
        ),
    )
    clip = r.json()["clips"][0]
    assert r.returncode == 0, r.stderr
    assert clip["relink"]["fcp"]["failed"] == ["timecode_track"]
    assert "timecode_track" in clip["relink"]["resolve"]["failed"]


def test_avid_layout_warns_up_front_about_a_source_without_reel(tmp_path, proxx, write_job, outdir):
    src = make_source(tmp_path / "noreel.mov", size="320x180", frames=3)
    v = proxx(
        "validate", write_job(spec([src], "avid_mxf", output_dir=str(outdir), profile="offline_dnxhr_lb_1920x1080"))
    )
    assert v.returncode == 0
    assert [w for w in v.json()["warnings"] if "avid" in w["message"] and "tape_name" in w["message"]]


def test_default_layout_and_raster_make_the_bytes_of_the_1_0_twin(tmp_path, proxx, write_job, media):
    src = media("a.mov")
    shas = []
    for i, extra in enumerate(
        ({}, {"jobspec_version": "1.1.0"}, {"jobspec_version": "1.1.0", "layout": "output_dir", "raster": "fit"})
    ):
        out = tmp_path / f"out{i}"
        out.mkdir()
        r = proxx("run", write_job(job_doc([src], out, **extra)))
        assert r.returncode == 0, r.stderr
        shas.append(r.json()["clips"][0]["output"]["sha256"])
    assert len(set(shas)) == 1


def test_an_engine_that_cannot_write_pixel_aspect_is_never_given_an_anamorphic_half(tmp_path, outdir, monkeypatch):
    from proxx_core.pipeline.check import check_document
    from proxx_core.support.plugins import load_engines
    from proxx_engine_ffmpeg import engine as ffengine

    src = make_source(tmp_path / "hdv.mov", size="576x272", sar="4/3", frames=2)
    monkeypatch.setattr(ffengine.FFmpegEngine, "keeps_pixel_aspect", False)
    checked = check_document(spec([src], "output_dir", output_dir=str(outdir), raster="half"), load_engines())
    assert checked.job is None
    assert [p.path for p in checked.problems] == ["/raster"] and "4:3" in checked.problems[0].message


def test_validate_warns_per_layout_for_its_own_nles(tmp_path, proxx, write_job, outdir):
    """The README's template renames the proxy: Resolve will not link it, and validate says so with
    the template that works; an avid_mxf job is judged for Media Composer only (no warnings that
    Resolve or Premiere will not link OP-Atom, which they never do)."""
    src = make_source(tmp_path / "A001.mov", size="320x180", frames=3, audio=(2,), reel="A001")
    v = proxx(
        "validate",
        write_job(
            spec([src], "output_dir", output_dir=str(outdir), output_name_template="{index}_{source_name}_proxy")
        ),
    )
    assert v.returncode == 0, v.stderr
    named = [w for w in v.json()["warnings"] if w["message"].startswith("resolve will not link this proxy: name")]
    assert named and '"output_name_template": "{source_name}"' in named[0]["message"], v.stdout
    v = proxx(
        "validate", write_job(spec([src], "avid_mxf", output_dir=str(outdir), profile="offline_dnxhr_lb_1920x1080"))
    )
    assert v.returncode == 0, v.stderr
    assert [w["message"] for w in v.json()["warnings"]] == [], v.stdout
