"""Kept for engines written to the 1.0 engine author's guide, which taught ``proxx_core.runner``;
the code lives in ``proxx_core.pipeline.runner``. New code imports ``proxx_core.kit``."""

from .pipeline.runner import run_job as run_job
