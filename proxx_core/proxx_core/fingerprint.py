"""Kept for engines written to the 1.0 engine author's guide, which taught ``proxx_core.fingerprint``;
the code lives in ``proxx_core.io.fingerprint``. New code imports ``proxx_core.kit``."""

from .io.fingerprint import binary_sha256 as binary_sha256
from .io.fingerprint import cached_by_file as cached_by_file
