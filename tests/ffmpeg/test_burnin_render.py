"""JobSpec 1.1 /burn_in and /watermark made by the FFmpeg engine: pixels change only inside the
text regions, bytes are identical across reruns and worker counts, the running drop-frame timecode
draws exactly what FFmpeg's own SMPTE timecode counter draws, and hostile text cannot reach the
filter graph."""

from __future__ import annotations

import hashlib
import subprocess

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from looktest import decode, ffmpeg

from proxx_core.contract.burnin import BurnIn, Overlay, Segment
from proxx_core.contract.media import FrameRate
from proxx_engine_ffmpeg.overlays import FONT_SHA256, _literal, font_path, option_value, timecode_text
from proxxtest import job_doc

BURN = [
    {"text": "{timecode} {frame}", "position": "bottom_right", "size": 0.08},
    {"text": "{reel} '\\\":,;[]%{{x}}", "position": "top_left", "size": 0.06},
]


def sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_shipped_font_is_the_recorded_one_with_its_licence():
    from pathlib import Path

    font = Path(font_path())
    assert hashlib.sha256(font.read_bytes()).hexdigest() == FONT_SHA256
    assert "Bitstream" in (font.parent / "LICENSE-DejaVu.txt").read_text()


def _run(proxx, write_job, srcs, out, workers=1, **extra):
    out.mkdir()
    doc = job_doc(srcs, out, jobspec_version="1.1.0" if extra else "1.0.0", **extra)
    r = proxx("run", write_job(doc), "--max-workers", workers)
    assert r.returncode == 0, r.stderr
    assert all(c["status"] == "COMPLETED" and c["output"]["verification"]["ok"] for c in r.json()["clips"])
    return r.json()


#: the ProRes encoder picks its quantiser per frame, so a burn-in re-quantises the whole frame by a few
#: code values; text on its box changes pixels by far more
REQUANTISATION = 8


def test_burn_in_pixels_differ_only_inside_their_regions(proxx, write_job, media, tmp_path):
    src = media("A001_C001.mov", size="640x360", frames=3, reel="A001")
    _run(proxx, write_job, [src], tmp_path / "plain")
    _run(proxx, write_job, [src], tmp_path / "burn", burn_in=BURN, watermark={"text": "DAILIES", "opacity": 0.4})
    for frame in (0, 2):
        w, h, plain = decode(tmp_path / "plain" / "A001_C001_proxy.mov", "gray", frame)
        _, _, burnt = decode(tmp_path / "burn" / "A001_C001_proxy.mov", "gray", frame)
        regions = {
            "top_left": (0, 0, w // 2, round(h * (0.02 + 0.06 * 2)) + 4),
            "bottom_right": (w // 2, h - round(h * (0.02 + 0.08 * 2)) - 4, w, h),
            "watermark": (0, round(h / 2 - 0.08 * h), w, round(h / 2 + 0.08 * h)),
        }
        hits = dict.fromkeys(regions, 0)
        outside = []
        for y in range(h):
            for x in range(w):
                if abs(plain[y * w + x] - burnt[y * w + x]) <= REQUANTISATION:
                    continue
                inside = [n for n, (x0, y0, x1, y1) in regions.items() if x0 <= x < x1 and y0 <= y < y1]
                if inside:
                    hits[inside[0]] += 1
                else:
                    outside.append((x, y))
        assert outside == [], outside[:10]
        assert all(n > 50 for n in hits.values()), hits


def test_burn_in_bytes_are_identical_across_reruns_and_worker_counts(proxx, write_job, media, tmp_path):
    srcs = [
        media("A001_C001.mov", size="320x180", frames=3, reel="A001"),
        media("A001_C002.mov", size="320x180", frames=3, timecode="00:59:59;29", rate="30000/1001"),
    ]
    extra = {"burn_in": BURN, "watermark": {"text": "{source_name}", "opacity": 0.5}}
    hashes = []
    for label, workers in (("one", 1), ("two", 2), ("again", 2)):
        result = _run(proxx, write_job, srcs, tmp_path / label, workers=workers, **extra)
        hashes.append([c["output"]["sha256"] for c in result["clips"]])
        assert result["clips"][0]["commands"][-1]["argv"].count("-vf") == 1
    assert hashes[0] == hashes[1] == hashes[2]
    assert hashes[0][0] != hashes[0][1]


def _render(text_opts: str, frames: int = 1, size: str = "320x60") -> bytes:
    vf = f"drawtext=fontfile={option_value(font_path())}:fontsize=20:x=4:y=4:fontcolor=white:{text_opts}"
    return subprocess.run(
        [
            ffmpeg(),
            "-nostdin",
            "-hide_banner",
            "-loglevel",
            "error",
            "-f",
            "lavfi",
            "-i",
            f"color=c=black:size={size}:rate=30000/1001",
            "-frames:v",
            str(frames),
            "-vf",
            vf,
            "-f",
            "rawvideo",
            "-pix_fmt",
            "gray",
            "-",
        ],
        check=True,
        capture_output=True,
        timeout=60,
    ).stdout


def test_running_drop_frame_timecode_matches_ffmpegs_smpte_counter():
    # across a dropped minute boundary and a kept tenth-minute one
    for start in ("01:00:59;27", "01:09:59;28", "23:59:59;29"):
        burn = BurnIn(
            elements=(Overlay(segments=(Segment(kind="timecode"),), position="top_left", size=0.1),),
            start_timecode=start,
            frame_rate=FrameRate(num=30000, den=1001),
        )
        ours = _render(f"text={option_value(timecode_text(burn))}", frames=6)
        theirs = _render(f"timecode={option_value(start)}:rate=30000/1001:tc24hmax=1", frames=6)  # wraps at 24 h
        assert ours == theirs, start


_HOSTILE = (
    st.lists(
        st.sampled_from(list("ab :'\"\\%{}[],;=@#$()") + ["é", "%{n}", "\\'", "'\\''", "\\\\"]), min_size=1, max_size=20
    )
    .map("".join)
    .filter(lambda s: s.strip())
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=_HOSTILE)
def test_hostile_text_draws_literally(tmp_path_factory, text):
    """The escaped text draws exactly what drawtext draws reading the same text from a file with no
    expansion: quotes, colons, backslashes, percent signs and braces cannot reach the filter graph."""
    ref = tmp_path_factory.mktemp("text") / "t.txt"
    ref.write_text(text, encoding="utf-8")
    assert _render(f"text={option_value(_literal(text))}:expansion=normal") == _render(
        f"textfile={option_value(str(ref))}:expansion=none"
    )
