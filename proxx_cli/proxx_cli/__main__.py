from .executable import cli

cli()
