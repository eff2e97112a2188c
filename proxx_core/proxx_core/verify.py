"""Kept for engines written to the 1.0 engine author's guide, which taught ``proxx_core.verify``;
the code lives in ``proxx_core.rules.verify``. New code imports ``proxx_core.kit``."""

from .rules.verify import compare as compare
