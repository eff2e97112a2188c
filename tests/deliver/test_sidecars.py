"""Sidecars (JobSpec 1.1 ``deliverables``): what each NLE reads back maps every proxy to its camera
original by name, start timecode and duration; the ASC MHL seals the proxies; same job, same bytes."""

from __future__ import annotations

import hashlib
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from fractions import Fraction
from pathlib import Path

import jsonschema
import opentimelineio as otio
import pytest

from proxx_core.pipeline.serialization import RESULT_SCHEMA, load_schema
from proxxtest import job_doc

#: three camera originals: NTSC-ish 23.976 with odd start timecodes and different audio layouts
CLIPS = {
    "A001_C001.mov": dict(timecode="10:00:00:12", frames=6, audio=(2,)),
    "A001_C002.mov": dict(timecode="01:02:03:04", frames=5, audio=(1, 1)),
    "B002_C010.mov": dict(timecode="23:59:59:20", frames=4, audio=()),
}


def sources(media, names=CLIPS, rate="24000/1001"):
    return [media(name, size="64x36", rate=rate, **names[name]) for name in names]


def spec(srcs, outdir, deliverables, **extra):
    return job_doc(srcs, outdir, jobspec_version="1.1.0", job_id="day1", deliverables=deliverables, **extra)


def expected(src: Path, info: dict, rate: float) -> tuple[str, otio.opentime.RationalTime, int]:
    return src.stem, otio.opentime.from_timecode(info["timecode"], rate), info["frames"]


def fcpxml_frames(value: str, rate: Fraction) -> Fraction:
    """FCPXML rational seconds ("N/Ds" or "0s") as frames at ``rate``: exact, unlike the adapter."""
    return (Fraction(value[:-1]) if value != "0s" else Fraction(0)) * rate


def by_name(clips) -> dict:
    return {c.name: c for c in clips}


def check_result_lists(res: dict, outdir: Path, names: list[str]) -> dict[str, Path]:
    jsonschema.Draft202012Validator(load_schema(RESULT_SCHEMA)).validate(res)
    listed = {}
    for d in res["deliverables"]:
        assert d["error"] is None, d
        path = Path(d["path"])
        assert path.parent == outdir or path.parent.parent == outdir, d
        assert hashlib.sha256(path.read_bytes()).hexdigest() == d["sha256"], d
        listed.setdefault(d["name"], path)
    assert sorted(listed) == sorted(names)
    assert not [p for p in outdir.rglob("*.tmp")], "a temporary sidecar was left behind"
    return listed


