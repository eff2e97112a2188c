"""Kept for engines written to the 1.0 engine author's guide, which taught ``proxx_core.api``;
the code lives in ``proxx_core.pipeline.check``. New code imports ``proxx_core.kit``."""

from .pipeline.check import check_document as check_document
