"""`proxx` with a bug planted in the core: ``run_together`` raises for a source whose name starts with
``B001``, so that source's shared run ends in an exception nobody expected while the other sources run
as usual. The same script runs `proxx run` and `proxx worker` (a real process, as strict_worker.py
is), so a test compares what each makes of that exception."""

from __future__ import annotations

import os
import sys

import proxx_core.pipeline.runner as runner

FLAKY_SOURCE = "B001"
_run_together = runner.run_together


def flaky_together(plan, clips, *args, **kwargs):
    if os.path.basename(clips[0].source).startswith(FLAKY_SOURCE):
        raise RuntimeError("a planted bug in the shared run")
    return _run_together(plan, clips, *args, **kwargs)


runner.run_together = flaky_together

if __name__ == "__main__":
    from proxx_cli.main import main

    sys.exit(main(sys.argv[1:]))
