"""Proxx engine for numbered still-image sequences: the worked example of docs/engine-authors.md."""

__version__ = "1.1.0"
