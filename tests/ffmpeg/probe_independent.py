"""An output inspector independent of the code under test: PyAV directly, frames decoded."""

from __future__ import annotations

import av


def inspect(path) -> dict:
    with av.open(str(path)) as c:
        v = c.streams.video[0]
        tcs = {s.metadata.get("timecode") for s in c.streams if s.metadata.get("timecode")}
        if c.metadata.get("timecode"):
            tcs.add(c.metadata["timecode"])
        info = {
            "format": c.format.name,
            "video_codec": v.codec_context.name,
            "width": v.codec_context.width,
            "height": v.codec_context.height,
            "pix_fmt": v.codec_context.pix_fmt,
            "sar": str(v.sample_aspect_ratio or "1"),
            "rate": str(v.base_rate),
            "timecodes": tcs,
            # MOV tmcd reel_name, MXF tape package (reel_name) or material package name
            "reel_names": {s.metadata.get("reel_name") for s in c.streams if s.metadata.get("reel_name")}
            | ({c.metadata["material_package_name"]} if c.metadata.get("material_package_name") else set()),
            "audio": [(a.codec_context.name, a.codec_context.channels, a.sample_rate) for a in c.streams.audio],
            "major_brand": c.metadata.get("major_brand"),
            # H.273 code points: 1 = BT.709 for primaries, transfer and matrix alike
            "colors": (
                int(v.codec_context.color_primaries),
                int(v.codec_context.color_trc),
                int(v.codec_context.colorspace),
            ),
        }
    with av.open(str(path)) as c:
        info["frames"] = sum(1 for _ in c.decode(video=0))
    return info
