"""Kept for engines written to the 1.0 engine author's guide, which taught ``proxx_core.avprobe``;
the code lives in ``proxx_core.contract.avprobe``. New code imports ``proxx_core.kit``."""

from .contract.avprobe import probe_file as probe_file
