"""Kept for engines written to the 1.0 engine author's guide, which taught ``proxx_core.media``;
the code lives in ``proxx_core.contract.media``. New code imports ``proxx_core.kit``."""

from .contract.media import AudioInfo as AudioInfo
from .contract.media import FrameRate as FrameRate
from .contract.media import SourceInfo as SourceInfo
from .contract.media import VideoInfo as VideoInfo
