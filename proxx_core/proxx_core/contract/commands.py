"""What a plugin's command is given to take the same inputs as ``proxx run`` (``proxx_register_commands``).

A plugin imports only ``proxx_core`` and ``proxx_core.kit``, never the CLI: the CLI hands the hook
its own front door as a :class:`JobInputs` value (the ``inputs`` argument), so ``proxx submit`` reads
media folders, camera cards, ``--profile`` and ``--preset`` exactly as ``proxx run`` does.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import Any

import attrs

#: ``build_job(args, err)``: the JobSpec document the command line describes (None when nothing
#: could be built), the problems found expanding the inputs as ``(path, message)``, and the expansion
BuiltJob = tuple[dict[str, Any] | None, list[tuple[str, str]], Any]
BuildJob = Callable[[argparse.Namespace, Callable[[str], None]], BuiltJob]


@attrs.frozen(kw_only=True)
class JobInputs:
    """The CLI's front door for a plugin command (the ``inputs`` argument of ``proxx_register_commands``).

    - ``add_source_options(parser)``: the positional ``inputs`` and ``--profile``, ``--preset``,
      ``--config``, ``--output-dir``… of ``proxx run``, added to the command's parser;
    - ``building(args)``: whether the parsed arguments name media to build a job from (else
      ``args.inputs[0]`` is one JobSpec file);
    - ``build_job(args, err)``: the JobSpec built from them (see :data:`BuildJob`); a usage
      problem (no profile for media, an unknown preset, a bad node config) raises
      :class:`proxx_core.ProxxError` whose ``message`` says what to give; ``err(line)`` receives
      what a person reads about the expansion (cards found, files skipped).
    """

    add_source_options: Callable[[argparse.ArgumentParser], None]
    building: Callable[[argparse.Namespace], bool]
    build_job: BuildJob
