"""Write-gate property (issue 20): for random jobs with every layout and deliverable, and sources
placed at every name Proxx might write (proxy names, OP-Atom A-files, temporary names, sidecar
names, the ASC MHL history), no ``proxx run`` changes a source's bytes or writes outside the
folders the job declares. Real tiny encodes through the CLI; the default example count keeps it
near a minute, ``PROXX_GATE_EXAMPLES`` (or the slow variant) runs more."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from proxx_engine_ffmpeg.testmedia import make_source
from proxxtest import job_doc, run_cli

LAYOUTS = ("output_dir", "proxy_subfolder", "avid_mxf")
DELIVERABLES = ("ale", "fcpxml", "otio", "mhl")
POLICIES = (
    {"overwrite": True},
    {"existing_outputs": "overwrite"},
    {"existing_outputs": "skip_verified"},
    {"existing_outputs": "fail"},
)
#: every name a run of the job may write, relative to the example's root (filled per job below)
SLOTS = (
    "proxy",
    "proxy_temp",
    "audio_temp",
    "a_file",
    "a_file_temp",
    "v_file",
    "sidecar",
    "sources_mhl",
    "mhl_chain",
    "mhl_generation",
)
PROFILE = {
    "avid_mxf": "offline_dnxhr_lb_1920x1080",
    "output_dir": "offline_h264_1280x720",
    "proxy_subfolder": "offline_prores_proxy_1920x1080",
}
EXTENSION = {
    "offline_dnxhr_lb_1920x1080": "mxf",
    "offline_h264_1280x720": "mp4",
    "offline_prores_proxy_1920x1080": "mov",
}


def _slot_path(slot: str, *, root: Path, layout: str, template: str, job_id: str, kind: str) -> Path:
    """Where the job's first clip (media/A001.mov, index 1) or its sidecars would be written."""
    ext = EXTENSION[PROFILE[layout]]
    stem = {"{source_name}": "A001", "{source_name}_proxy": "A001_proxy", "p{index}": "p001"}[template]
    out = root / "out"
    if layout == "proxy_subfolder":
        folder = root / "media" / "Proxy"
    elif layout == "avid_mxf":
        folder = out / "Avid MediaFiles" / "MXF" / "1"
    else:
        folder = out
    proxy = f"{stem}.V1.mxf" if layout == "avid_mxf" else f"{stem}.{ext}"
    names = {
        "proxy": folder / proxy,
        "proxy_temp": folder / f".{proxy}.proxx-partial",
        "audio_temp": folder / f".{proxy}.proxx-partial.audio",
        "a_file": folder / f"{stem}.A1.mxf",
        "a_file_temp": folder / f".{stem}.A1.mxf.proxx-partial",
        "v_file": folder / f"{stem}.V1.mxf",
        "sidecar": out / f"{job_id}.{kind}",
        "sources_mhl": out / f"{job_id}.sources.mhl",
        "mhl_chain": out / "ascmhl" / "ascmhl_chain.xml",
        "mhl_generation": out / "ascmhl" / f"0001_out_{job_id}.mhl",
    }
    return names[slot]


def _snapshot(root: Path) -> dict[str, tuple[int, int, int]]:
    seen = {}
    for here, _dirs, files in os.walk(root):
        for name in files:
            st_ = os.lstat(os.path.join(here, name))
            seen[os.path.join(here, name)] = (st_.st_ino, st_.st_size, st_.st_mtime_ns)
    return seen


def _sha(path) -> str:
    return hashlib.sha256(open(path, "rb").read()).hexdigest()


jobs = st.fixed_dictionaries(
    {
        "layout": st.sampled_from(LAYOUTS),
        "deliverables": st.lists(st.sampled_from(DELIVERABLES), unique=True, max_size=4),
        "policy": st.sampled_from(POLICIES),
        "template": st.sampled_from(("{source_name}_proxy", "p{index}")),
        "job_id": st.sampled_from(("j1", "Day1")),
        # sources at names Proxx writes: a separate camera file listed as a source, or a hard link to
        # the first source (the same file under another name, not listed)
        "traps": st.lists(
            st.tuples(
                st.sampled_from(SLOTS), st.sampled_from(("listed", "hard_link")), st.sampled_from(DELIVERABLES[:3])
            ),
            max_size=2,
            unique_by=lambda t: t[0],
        ),
        "second_clip": st.booleans(),
    }
)


def _check_one(job: dict, base: Path, env: dict[str, str]) -> None:
    root = Path(tempfile.mkdtemp(dir=base))
    (root / "media").mkdir()
    (root / "out").mkdir()
    layout = job["layout"]
    template = "{source_name}" if layout == "proxy_subfolder" else job["template"]
    first = make_source(root / "media" / "A001.mov", size="256x144", frames=3, audio=(1,))
    sources = [first]
    if job["second_clip"]:
        sources.append(make_source(root / "media" / "B001.mov", size="256x144", frames=3, audio=()))
    camera = make_source(root / "camera.mov", size="256x144", frames=3, audio=())
    for slot, how, kind in job["traps"]:
        path = _slot_path(slot, root=root, layout=layout, template=template, job_id=job["job_id"], kind=kind)
        if path.exists():  # two slots can name the same file (e.g. a sidecar kind twice): one trap is enough
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        if how == "hard_link":
            os.link(first, path)
        else:
            shutil.copyfile(camera, path)
            sources.append(path)
    doc = job_doc(
        sources,
        root / "out",
        profile=PROFILE[layout],
        jobspec_version="1.1.0",
        job_id=job["job_id"],
        output_name_template=template,
        layout=layout,
        deliverables=job["deliverables"],
        **job["policy"],
    )
    job_file = root / "job.json"
    job_file.write_text(json.dumps(doc), encoding="utf-8")
    hashes = {str(s): _sha(s) for s in sources}
    before = _snapshot(root)
    r = run_cli("run", job_file, env_extra=env, timeout=120)
    res = r.json()  # always a result document
    event(f"exit {r.returncode}")
    # a sink that fails after the encodes would be exit 4: refused at validate instead, or made to work
    assert r.returncode in (0, 1, 2, 3), (job, r.returncode, res.get("deliverables"), r.stderr[-2000:])
    for src, digest in hashes.items():
        assert os.path.isfile(src) and _sha(src) == digest, (job, f"source {src} was changed", r.stderr[-2000:])
    declared = [root / "out"] + ([root / "media" / "Proxy"] if layout == "proxy_subfolder" else [])
    for path, facts in _snapshot(root).items():
        if before.get(path) == facts:
            continue
        assert any(Path(path).is_relative_to(d) for d in declared), (job, f"{path} written outside {declared}")


def _property(max_examples: int):
    @settings(
        max_examples=max_examples,
        deadline=None,
        derandomize=False,
        database=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(job=jobs)
    def check(job, tmp_path_factory, mhl_env):
        _check_one(job, tmp_path_factory.mktemp("gate"), mhl_env)

    return check


test_no_run_changes_a_source_or_writes_outside_the_declared_folders = _property(
    int(os.environ.get("PROXX_GATE_EXAMPLES", "40"))
)

test_no_run_changes_a_source_or_writes_outside_the_declared_folders_many = pytest.mark.slow(_property(150))
