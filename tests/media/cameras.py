"""Camera-like sources for the real-media matrix: tiny (a few frames), made with the pinned FFmpeg.

Each kind says what it imitates; EXPECTED_REFUSALS says which (kind, profile) cells are refused at
validate and by which words of the reason. Every other cell must complete with every relink check
passing. ``python tests/media/cameras.py`` prints the matrix as the Markdown table of
docs/source-handling.md.
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":  # run as a script: find the shared test helpers
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from proxxtest import PROFILE_CODECS  # noqa: E402

PROFILES = sorted(PROFILE_CODECS)
HLG = ("bt2020", "arib-std-b67", "bt2020nc")
PQ = ("bt2020", "smpte2084", "bt2020nc")
XAVC_INTRA = ("-profile:v", "high422", "-pix_fmt", "yuv422p10le", "-x264-params", "keyint=1")
LONG_GOP_422 = ("-profile:v", "high422", "-pix_fmt", "yuv422p10le")

#: kind -> (file name, make_source keywords, what it imitates)
KINDS: dict[str, tuple[str, dict, str]] = {
    "prores-23.976": ("A001C001.mov", dict(), "ProRes 422 HQ MOV, 23.976, TC, 2 mono tracks"),
    "no-timecode-mp4": ("bikes.mp4", dict(video="h264", rate="25/1", timecode=None), "H.264 MP4 without timecode"),
    "xdcam-1080i25": (
        "XDCAM.mxf",
        dict(video="mpeg2_422", size="1920x1080", rate="25/1", frames=2, field_order="tff", timecode="10:00:00:00"),
        "XDCAM HD422: 1080i25 MPEG-2 4:2:2 OP1a MXF, TFF",
    ),
    "hdv-1440x1080i": (
        "HDV.m2ts",
        dict(video="h264", size="1440x1080", sar="4/3", rate="25/1", frames=2, field_order="tff"),
        "HDV-style 1440x1080 (PAR 4:3) H.264 TS, TFF",
    ),
    "dv-pal": (
        "DVPAL.mov",
        dict(video="dv", size="720x576", sar="16/15", rate="25/1", frames=2, field_order="bff"),
        "DV PAL 720x576 (PAR 16:15) BFF",
    ),
    "dv-ntsc": (
        "DVNTSC.mov",
        dict(
            video="dv_ntsc",
            size="720x480",
            sar="8/9",
            rate="30000/1001",
            frames=2,
            field_order="bff",
            timecode="00:59:59;28",
        ),
        "DV NTSC 720x480 (PAR 8:9) BFF, DF TC",
    ),
    "mpeg1-mpg": (
        "VCD.mpg",
        dict(video="mpeg1", size="352x288", rate="25/1", timecode=None, audio=()),
        "MPEG-1 program stream, 25 fps",
    ),
    "phone-vfr": (
        "IMG_0001.mp4",
        dict(video="h264", size="320x180", rate="30/1", frames=9, vfr=True, timecode=None, audio=(2,)),
        "phone H.264 with variable frame rate",
    ),
    "phone-rotated-90": (
        "IMG_0002.mp4",
        dict(video="h264", size="320x180", rate="30/1", timecode=None, rotation=90, audio=(2,)),
        "phone H.264, rotation 90°",
    ),
    "phone-rotated-270": (
        "IMG_0003.mp4",
        dict(video="h264", size="320x180", rate="30/1", timecode=None, rotation=270, audio=(2,)),
        "phone H.264, rotation 270°",
    ),
    "phone-hevc10-hlg": (
        "IMG_0004.mov",
        dict(video="hevc10", size="320x180", rate="30/1", color=HLG, audio=(2,)),
        "phone HEVC 10-bit BT.2020 HLG",
    ),
    "phone-hevc10-pq": (
        "IMG_0005.mov",
        dict(video="hevc10", size="320x180", rate="30/1", color=PQ, audio=(2,)),
        "HEVC 10-bit BT.2020 PQ",
    ),
    "anamorphic-2x": ("ANA.mov", dict(size="256x216", sar="2/1"), "2x anamorphic (PAR 2:1)"),
    "odd-raster": ("ODD.mov", dict(size="321x181"), "odd raster 321x181"),
    "dci-4k": ("DCI4K.mov", dict(size="4096x2160", frames=2), "DCI 4096x2160"),
    "scope-2.39": ("SCOPE.mov", dict(size="2048x858", frames=2), "2.39:1 scope 2048x858"),
    "audio-5.1": ("A51.mov", dict(audio=(6,)), "one 5.1 PCM stream"),
    "audio-7.1": ("A71.mov", dict(audio=(8,)), "one 7.1 PCM stream"),
    "audio-16-mono": (
        "A16.mxf",
        dict(video="dnxhr_hq", size="256x144", audio=(1,) * 16),
        "16 mono PCM tracks in MXF (Sony/ARRI)",
    ),
    "audio-96k-float": (
        "A96.mov",
        dict(audio=(2,), audio_rate=96000, audio_codec="pcm_f32le"),
        "96 kHz 32-bit float PCM",
    ),
    "no-audio": ("SILENT.mov", dict(audio=()), "no audio"),
    "tc-midnight": (
        "MIDNIGHT.mov",
        dict(rate="25/1", frames=8, timecode="23:59:59:20"),
        "start TC 23:59:59:20, crosses midnight",
    ),
    "59.94-df": ("DF.mov", dict(rate="60000/1001", timecode="00:59:59;58"), "59.94 drop-frame"),
    "50p": ("P50.mov", dict(rate="50/1", timecode="01:00:00:49"), "50p"),
    "24.000": ("F24.mov", dict(rate="24/1"), "24.000 fps (not 23.976)"),
    "xavc-long-gop-mxf": (
        "XAVCL.mxf",
        dict(video="h264_long_gop", size="384x216", frames=4, rate="25/1", extra=LONG_GOP_422),
        "XAVC-L-like long-GOP H.264 4:2:2 10-bit MXF",
    ),
    "avc-intra-mxf": (
        "AVCI.mxf",
        dict(video="h264", size="1920x1080", frames=2, rate="25/1", extra=XAVC_INTRA),
        "AVC-Intra / XAVC-I-like 10-bit 4:2:2 intra MXF",
    ),
    "reel-name-mov": ("A002C007.mov", dict(reel="A002R1CD"), "MOV with tmcd reel name"),
}

INTERLACED_KINDS = ("xdcam-1080i25", "hdv-1440x1080i", "dv-pal", "dv-ntsc")
DNXHR = "offline_dnxhr_lb_1920x1080"
EIGHT_BIT = ("offline_h264_1280x720", "offline_h264_1920x1080", DNXHR)

#: (kind, profile) -> words the validate refusal must contain
EXPECTED_REFUSALS: dict[tuple[str, str], str] = {
    **{(k, DNXHR): "interlaced" for k in INTERLACED_KINDS},
    ("phone-vfr", DNXHR): "variable frame rate",
    ("phone-rotated-90", DNXHR): "rotated",
    ("phone-rotated-270", DNXHR): "rotated",
    **{(k, p): "HDR" for k in ("phone-hevc10-hlg", "phone-hevc10-pq") for p in EIGHT_BIT},
}

#: a representative subset for the default (fast) run: the issue's observed failures
FAST_KINDS = (
    "no-timecode-mp4",
    "dv-pal",
    "mpeg1-mpg",
    "phone-rotated-90",
    "phone-hevc10-pq",
    "reel-name-mov",
    "audio-96k-float",
)


def table() -> str:
    """The matrix as Markdown: source kind x profile -> result (and rule)."""
    short = {p: p.removeprefix("offline_") for p in PROFILES}
    lines = ["| source kind | " + " | ".join(short[p] for p in PROFILES) + " |", "|---|" + "---|" * len(PROFILES)]
    for kind, (_, _, what) in KINDS.items():
        cells = [
            f"refused: {EXPECTED_REFUSALS[(kind, p)]}" if (kind, p) in EXPECTED_REFUSALS else "completed"
            for p in PROFILES
        ]
        lines.append(f"| {kind} ({what}) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    print(table())
