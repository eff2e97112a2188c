"""One end of job (proxx_core.pipeline.finish) and the typed merge of node results (results.merged): what
`proxx run`, the watch folder and a fleet all call, so they cannot differ."""

from __future__ import annotations

import threading

from hypothesis import given
from hypothesis import strategies as st

from proxx_core import hookimpl
from proxx_core.contract.results import FAILED, ClipResult, Failure
from proxx_core.contract.sinks import DeliverableSink
from proxx_core.features.deliverables import write_sidecar
from proxx_core.pipeline.check import check_document
from proxx_core.pipeline.finish import finish_job
from proxx_core.pipeline.results import merged, status_for
from proxx_core.pipeline.runner import run_job
from proxx_core.pipeline.serialization import from_data, to_data
from proxx_core.support.plugins import load_engines
from proxxtest import job_doc


class Listing(DeliverableSink):
    name = "listing"

    def write(self, job):
        lines = [c["output"]["path"] for c in job.delivered_clips()]
        return [write_sidecar(job, self.name, f"{job.job_id}.txt", ("\n".join(lines) + "\n").encode())]


class Plugin:
    __name__ = "plugin"

    def __init__(self):
        self.seen = []

    @hookimpl
    def proxx_register_deliverables(self, register):
        register(Listing())

    @hookimpl
    def proxx_job_finished(self, result):
        self.seen.append(result)


class Raises:
    __name__ = "raises"

    @hookimpl
    def proxx_job_finished(self, result):
        raise OSError("mail server down")


def _ran(doc, plugins):
    engines = load_engines(plugins)
    checked = check_document(doc, engines)
    assert checked.job is not None, checked.problems
    return engines, run_job(checked.job, engines, max_workers=1, cancel=threading.Event())


def test_finish_job_delivers_then_hands_the_final_result_to_every_hook_once(media, outdir, tmp_path):
    plugin = Plugin()
    doc = job_doc([media("a.mov", frames=3)], outdir, jobspec_version="1.1.0", job_id="fin", deliverables=["listing"])
    engines, result = _ran(doc, [plugin, Raises()])
    alias = tmp_path / "node-view"  # how another machine mounts the same folder
    alias.symlink_to(outdir)
    finished = finish_job(
        result, engines, timing={"front_end": {"name": "test"}}, deliver_jobspec={**doc, "output_dir": str(alias)}
    )
    final = finished.result
    assert [(d.name, d.path) for d in final.deliverables] == [("listing", str(alias / "fin.txt"))]
    assert (outdir / "fin.txt").read_text() == f"{outdir / 'a_proxy.mov'}\n"
    assert final.jobspec == doc  # the result keeps the JobSpec as submitted
    assert final.timing["front_end"] == {"name": "test"} and final.timing["started_at"] == result.timing["started_at"]
    assert plugin.seen == [final]  # once, with the deliverables and timing already in it
    assert finished.hook_errors == ("plugin 'raises': proxx_job_finished raised OSError: mail server down",)
    assert finished.sink_errors == () and final.exit_code == 0


def test_a_node_result_read_back_is_the_same_typed_clip_and_merges_as_run_decides(media, outdir):
    interlaced = media("i.mov", size="256x144", rate="25/1", frames=4, field_order="tt")  # refused by the profile
    doc = job_doc(
        [media("a.mov", size="256x144", rate="25/1", frames=3), interlaced],
        outdir,
        profile="offline_dnxhr_lb_1920x1080",
        jobspec_version="1.1.0",
        unsupported_sources="fail_clip",
    )
    engines, result = _ran(doc, [])
    assert [c.status for c in result.clips] == ["COMPLETED", FAILED]
    for clip in result.clips:
        assert from_data(ClipResult, to_data(clip)) == clip
    again = merged(
        doc,
        result.clips,
        job_id=result.job_id,
        jobspec_sha256=result.jobspec_sha256,
        environments=[result.environment],
        timing={},
    )
    assert (again.status, again.exit_code, again.clips) == (result.status, result.exit_code, result.clips)
    assert again.environment["engines"] == result.environment["engines"]


CATEGORIES = st.sampled_from(["engine_failed", "io_error", "verification_failed", "worker_lost", "interrupted"])


@given(st.lists(st.tuples(st.sampled_from(["COMPLETED", "SKIPPED", FAILED]), CATEGORIES), max_size=6))
def test_merged_status_is_status_for_of_the_typed_clips(rows):
    clips = tuple(
        ClipResult(
            index=i,
            source={"path": f"/s/{i}.mov", "size": None, "info": None},
            engine="ffmpeg",
            profile="offline_h264_1280x720",
            output=None,
            status=status,
            failure=Failure(category=cat, message="m") if status == FAILED else None,
            node={"name": f"n{i % 2}", "submitted": {}, "mapped": None},
        )
        for i, (status, cat) in enumerate(rows, start=1)
    )
    assert all(from_data(ClipResult, to_data(c)) == c for c in clips)
    result = merged({"sources": []}, clips, job_id="j", jobspec_sha256="0" * 64, environments=[], timing={})
    assert (result.status, result.exit_code) == status_for(clips)
