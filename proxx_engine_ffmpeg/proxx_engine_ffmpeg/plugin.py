"""Entry point module (group ``proxx``): registers the FFmpeg engine. Imports nothing heavy."""

from proxx_core.hookspecs import hookimpl


@hookimpl
def register_engines(register):
    from .engine import FFmpegEngine

    register(FFmpegEngine())
