"""Proxx core: the public API for users, and the contract types every engine implements.

For users (scripts, MAMs, GUIs)::

    from proxx_core import load_engines, check_job_file, run_job, dumps

    engines = load_engines()                      # the installed engines (entry-point group "proxx")
    checked = check_job_file("job.json", engines) # every problem at once; never raises for a bad spec
    if checked.job is not None:
        result = run_job(checked.job, engines, max_workers="auto")
        print(dumps(result))

For engine authors: the contract types below, ``hookimpl``, and :mod:`proxx_core.kit`. Every other
module of ``proxx_core`` is internal. Importing this package loads no plugins and stays cheap: the
user API is imported on first use.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from .engine import (
    ENGINE_CONTRACT_VERSION,
    Capabilities,
    Check,
    Claim,
    ClipPlan,
    ClipRequest,
    Command,
    CommandRecord,
    Engine,
    EngineIdentity,
    Refusal,
    Verification,
)
from .errors import CATEGORIES, ClipFailure, ProxxError
from .hookspecs import hookimpl
from .media import AudioInfo, FrameRate, SourceInfo, VideoInfo
from .profiles import PROFILES, Profile

if TYPE_CHECKING:
    from .api import CheckedJob, check_document, check_job_file
    from .plugins import EngineSet, load_engines
    from .results import JobResult
    from .runner import run_job
    from .serialization import dumps

#: the user API, imported on first use (name -> module)
_LAZY = {"load_engines": "plugins", "EngineSet": "plugins", "check_job_file": "api", "check_document": "api",
         "CheckedJob": "api", "run_job": "runner", "JobResult": "results", "dumps": "serialization"}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'proxx_core' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f".{module}", __name__), name)


__all__ = [
    "ENGINE_CONTRACT_VERSION", "CATEGORIES", "PROFILES", "AudioInfo", "Capabilities", "Check", "CheckedJob", "Claim",
    "ClipFailure", "ClipPlan", "ClipRequest", "Command", "CommandRecord", "Engine", "EngineIdentity", "EngineSet",
    "FrameRate", "JobResult", "Profile", "ProxxError", "Refusal", "SourceInfo", "Verification", "VideoInfo",
    "check_document", "check_job_file", "dumps", "hookimpl", "load_engines", "run_job",
]
