"""The 1.0 proxy profile catalogue: data, not code paths.

A profile names *what* to make. Engines decide *how*, and declare which profiles they can make on
this machine. Byte-affecting encoder settings live in the engines, pinned per profile.
"""

from __future__ import annotations

from fractions import Fraction

import attrs

from .media import VideoInfo


@attrs.frozen(kw_only=True)
class Profile:
    name: str
    #: what a JobSpec's `codec` must say to confirm this profile
    codec: str
    #: what a JobSpec's `container` must say; also the output extension
    container: str
    max_width: int
    max_height: int
    video: str
    #: the codec profile an output must carry, as libav names it ("Proxy", "LT", "DNXHR LB", "High"):
    #: what an engine reads instead of parsing the profile name, and what verification checks
    codec_profile: str
    #: pixel format of the output video
    pix_fmt: str
    bit_depth: int
    #: audio codec name as probed in the output ("aac", "pcm_s24le")
    audio_codec: str
    #: output audio sample rate, or None to keep the source's
    audio_sample_rate: int | None
    #: exact frame rates the container can carry, or () for any
    allowed_frame_rates: tuple[str, ...] = ()
    #: colour tags (primaries, transfer, matrix) every output carries, or None to follow the source
    color_tags: tuple[str, str, str] | None = None
    #: smallest raster the encoder accepts (DNxHR needs 256x120)
    min_width: int = 2
    min_height: int = 2
    description: str

    @property
    def extension(self) -> str:
        return self.container


_MXF_RATES = ("24000/1001", "24/1", "25/1", "30000/1001", "30/1", "50/1", "60000/1001", "60/1")

PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile(
            name="offline_h264_1920x1080",
            codec="h264",
            container="mp4",
            max_width=1920,
            max_height=1080,
            video="H.264 High, 8-bit 4:2:0, BT.709 tags",
            codec_profile="High",
            pix_fmt="yuv420p",
            bit_depth=8,
            audio_codec="aac",
            audio_sample_rate=48000,
            color_tags=("bt709", "bt709", "bt709"),
            description="Small H.264 offline proxy, 1080p; AAC-LC 48 kHz, every audio stream kept",
        ),
        Profile(
            name="offline_h264_1280x720",
            codec="h264",
            container="mp4",
            max_width=1280,
            max_height=720,
            video="H.264 High, 8-bit 4:2:0, BT.709 tags",
            codec_profile="High",
            pix_fmt="yuv420p",
            bit_depth=8,
            audio_codec="aac",
            audio_sample_rate=48000,
            color_tags=("bt709", "bt709", "bt709"),
            description="Smallest H.264 offline proxy, 720p; AAC-LC 48 kHz, every audio stream kept",
        ),
        Profile(
            name="offline_prores_proxy_1920x1080",
            codec="prores",
            container="mov",
            max_width=1920,
            max_height=1080,
            video="ProRes 422 Proxy, 10-bit 4:2:2",
            codec_profile="Proxy",
            pix_fmt="yuv422p10le",
            bit_depth=10,
            audio_codec="pcm_s24le",
            audio_sample_rate=None,
            description="ProRes 422 Proxy in MOV; PCM 24-bit, every audio stream kept",
        ),
        Profile(
            name="offline_prores_lt_1920x1080",
            codec="prores",
            container="mov",
            max_width=1920,
            max_height=1080,
            video="ProRes 422 LT, 10-bit 4:2:2",
            codec_profile="LT",
            pix_fmt="yuv422p10le",
            bit_depth=10,
            audio_codec="pcm_s24le",
            audio_sample_rate=None,
            description="ProRes 422 LT in MOV; PCM 24-bit, every audio stream kept",
        ),
        Profile(
            name="offline_dnxhr_lb_1920x1080",
            codec="dnxhr",
            container="mxf",
            max_width=1920,
            max_height=1080,
            video="DNxHR LB, 8-bit 4:2:2",
            codec_profile="DNXHR LB",
            pix_fmt="yuv422p",
            bit_depth=8,
            audio_codec="pcm_s24le",
            audio_sample_rate=48000,
            allowed_frame_rates=_MXF_RATES,
            min_width=256,
            min_height=120,
            description="DNxHR LB in OP1a MXF for Avid; PCM 24-bit 48 kHz, every audio stream kept",
        ),
    )
}


#: how far a proxy's display aspect may be from its source's (verification's display_aspect check)
ASPECT_TOLERANCE = Fraction(1, 100)


def fit_aspect_problem(video: VideoInfo, profile: Profile) -> str | None:
    """Why ``fit_raster`` cannot keep the source's display aspect within ASPECT_TOLERANCE (a tiny
    source, where rounding to even pixels moves the aspect by more than 1 %), or None: refused at
    validate, as verification would fail the proxy after the encode."""
    w, h = fit_raster(video, profile)
    source = Fraction(video.display_aspect)
    if abs(Fraction(w, h) - source) / source <= ASPECT_TOLERANCE:
        return None
    return (
        f'raster "fit": {video.width}x{video.height} with pixel aspect {video.sample_aspect} '
        f"(display aspect {float(source):.4f}) becomes {w}x{h} square pixels in {profile.name}, an aspect "
        f'{float(Fraction(w, h)):.4f}, more than 1 % off, which relinking NLEs refuse; use raster "half" '
        f"(keeps the pixel aspect) or a larger source"
    )


