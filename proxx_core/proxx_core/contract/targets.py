"""``Target``: one file a clip publishes (the video file, or an OP-Atom audio channel), a value of the
engine contract (``ClipRequest.extra_outputs``). Apart from ``layouts`` (the path arithmetic that
makes targets), so the contract imports no layout logic."""

from __future__ import annotations

import attrs


@attrs.frozen(kw_only=True)
class Target:
    """One file a clip publishes: what it carries and its final path."""

    #: "video" (the proxy, or the OP-Atom video track), or "audio" (one OP-Atom audio channel)
    kind: str
    path: str
    #: for "audio": the audio stream of the source (its position) and the channel within it, 0-based
    stream: int | None = None
    channel: int | None = None
    #: the hidden sibling the engine writes first (set by planning)
    temp_path: str = ""
