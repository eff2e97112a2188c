"""Entry point module (group ``proxx``, name ``imageseq``). Imports nothing heavy."""

from proxx_core import hookimpl


@hookimpl
def proxx_register_engines(register):
    from .engine import ImageSequenceEngine

    register(ImageSequenceEngine())
