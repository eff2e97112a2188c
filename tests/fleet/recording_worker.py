"""`proxx` with one more plugin: a proxx_job_finished recorder appending one JSON line per call to
$PROXX_TEST_FINISHED_LOG. Started as a real process (`python recording_worker.py worker ...`), so a
fleet test counts end-of-job calls across processes."""

from __future__ import annotations

import json
import os
import sys

import proxx_core.support.plugins as plugins
from proxx_core import hookimpl


class Recorder:
    __name__ = "finished_recorder"

    @hookimpl
    def proxx_job_finished(self, result):
        line = {
            "job_id": result.job_id,
            "status": result.status,
            "pid": os.getpid(),
            "deliverables": [d.name for d in result.deliverables],
            "clips": len(result.clips),
        }
        with open(os.environ["PROXX_TEST_FINISHED_LOG"], "a", encoding="utf-8") as fh:
            fh.write(json.dumps(line) + "\n")


_load = plugins.load_engines


def load_with_recorder(extra=(), **kwargs):
    return _load((*extra, Recorder()), **kwargs)


plugins.load_engines = load_with_recorder

if __name__ == "__main__":
    from proxx_cli.main import main

    sys.exit(main(sys.argv[1:]))
