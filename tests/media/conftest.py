"""The media matrix reuses the independent PyAV inspector of tests/ffmpeg."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ffmpeg"))
