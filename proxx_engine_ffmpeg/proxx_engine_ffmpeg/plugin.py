"""Entry point module (group ``proxx``): registers the FFmpeg engine. Imports nothing heavy."""

from proxx_core import hookimpl


@hookimpl
def proxx_register_engines(register):
    from .engine import FFmpegEngine

    register(FFmpegEngine())
