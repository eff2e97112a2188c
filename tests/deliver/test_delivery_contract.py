"""The deliverables contract: refused at validate when it cannot be delivered, third-party sinks
plug in the same way, a failing sink is reported without touching the proxies, and the watch
folder delivers like ``proxx run``."""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path

import pytest

from proxx_core import hookimpl
from proxx_core.contract.sinks import Deliverable, DeliverableSink
from proxx_core.features.deliverables import write_sidecar
from proxx_core.pipeline.check import check_document
from proxx_core.pipeline.finish import deliver
from proxx_core.pipeline.runner import run_job
from proxx_core.support.plugins import load_engines
from proxxtest import job_doc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "watch"))
from watchhelp import drop, result_of, run_inprocess  # noqa: E402


def spec(srcs, outdir, deliverables, **extra):
    return job_doc(
        srcs, outdir, **{"jobspec_version": "1.1.0", "job_id": "day1", "deliverables": deliverables, **extra}
    )


@pytest.fixture
def clip(media):
    return media("A001_C001.mov", size="64x36", rate="25/1", frames=4, timecode="01:00:00:00", audio=(2,))


def test_deliverables_is_a_jobspec_1_1_key(proxx, write_job, clip, outdir):
    r = proxx("validate", write_job(spec([clip], outdir, ["otio"], jobspec_version="1.0.0")))
    assert r.returncode == 1
    assert "/deliverables is a JobSpec 1.1.0 key" in r.stderr and 'set jobspec_version to "1.1.0"' in r.stderr


def test_unknown_deliverable_is_refused_naming_the_known_ones(proxx, write_job, clip, outdir):
    r = proxx("run", write_job(spec([clip], outdir, ["otio", "edl"])))
    assert r.returncode == 1
    (p,) = r.json()["problems"]
    assert p["path"] == "/deliverables/1" and "unknown deliverable 'edl'" in p["message"]
    assert "ale, fcpxml, mhl, otio" in p["message"]
    assert list(outdir.iterdir()) == []


def test_deliverable_without_proxx_deliver_names_the_distribution(proxx, write_job, clip, outdir):
    r = proxx("run", write_job(spec([clip], outdir, ["ale"])), env_extra={"PROXX_LOAD_PLUGINS": "ffmpeg"})
    assert r.returncode == 1
    (p,) = r.json()["problems"]
    assert p["path"] == "/deliverables/0" and "pip install ./proxx_deliver" in p["message"]
    assert (p["category"], p["install_hint"]) == ("engine_unavailable", "proxx-deliver")
    assert list(outdir.iterdir()) == []


def test_mhl_without_the_ascmhl_tool_is_refused_before_any_encode(proxx, write_job, clip, outdir, tmp_path):
    r = proxx(
        "run",
        write_job(spec([clip], outdir, ["mhl"])),
        env_extra={"PROXX_ASCMHL": str(tmp_path / "nowhere" / "ascmhl")},
    )
    assert r.returncode == 1
    (p,) = r.json()["problems"]
    assert p["path"] == "/deliverables/0" and "pipx install ascmhl" in p["message"]
    assert list(outdir.iterdir()) == []


class Csv(DeliverableSink):
    """A third party's sink written before sinks returned (file name, bytes): it calls write_sidecar
    itself and returns Deliverable records, which keeps working. One line per delivered clip, and what
    was written before it."""

    name = "csv"
    runs_last = True

    def write(self, job):
        lines = [f"{c['index']},{c['output']['path']}" for c in job.delivered_clips()]
        lines += [f"before,{w.name}" for w in job.written]
        return [write_sidecar(job, self.name, f"{job.job_id}.csv", ("\n".join(lines) + "\n").encode())]


class Broken(DeliverableSink):
    name = "broken"

    def write(self, job):
        raise OSError("share offline")


class Tsv(DeliverableSink):
    """Today's interface: (file name, bytes) pairs; the core writes, gates and hashes them."""

    name = "tsv"

    def write(self, job):
        lines = [f"{c['index']}\t{c['output']['path']}" for c in job.delivered_clips()]
        return [(f"{job.job_id}.tsv", ("\n".join(lines) + "\n").encode()), (f"{job.job_id}.count", b"1\n")]


class Named(DeliverableSink):
    """Returns the file names a test gives it (a source's name, a path leaving output_dir, ...)."""

    name = "named"
    names: tuple[str, ...] = ()

    def write(self, job):
        return [(n, b"x") for n in self.names]


class ThirdParty:
    __name__ = "third_party"

    @hookimpl
    def proxx_register_deliverables(self, register):
        register(Csv())
        register(Broken())
        register(Tsv())
        register(Named())


