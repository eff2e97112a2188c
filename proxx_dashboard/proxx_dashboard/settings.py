"""Defaults shared by the command and the readers; imports nothing, so `proxx --help` (which
registers the command) stays as cheap as before."""

DEFAULT_HOST, DEFAULT_PORT = "127.0.0.1", 8765
#: a running clip with no progress sample for this long is flagged stalled
DEFAULT_STALL_SECONDS = 60.0
