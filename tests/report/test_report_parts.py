"""The report's PDF made in parts on worker processes (proxx_report.parts): the parts are joined in
clip order with every page numbered of the whole, the same bytes on every run and the same pictures
as in-process; the printed contact strip holds the sheet's frames with their timecodes; thumbnails
of a full-size frame (the fast first scaling step) still match an independent area scale."""

from __future__ import annotations

import base64
import io
import re
import subprocess
import sys
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageStat

from proxxtest import job_doc


def _image(uri: str) -> Image.Image:
    return Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1]))).convert("RGB")


def _distance(a: Image.Image, b: Image.Image) -> float:
    return ImageStat.Stat(ImageChops.difference(a.convert("L"), b.convert("L"))).mean[0]


def test_parts_are_joined_in_clip_order_numbered_of_the_whole_and_the_same_every_time(
    proxx, write_job, media, outdir, tmp_path, monkeypatch
):
    from proxx_report.facts import clip_facts, job_facts
    from proxx_report.parts import clip_thumbnails, render_all

    srcs = [media(f"R{i:02d}_C001.mov", size="64x36", frames=6, timecode=f"0{i}:00:00:00") for i in range(1, 4)]
    r = proxx("run", write_job(job_doc(srcs, outdir, jobspec_version="1.1.0", job_id="parts")))
    assert r.returncode == 0, r.stderr
    result = r.json()
    job, facts = job_facts(result), [clip_facts(c) for c in result["clips"]]
    pictures, pdf = render_all(job, facts, part_clips=1, processes=2)  # three parts on two processes
    again = render_all(job, facts, part_clips=1, processes=2)
    assert again[1] == pdf and b"/CreationDate" not in pdf and b"/ModDate" not in pdf
    assert pictures == [clip_thumbnails(f) for f in facts] == again[0]  # the workers' pictures are ours
    path = tmp_path / "parts.pdf"
    path.write_bytes(pdf)
    info = subprocess.run(["pdfinfo", str(path)], check=True, capture_output=True, text=True).stdout
    pages = int(re.search(r"^Pages:\s+(\d+)", info, re.M).group(1))
    assert pages >= 3
    texts = [
        subprocess.run(
            ["pdftotext", "-layout", "-f", str(n), "-l", str(n), str(path), "-"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        for n in range(1, pages + 1)
    ]
    for n, text in enumerate(texts, start=1):
        assert re.search(rf"\b{n}\s*/\s*{pages}\s*$", text.strip()), (n, text[-300:])
    whole = "\n".join(texts)
    assert [whole.index(f"R{i:02d}_C001") for i in range(1, 4)] == sorted(
        whole.index(f"R{i:02d}_C001") for i in range(1, 4)
    )
    assert whole.count("Proxx report") == 1 and "Written by Proxx" in texts[-1]  # one header, one footer
    # a worker process that dies (here: an interpreter that exits at once) leaves its parts to this one
    monkeypatch.setattr(sys, "executable", "/bin/false")
    assert render_all(job, facts, part_clips=1, processes=2) == (pictures, pdf)


def test_the_printed_strip_holds_the_sheet_frames_with_a_caption_under_each(media):
    from proxx_report.thumbnails import CONTACT_WIDTH, STRIP_CAPTION, STRIP_GAP, thumbnails

    src = media("strip.mov", size="320x180", rate="25/1", frames=30)
    pictures = thumbnails(str(src), 30, Fraction(25), caption=lambda i: f"01:00:00:{i:02d}")
    strip = _image(pictures.strip.uri)
    assert strip.size == (6 * CONTACT_WIDTH + 5 * STRIP_GAP, 90 + STRIP_CAPTION)
    for k, t in enumerate(pictures.sheet):
        x = k * (CONTACT_WIDTH + STRIP_GAP)
        frame = strip.crop((x, 0, x + CONTACT_WIDTH, 90))
        assert _distance(frame, _image(t.uri)) < 3, k
        caption = strip.crop((x, 90, x + CONTACT_WIDTH, 90 + STRIP_CAPTION)).convert("L")
        assert caption.getextrema()[0] < 100, f"no caption under frame {k}"  # dark text on white
    assert thumbnails(str(src), 30, Fraction(25)).strip is None  # no captions asked: no strip


@pytest.mark.parametrize("read_ahead", [48, 0])
def test_intra_only_thumbnails_are_their_exact_frames_read_forward_or_by_seeking(media, monkeypatch, read_ahead):
    """ProRes (intra-only): the wanted packets alone are decoded, read forward or found by a seek;
    each thumbnail equals an independent area scale of its frame (full size: the two-step scaling)
    and differs from its neighbours'."""
    from proxx_engine_ffmpeg.binary import inspect_binary
    from proxx_report import thumbnails as module

    monkeypatch.setattr(module, "READ_AHEAD_FRAMES", read_ahead)
    src = media("big.mov", size="640x360", rate="25/1", frames=40)
    pictures = module.thumbnails(str(src), 40, Fraction(25))
    assert [t.frame for t in pictures.sheet] == module.contact_indices(40) == [0, 8, 16, 23, 31, 39]

    def reference(index: int) -> Image.Image:
        raw = subprocess.run(
            [
                inspect_binary().path,
                "-v",
                "error",
                "-i",
                str(src),
                "-vf",
                f"select=eq(n\\,{index}),scale={module.CONTACT_WIDTH}:90:flags=area",
                "-frames:v",
                "1",
                "-f",
                "rawvideo",
                "-pix_fmt",
                "rgb24",
                "-",
            ],
            check=True,
            capture_output=True,
        ).stdout
        return Image.frombytes("RGB", (module.CONTACT_WIDTH, 90), raw)

    for t in pictures.sheet:
        here = _distance(_image(t.uri), reference(t.frame))
        neighbour = _distance(_image(t.uri), reference(t.frame + 1 if t.frame < 39 else t.frame - 1))
        assert here < neighbour and here < 4, (t.frame, here, neighbour)
    assert pictures.poster is not None and pictures.poster.frame == 23 and pictures.poster.width == 384


@given(clips=st.integers(0, 500), part_clips=st.integers(1, 40), workers=st.integers(1, 4))
def test_parts_hold_every_clip_once_in_order_and_never_more_than_a_part(clips, part_clips, workers):
    from proxx_report.parts import MIN_PART_CLIPS, _cut

    parts = _cut(list(range(clips)), part_clips, workers)
    assert [c for part in parts for c in part] == list(range(clips))
    assert all(len(part) <= part_clips for part in parts)
    sizes = [len(part) for part in parts]
    if clips > part_clips and workers == 1:  # one process: equal parts
        assert all(sizes) and max(sizes) - min(sizes) <= 1
    elif clips > part_clips:  # several: largest first, ending small so that the processes end together
        assert all(sizes) and sizes[:-1] == sorted(sizes[:-1], reverse=True)
        assert sizes[-1] <= min(part_clips, 2 * MIN_PART_CLIPS - 1)


def test_stamped_page_numbers_print_exactly_as_pypdf_merge_page_would(proxx, write_job, media, outdir, tmp_path):
    """The join draws each page's number as a Form XObject (no parsing of the page's content): every
    page rasterises to the same pixels as pypdf's merge_page of the same number page."""
    from pypdf import PdfReader, PdfWriter

    from proxx_report.facts import clip_facts, job_facts
    from proxx_report.parts import NUMBERS_CSS, join_pdfs, render_part
    from proxx_report.render import report_pdf

    srcs = [media(f"S{i:02d}_C001.mov", size="64x36", frames=6, timecode=f"0{i}:00:00:00") for i in range(1, 4)]
    r = proxx("run", write_job(job_doc(srcs, outdir, jobspec_version="1.1.0", job_id="stamp")))
    assert r.returncode == 0, r.stderr
    job, facts = job_facts(r.json()), [clip_facts(c) for c in r.json()["clips"]]
    parts = [render_part(job, facts[i : i + 1], i == 0, i == 2, False)[1] for i in range(3)]
    merged = PdfWriter()
    for part in parts:
        merged.append(PdfReader(io.BytesIO(part)))
    numbers = PdfReader(
        io.BytesIO(
            report_pdf(
                f"<!DOCTYPE html><html><head><style>{NUMBERS_CSS}</style></head>"
                f"<body>{'<div></div>' * len(merged.pages)}</body></html>"
            )
        )
    )
    for page, number in zip(merged.pages, numbers.pages, strict=True):
        page.merge_page(number)
    expected = io.BytesIO()
    merged.write(expected)
    for name, pdf in (("expected", expected.getvalue()), ("stamped", join_pdfs(parts))):
        (tmp_path / f"{name}.pdf").write_bytes(pdf)
        subprocess.run(
            ["pdftoppm", "-r", "72", "-png", str(tmp_path / f"{name}.pdf"), str(tmp_path / name)],
            check=True,
            capture_output=True,
        )
    pages = sorted(tmp_path.glob("expected-*.png"))
    assert len(pages) == len(numbers.pages) >= 3
    for page in pages:
        a = Image.open(page).convert("RGB")
        b = Image.open(tmp_path / page.name.replace("expected", "stamped")).convert("RGB")
        assert ImageChops.difference(a, b).getbbox() is None, page.name


def test_kept_scalers_give_the_pixels_of_a_fresh_scaler_for_every_size_in_any_order(media):
    """The report keeps one libswscale context per setting across frames and clips: every picture is
    byte-identical to one made with a fresh context (VideoFrame.reformat), whatever came before."""
    import av

    from proxx_report.thumbnails import _scaled

    def fresh(frame, width):
        display = Fraction(frame.width) / frame.height
        height = max(2, round(width / display / 2) * 2)
        if frame.width >= 4 * width:
            frame = frame.reformat(width=width * 2, height=height * 2, format="yuv420p", interpolation="FAST_BILINEAR")
        return frame.reformat(width=width, height=height, format="rgb24", interpolation="AREA").to_image()

    sources = [media("wide.mov", size="1280x720", frames=3), media("narrow.mov", size="320x240", frames=3)]
    frames = []
    for src in sources:
        with av.open(str(src)) as c:
            frames += [f for f in c.decode(video=0)]
    for width in (160, 384, 96, 160, 384):
        for frame in frames:
            assert _scaled(frame, width).tobytes() == fresh(frame, width).tobytes(), (width, frame.width)
