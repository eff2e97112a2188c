"""Kept for engines written to the 1.0 engine author's guide, which taught ``proxx_core.process``;
the code lives in ``proxx_core.support.process``. New code imports ``proxx_core.kit``."""

from .support.process import run_command as run_command
from .support.process import run_commands as run_commands