def _even(x: Fraction) -> int:
    """Largest even integer not above ``x``, at least 2: rounding down never upscales, and exact
    fractions mean every host computes the same raster."""
    return max(2, 2 * int(x // 2))


def fit_raster(video: VideoInfo, profile: Profile) -> tuple[int, int]:
    """Output width/height: the source's display aspect inside the profile box, square pixels,
    even dimensions, never upscaled. An interlaced source into a 4:2:0 profile gets a height that is
    a multiple of 4: each field has half the lines and 4:2:0 halves them again for chroma (720x486
    D1 NTSC becomes 484 lines, an aspect change far inside verification's 1 %)."""
    display_w = video.display_aspect * video.height
    h = Fraction(video.height)
    scale = min(Fraction(profile.max_width) / display_w, Fraction(profile.max_height) / h, Fraction(1))
    height = _even(h * scale)
    if video.field_dominance in ("tff", "bff") and profile.pix_fmt.startswith("yuv420"):
        height = max(4, height // 4 * 4)
    return _even(display_w * scale), height


#: transfer functions of HDR sources (PQ, HLG): an 8-bit BT.709 proxy would mislabel them
HDR_TRANSFERS = ("smpte2084", "arib-std-b67")


def assumed_color_tags(video: VideoInfo) -> tuple[str, str, str]:
    """The source's (primaries, transfer, matrix), each missing tag assumed as NLEs do from the
    raster: 525-line SD is SMPTE 170M, 625-line SD is BT.470BG with the BT.709 curve, anything
    else BT.709."""
    if video.height in (480, 486) and video.width <= 720:
        default = ("smpte170m", "smpte170m", "smpte170m")
    elif video.height == 576 and video.width <= 720:
        default = ("bt470bg", "bt709", "bt470bg")
    else:
        default = ("bt709", "bt709", "bt709")
    tags = (video.color_primaries, video.color_transfer, video.color_space)
    return tuple(t or d for t, d in zip(tags, default, strict=False))  # type: ignore[return-value]


def output_color_tags(video: VideoInfo, profile: Profile) -> tuple[str, str, str]:
    """The colour tags every proxy carries: the profile's fixed ones (H.264: BT.709, the matrix is
    converted), else the source's, missing ones assumed (:func:`assumed_color_tags`)."""
    return profile.color_tags or assumed_color_tags(video)


def representability_problems(video: VideoInfo | None, profile: Profile) -> list[str]:
    """Reasons the profile cannot represent this source faithfully (refused at validation)."""
    reasons = []
    if video is None:
        reasons.append("the source has no video stream; every profile makes a video proxy")
        return reasons
    if video.field_dominance in ("tff", "bff") and profile.codec == "dnxhr":
        reasons.append(
            f"the source is interlaced ({video.field_dominance.upper()}) and FFmpeg's DNxHR encoder has no interlaced "
            f"mode; a progressive proxy would not relink (NLEs require the same fielding); choose a ProRes or "
            f"H.264 profile"
        )
    if video.variable_frame_rate and profile.container == "mxf":
        reasons.append(
            f"the source has a variable frame rate and MXF carries a constant rate only ({profile.name} would "
            f"retime it); choose an H.264 or ProRes profile, which keep every frame's timestamp"
        )
    if video.rotation and profile.container == "mxf":
        reasons.append(
            f"the source is displayed rotated by {video.rotation}° and MXF has no display rotation; choose an "
            f"H.264 or ProRes profile, which keep the rotation flag"
        )
    if profile.bit_depth == 8 and video.color_transfer in HDR_TRANSFERS:
        reasons.append(
            f"the source is HDR (transfer {video.color_transfer}) and {profile.name} is 8-bit, so it would be "
            f"mislabelled or banded; choose a ProRes profile (10-bit, keeps the HDR tags)"
        )
    elif profile.color_tags and video.color_primaries == "bt2020":
        reasons.append(
            f"the source has BT.2020 primaries and {profile.name} is tagged "
            f"{profile.color_tags[0]} without gamut conversion; choose a ProRes profile (keeps the source's tags)"
        )
    if profile.allowed_frame_rates and str(video.frame_rate) not in profile.allowed_frame_rates:
        reasons.append(
            f"frame rate {video.frame_rate} cannot be carried by {profile.container.upper()} "
            f"({profile.name} allows {', '.join(profile.allowed_frame_rates)}); choose an H.264 or ProRes profile"
        )
    w, h = fit_raster(video, profile)
    if w < profile.min_width or h < profile.min_height:
        reasons.append(
            f"the proxy raster would be {w}x{h}, below the {profile.min_width}x{profile.min_height} minimum "
            f"of {profile.name}; choose an H.264 or ProRes profile"
        )
    return reasons
