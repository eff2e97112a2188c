"""The ``proxx`` executable (and ``python -m proxx_cli``): its very first step, then the command.

A command that probes media starts the probe helper (proxx_core/io/helperprocess.py) before importing
anything else: the helper then has the most time to import PyAV on the other core, and to read the
job's sources, while this process imports argparse, pathlib, the plugins and the pipeline (~10 ms
sooner than after ``proxx_cli.main``'s own imports).
"""

import sys

#: the commands that probe media before their first step (validation), worth a probe helper
PROBING = frozenset({"run", "validate", "plan"})


def start_helpers(argv: list[str]) -> None:
    """For the executable only, before any other import: a command that probes media starts the probe
    helper, which imports PyAV on the other core meanwhile."""
    if argv and argv[0] in PROBING:
        from proxx_core.io import helperprocess

        helperprocess.start("probe", "proxx_core.io.avfacts")  # avprobe.PROBE_HELPER, named here: a light import


def cli() -> None:
    start_helpers(sys.argv[1:])
    from .main import cli as command

    command()