@pytest.mark.parametrize("rate", ["24000/1001", "25/1"])
def test_ale_fcpxml_otio_read_back_map_each_proxy_to_its_source(rate, proxx, write_job, media, outdir):
    fps = float(Fraction(rate))
    srcs = sources(media, rate=rate)
    r = proxx("run", write_job(spec(srcs, outdir, ["ale", "fcpxml", "otio"])))
    assert r.returncode == 0, r.stderr
    res = r.json()
    proxies = {Path(c["source"]["path"]).stem: c["output"]["path"] for c in res["clips"]}
    files = check_result_lists(res, outdir, ["ale", "fcpxml", "otio"])
    assert files == {"ale": outdir / "day1.ale", "fcpxml": outdir / "day1.fcpxml", "otio": outdir / "day1.otio"}

    ale = otio.adapters.read_from_file(str(files["ale"]), "ale")
    assert ale.metadata["ALE"]["header"]["FPS"] == {"24000/1001": "23.976", "25/1": "25"}[rate]
    fcp = otio.adapters.read_from_file(str(files["fcpxml"]), "fcpx_xml")
    (fcp_timeline,) = fcp
    timeline = otio.adapters.read_from_file(str(files["otio"]), "otio_json")
    tree = ET.parse(files["fcpxml"]).getroot()
    assert tree.get("version") == "1.10"
    reps = {a.get("name"): {m.get("kind"): m.get("src") for m in a.findall("media-rep")} for a in tree.iter("asset")}
    readers = {"ale": by_name(ale.find_clips()), "otio": by_name(timeline.find_clips())}
    if fps.is_integer():  # the adapter reads frame rates as integers (23.976 -> 23): exact check below
        readers["fcpxml"] = by_name(fcp_timeline.find_clips())
    assets = {a.get("name"): a for a in tree.iter("asset")}
    spine = {c.get("name"): c for c in tree.iter("asset-clip")}
    for src in srcs:
        name, start, frames = expected(src, CLIPS[src.name], fps)
        for reader, clips in readers.items():
            clip = clips[name]
            assert clip.source_range.start_time.value == start.value, (reader, name, clip.source_range)
            assert round(clip.source_range.duration.to_frames(fps)) == frames, (reader, name)
        for element in (assets[name], spine[name]):
            assert fcpxml_frames(element.get("start"), Fraction(rate)) == start.value
            assert fcpxml_frames(element.get("duration"), Fraction(rate)) == frames
        ale_clip = readers["ale"][name]
        assert ale_clip.media_reference.target_url == src.name  # Source File: the original's file name
        assert ale_clip.metadata["ALE"]["Proxy Path"] == proxies[name]
        assert ale_clip.metadata["ALE"]["Camera File"] == str(src)
        assert ale_clip.metadata["ALE"]["Tape"] == name
        channels = sum(CLIPS[src.name]["audio"])
        assert ale_clip.metadata["ALE"]["Tracks"] == "V" + "".join(f"A{i + 1}" for i in range(channels))
        assert reps[name] == {"original-media": src.as_uri(), "proxy-media": Path(proxies[name]).as_uri()}
        refs = readers["otio"][name].media_references()
        assert sorted(refs) == ["DEFAULT_MEDIA", "proxy"]
        assert readers["otio"][name].active_media_reference_key == "DEFAULT_MEDIA"
        assert refs["DEFAULT_MEDIA"].target_url == src.as_uri()
        assert refs["proxy"].target_url == Path(proxies[name]).as_uri()
    # the proxies themselves carry what the sidecars claim (verified by the core, restated here)
    for clip in res["clips"]:
        out = clip["output"]["verification"]["output_info"]
        info = CLIPS[Path(clip["source"]["path"]).name]
        assert (out["start_timecode"], out["video"]["frame_count"]) == (info["timecode"], info["frames"])


def _ascmhl_debug(ascmhl: Path, *args) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(ascmhl / "ascmhl-debug"), *map(str, args)],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )


