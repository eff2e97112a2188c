"""Kept for engines written to the 1.0 engine author's guide, which taught ``proxx_core.profiles``;
the code lives in ``proxx_core.contract.profiles``. New code imports ``proxx_core.kit``."""

from .contract.profiles import PROFILES as PROFILES
