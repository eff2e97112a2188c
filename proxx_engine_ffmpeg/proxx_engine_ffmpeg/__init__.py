"""Proxx's FFmpeg engine. Heavy work (binary discovery, capability detection) happens lazily."""

__version__ = "1.1.0"
