"""`proxx run` and the watch folder hand every finished result to the plugins' proxx_job_finished
(result sinks): refused and completed jobs alike, and a sink that fails never changes the result."""

import io
import json
import threading

from proxx_cli import main as cli
from proxx_core import hookimpl
from proxx_core.support.plugins import load_engines
from proxx_core.watch import Watcher
from proxx_engine_ffmpeg import plugin as ffmpeg_plugin
from proxxtest import job_doc


class Sink:
    __name__ = "sink"

    def __init__(self):
        self.results = []

    @hookimpl
    def proxx_job_finished(self, result):
        self.results.append(result)


class BrokenSink:
    __name__ = "broken_sink"

    @hookimpl
    def proxx_job_finished(self, result):
        raise OSError("notification server unreachable")


def test_run_hands_completed_and_refused_results_to_every_sink(media, outdir, write_job, monkeypatch, capsys):
    sink = Sink()
    engines = load_engines([ffmpeg_plugin, BrokenSink(), sink], entry_points=False)
    monkeypatch.setattr(cli, "_engines", lambda: engines)
    good = write_job(job_doc([media("A001.mov")], outdir))
    assert cli.main(["run", str(good), "--max-workers", "1"]) == 0
    out, err = capsys.readouterr()
    assert json.loads(out)["status"] == "COMPLETED"
    assert "result sink failed: plugin 'broken_sink'" in err and "notification server unreachable" in err
    assert cli.main(["run", str(write_job(job_doc([str(outdir / "missing.mov")], outdir), "bad.json"))]) == 1
    assert [r.status for r in sink.results] == ["COMPLETED", "FAILED"]
    assert sink.results[1].exit_code == 1


def test_the_watch_folder_hands_results_to_sinks(media, outdir, tmp_path):
    sink = Sink()
    engines = load_engines([ffmpeg_plugin, BrokenSink(), sink], entry_points=False)
    root = tmp_path / "watch"
    (root / "pending").mkdir(parents=True)
    (root / "pending" / "job.json").write_text(json.dumps(job_doc([media("A001.mov")], outdir)), encoding="utf-8")
    log = io.StringIO()
    watcher = Watcher(
        root, engines, once=True, poll_seconds=0.1, stable_seconds=0.05, stream=log, stop=threading.Event()
    )
    assert watcher.run() == 0
    assert [r.status for r in sink.results] == ["COMPLETED"]
    assert "sink_failed" in log.getvalue() and (root / "completed" / "job.result.json").is_file()