def _run(doc):
    engines = load_engines([ThirdParty()])
    checked = check_document(doc, engines)
    assert checked.job is not None, checked.problems
    return deliver(run_job(checked.job, engines, max_workers=1, cancel=threading.Event()), engines)


def test_a_third_party_sink_is_run_after_the_others_and_listed(clip, outdir):
    result, errors = _run(spec([clip], outdir, ["csv", "otio"]))
    assert errors == () and result.exit_code == 0
    assert [d.name for d in result.deliverables] == ["otio", "csv"]  # runs_last: after otio
    assert (outdir / "day1.csv").read_text() == f"1,{outdir / 'A001_C001_proxy.mov'}\nbefore,otio\n"
    assert all(isinstance(d, Deliverable) and d.sha256 and d.error is None for d in result.deliverables)


def test_a_sink_returns_file_names_and_bytes_and_the_core_writes_and_hashes_them(clip, outdir):
    import hashlib

    result, errors = _run(spec([clip], outdir, ["tsv"]))
    assert errors == () and result.exit_code == 0
    assert [(d.name, Path(d.path).relative_to(outdir).as_posix()) for d in result.deliverables] == [
        ("tsv", "day1.tsv"),
        ("tsv", "day1.count"),
    ]
    assert (outdir / "day1.tsv").read_text() == f"1\t{outdir / 'A001_C001_proxy.mov'}\n"
    assert all(d.sha256 == hashlib.sha256(Path(d.path).read_bytes()).hexdigest() for d in result.deliverables)
    assert not [p for p in outdir.rglob("*") if p.name.endswith(".tmp")]  # temp then rename


@pytest.mark.parametrize(
    ("names", "message"),
    [
        (
            ("../escape.txt",),
            "the 'named' sink returned the file name '../escape.txt': a sidecar is a file in output_dir",
        ),
        (("/tmp/abs.txt",), "return its bare file name, no folder"),
        (("ok.txt", "sub/x.txt"), "the 'named' sink returned the file name 'sub/x.txt'"),
        (("ok.txt", ".."), "the 'named' sink returned the file name '..'"),
    ],
)
def test_a_sidecar_name_outside_output_dir_is_refused_and_nothing_is_written(clip, outdir, names, message, monkeypatch):
    monkeypatch.setattr(Named, "names", names)
    result, (error,) = _run(spec([clip], outdir, ["named"]))
    assert result.exit_code == 4 and message in error
    assert (result.deliverables[0].path, result.deliverables[0].sha256) == (None, None)
    assert not (outdir / "ok.txt").exists() and not (outdir.parent / "escape.txt").exists()


def test_a_sidecar_named_like_a_source_is_refused_by_the_write_gate(media, outdir, monkeypatch):
    src = media("day1.tsv.mov", size="64x36", rate="25/1", frames=2)
    inside = outdir / "cam.mov"
    outdir.mkdir(parents=True, exist_ok=True)
    inside.write_bytes(Path(src).read_bytes())
    before = inside.read_bytes()
    monkeypatch.setattr(Named, "names", ("cam.mov",))
    result, (error,) = _run(spec([str(inside)], outdir, ["named"], output_name_template="{source_name}_px"))
    assert result.exit_code == 4 and "cam.mov" in error and "source" in error
    assert inside.read_bytes() == before


def test_a_failing_sink_is_listed_with_its_error_exit_4_and_the_proxies_stand(clip, outdir):
    result, errors = _run(spec([clip], outdir, ["broken", "otio"]))
    assert result.status == "COMPLETED" and result.exit_code == 4
    assert errors == ("deliverable 'broken' was not written: OSError: share offline",)
    broken, ok = result.deliverables
    assert (broken.name, broken.path, broken.sha256, broken.error) == ("broken", None, None, "OSError: share offline")
    assert ok.name == "otio" and Path(ok.path).is_file()
    assert result.clips[0].output.verification.ok and (outdir / "A001_C001_proxy.mov").is_file()


def test_the_watch_folder_delivers_and_files_the_result_with_the_sidecars(tmp_path, clip, outdir):
    w = tmp_path / "watch"
    drop(w, "day1.json", json.dumps(spec([clip], outdir, ["otio", "fcpxml"])))
    rc, log = run_inprocess(w, engines=load_engines())
    assert rc == 0, log
    res = result_of(w / "completed" / "day1.result.json")
    assert [(d["name"], Path(d["path"]).name) for d in res["deliverables"]] == [
        ("fcpxml", "day1.fcpxml"),
        ("otio", "day1.otio"),
    ]
    assert (outdir / "day1.otio").is_file() and (outdir / "day1.fcpxml").is_file()