def test_mhl_seals_proxies_and_sidecars_verify_passes_and_catches_one_flipped_byte(
    proxx, write_job, media, outdir, ascmhl, mhl_env
):
    srcs = sources(media)
    r = proxx("run", write_job(spec(srcs, outdir, ["mhl", "ale"])), env_extra=mhl_env)
    assert r.returncode == 0, r.stderr
    res = r.json()
    mhl = [Path(d["path"]) for d in res["deliverables"] if d["name"] == "mhl"]
    assert [p.name for p in mhl[:1]] == ["day1.sources.mhl"] and mhl[2].name == "ascmhl_chain.xml"
    check_result_lists(res, outdir, ["ale", "mhl"])
    generation = mhl[1].read_text("utf-8")
    sealed = re.findall(r"<path [^>]*>([^<]+)</path>", generation)
    assert sorted(sealed) == sorted(
        [Path(c["output"]["path"]).name for c in res["clips"]] + ["day1.ale", "day1.sources.mhl"]
    )
    assert "<xxh128 " in generation

    # the camera originals' hashes, as the ASC tool computes them
    manifest = mhl[0].read_text("utf-8")
    for src in srcs:
        h = _ascmhl_debug(ascmhl, "hash", "-h", "xxh128", src)
        assert h.returncode == 0, h.stderr
        assert re.search(
            rf"<path size=\"{src.stat().st_size}\">{src.name}</path>\s*"
            rf"<xxh128 action=\"original\">{h.stdout.split()[-1]}</xxh128>",
            manifest,
        ), h.stdout

    ok = _ascmhl_debug(ascmhl, "verify", outdir)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    proxy = Path(res["clips"][1]["output"]["path"])
    data = bytearray(proxy.read_bytes())
    data[len(data) // 2] ^= 0x01
    proxy.write_bytes(bytes(data))
    bad = _ascmhl_debug(ascmhl, "verify", outdir)
    assert bad.returncode != 0
    assert proxy.name in bad.stdout + bad.stderr


#: what ASC MHL stamps (docs/delivery.md): creation and hash dates, file dates, host name; so the
#: generation's hash of <job>.sources.mhl (which has a creation date) and the chain file (the C4
#: hash of the generation) change with them
VOLATILE = re.compile(
    r"<creationdate>[^<]*</creationdate>|hashdate=\"[^\"]*\"|lastmodificationdate=\"[^\"]*\""
    r"|<hostname>[^<]*</hostname>|(?<=day1.sources.mhl</path>)\s*<xxh128[^<]*</xxh128>"
)


def _sidecar_bytes(res: dict) -> dict[str, bytes]:
    out = {}
    for d in res["deliverables"]:
        path = Path(d["path"])
        if path.name == "ascmhl_chain.xml":
            continue
        key = "generation" if path.parent.name == "ascmhl" else path.name
        out[key] = VOLATILE.sub("", path.read_text("utf-8")).encode()
    return out


def test_same_job_same_sidecar_bytes_across_reruns_and_worker_counts(proxx, write_job, media, outdir, mhl_env):
    srcs = sources(media)
    job = write_job(spec(srcs, outdir, ["ale", "fcpxml", "otio", "mhl"]))
    runs = []
    for workers in ("1", "3"):
        r = proxx("run", job, "--max-workers", workers, env_extra=mhl_env)
        assert r.returncode == 0, r.stderr
        res = r.json()
        # the generation's file name carries its creation time (ASC MHL's naming)
        runs.append(
            (
                _sidecar_bytes(res),
                [(d["name"], re.sub(r"_\d{4}-\d\d-\d\d_\d{6}Z\.mhl$", ".mhl", d["path"])) for d in res["deliverables"]],
            )
        )
        plain = {d["path"]: d["sha256"] for d in res["deliverables"] if d["name"] != "mhl"}
        runs[-1] += (plain,)
        shutil.rmtree(outdir)
        outdir.mkdir()
    (first, names1, plain1), (second, names2, plain2) = runs
    assert sorted(first) == ["day1.ale", "day1.fcpxml", "day1.otio", "day1.sources.mhl", "generation"]
    assert first == second
    assert names1 == names2
    assert plain1 == plain2  # ALE, FCPXML, OTIO: identical bytes, so identical SHA-256 in the result


def test_a_failed_clip_is_in_no_sidecar(proxx, write_job, media, outdir):
    srcs = sources(media)
    (outdir / "A001_C002_proxy.mov").write_bytes(b"an editor's file")  # clip 2 fails: output_exists
    r = proxx("run", write_job(spec(srcs, outdir, ["ale", "fcpxml", "otio"])))
    assert r.returncode == 3, r.stderr
    res = r.json()
    assert [c["status"] for c in res["clips"]] == ["COMPLETED", "FAILED", "COMPLETED"]
    files = check_result_lists(res, outdir, ["ale", "fcpxml", "otio"])
    text = {k: p.read_text("utf-8") for k, p in files.items()}
    for kind, body in text.items():
        assert "A001_C001" in body and "B002_C010" in body, kind
        assert "A001_C002" not in body, f"the failed clip is in the {kind} sidecar"
    assert len(list(otio.adapters.read_from_file(str(files["ale"]), "ale").find_clips())) == 2


def test_no_delivered_clip_no_sidecar(proxx, write_job, media, outdir):
    (src,) = sources(media, {"A001_C001.mov": CLIPS["A001_C001.mov"]})
    (outdir / "A001_C001_proxy.mov").write_bytes(b"an editor's file")
    r = proxx("run", write_job(spec([src], outdir, ["ale", "otio"])))
    assert r.returncode == 2
    assert r.json()["deliverables"] == []
    assert sorted(p.name for p in outdir.iterdir()) == ["A001_C001_proxy.mov"]


def test_an_existing_sidecar_is_never_replaced_without_overwrite(proxx, write_job, media, outdir):
    (src,) = sources(media, {"A001_C001.mov": CLIPS["A001_C001.mov"]})
    (outdir / "day1.ale").write_text("the editor's own ALE")
    r = proxx("run", write_job(spec([src], outdir, ["ale", "otio"])))
    assert r.returncode == 4, r.stderr
    res = r.json()
    assert res["status"] == "COMPLETED"
    (ale,) = [d for d in res["deliverables"] if d["name"] == "ale"]
    assert ale["path"] is None and "day1.ale already exists" in ale["error"]
    assert '"existing_outputs": "overwrite"' in ale["error"]  # a 1.1 spec: not the 1.0 key it cannot set
    assert (outdir / "day1.ale").read_text() == "the editor's own ALE"
    assert (outdir / "day1.otio").is_file()
    assert "deliverable 'ale' was not written" in r.stderr
