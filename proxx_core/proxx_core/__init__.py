"""Proxx core: JobSpec, profiles, the engine contract, deterministic routing, runner and results.

Importing this package loads no plugins; call :func:`proxx_core.plugins.load_engines`.
"""

from .engine import (
    ENGINE_CONTRACT_VERSION, Capabilities, Check, Claim, ClipPlan, ClipRequest, Command, CommandRecord,
    Engine, EngineIdentity, Refusal, Verification,
)
from .errors import CATEGORIES, ClipFailure, ProxxError
from .hookspecs import hookimpl
from .media import AudioInfo, FrameRate, SourceInfo, VideoInfo
from .profiles import PROFILES, Profile

__all__ = [
    "ENGINE_CONTRACT_VERSION", "CATEGORIES", "PROFILES", "AudioInfo", "Capabilities", "Check", "Claim",
    "ClipFailure", "ClipPlan", "ClipRequest", "Command", "CommandRecord", "Engine", "EngineIdentity",
    "FrameRate", "Profile", "ProxxError", "Refusal", "SourceInfo", "Verification", "VideoInfo", "hookimpl",
]
