"""The job report (deliverable ``report``): a self-contained HTML page a real browser shows with
every clip's pictures and verdicts, a PDF that renders with the same facts, the same bytes on a
rerun apart from the documented time fields, written and listed like every sidecar."""

from __future__ import annotations

import hashlib
import re
import subprocess
import sys
from fractions import Fraction
from pathlib import Path

import pytest
from PIL import Image, ImageChops, ImageStat

from proxxtest import job_doc

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "ffmpeg"))
from test_failures import WRAPPER  # noqa: E402  (the stand-in ffmpeg that provokes real failures)

#: the documented time fields (docs/reports.md): masked before comparing two runs
TIME_SPAN = re.compile(r'<span class="proxx-time" data-field="[a-z_]+">[^<]*</span>')

CLIPS = {
    "A001_C001.mov": dict(rate="24000/1001", frames=12, timecode="10:00:00:12", audio=(2,)),
    "B002_C010.mov": dict(rate="25/1", frames=8, timecode="01:00:00:00", audio=(), reel="B002"),
}


def spec(srcs, outdir, **extra):
    return job_doc(
        srcs,
        outdir,
        jobspec_version="1.1.0",
        job_id="day1",
        deliverables=["report"],
        user_metadata={"show": "Night Shift", "day": 3},
        **extra,
    )


@pytest.fixture
def fake_ffmpeg(tmp_path):
    from proxx_engine_ffmpeg.binary import inspect_binary

    path = tmp_path / "bin" / "ffmpeg"
    path.parent.mkdir()
    path.write_text(WRAPPER.replace("{real}", inspect_binary().path).replace("{fmt}", "mov"))
    path.chmod(0o755)
    return {"PROXX_FFMPEG": str(path)}


@pytest.fixture
def partial_job(proxx, write_job, media, outdir, fake_ffmpeg):
    """Two delivered clips and one that fails verification (its encode stops at 2 of 6 frames)."""
    srcs = [media(name, size="64x36", **kw) for name, kw in CLIPS.items()]
    srcs.append(media("short-me.mov", size="64x36", frames=6))
    r = proxx("run", write_job(spec(srcs, outdir)), env_extra=fake_ffmpeg)
    assert r.returncode == 3, r.stderr
    return r.json()


def report_files(res: dict, outdir: Path) -> tuple[Path, Path]:
    listed = [d for d in res["deliverables"] if d["name"] == "report"]
    assert [d["error"] for d in listed] == [None, None], listed
    assert [Path(d["path"]) for d in listed] == [outdir / "day1.report.html", outdir / "day1.report.pdf"]
    for d in listed:
        assert hashlib.sha256(Path(d["path"]).read_bytes()).hexdigest() == d["sha256"]
    assert not list(outdir.glob(".*.tmp")), "a temporary file was left behind"
    return outdir / "day1.report.html", outdir / "day1.report.pdf"


def test_report_opens_in_a_real_browser_with_every_clip_its_pictures_and_verdicts(
    partial_job, outdir, browser, tmp_path, keep_artifact
):
    html_path, _ = report_files(partial_job, outdir)
    text = html_path.read_text(encoding="utf-8")
    assert "<script" not in text and not re.search(r'(?:src|href)="(?!data:|#)', text), "the page must fetch nothing"
    browser.get(html_path.as_uri())
    articles = browser.execute_script("""return [...document.querySelectorAll('article.clip')].map(a => ({
        name: a.dataset.clip, status: a.dataset.status,
        images: [...a.querySelectorAll('img')].map(i => [i.className, i.complete, i.naturalWidth]),
        captions: [...a.querySelectorAll('figcaption')].map(f => f.textContent),
        relink: [...a.querySelectorAll('.nle')].map(n => n.dataset.nle),
        verification: a.querySelector('.verification').textContent,
        failure: [...a.querySelectorAll('tr.failure td')].map(t => t.textContent)}))""")
    by_name = {a["name"]: a for a in articles}
    assert list(by_name) == ["A001_C001", "B002_C010", "short-me"]
    for name in ("A001_C001", "B002_C010"):
        clip = by_name[name]
        assert clip["status"] == "COMPLETED"
        assert [c for c, _, _ in clip["images"]] == ["poster-frame"] + ["contact-frame"] * 6
        assert all(complete and width > 0 for _, complete, width in clip["images"]), clip["images"]
        assert sorted(clip["relink"]) == ["avid", "fcp", "premiere", "resolve"]
        assert clip["verification"].startswith("passed (")
    # the timecode under each contact frame: the first and the last frame of the clip
    a, b = by_name["A001_C001"]["captions"], by_name["B002_C010"]["captions"]
    assert (a[0], a[-1], b[0], b[-1]) == ("10:00:00:12", "10:00:00:23", "01:00:00:00", "01:00:00:07")
    failed = by_name["short-me"]
    assert failed["status"] == "FAILED" and failed["images"] == []
    assert failed["verification"].startswith("failed: ") and "frame_count expected 6, got 2" in failed["verification"]
    assert failed["failure"][0].startswith("verification_failed: ")
    assert "frame_count" in failed["failure"][0]
    # the encode itself succeeded: no stderr line is offered as the reason
    assert len(failed["failure"]) == 1, failed["failure"]
    # the source's duration, not the rejected file's; and no proxy path that does not exist
    failed_text = text[text.index('data-clip="short-me"') :]
    assert "00:00:00:06 (6 frames)" in failed_text and "not published; the unverified file is kept at" in failed_text
    errors = [e for e in browser.get_log("browser") if e["level"] in ("SEVERE", "WARNING")]
    assert errors == []
    shot = tmp_path / "report-browser.png"
    assert browser.save_screenshot(str(shot))
    keep_artifact(shot)


def test_engine_failure_shows_its_category_and_decisive_stderr_line(proxx, write_job, media, outdir, fake_ffmpeg):
    srcs = [media("good.mov", size="64x36"), media("fail-me.mov", size="64x36")]
    r = proxx("run", write_job(spec(srcs, outdir)), env_extra=fake_ffmpeg)
    assert r.returncode == 3, r.stderr
    html_path, _ = report_files(r.json(), outdir)
    text = html_path.read_text(encoding="utf-8")
    failed = text[text.index('data-clip="fail-me"') :]
    assert '<span class="category">engine_failed</span>' in failed
    assert '<td class="mono stderr">[fake] Error: simulated encoder crash</td>' in failed


def test_a_night_where_every_clip_failed_still_gets_its_report(proxx, write_job, media, outdir, fake_ffmpeg):
    """The report describes failures too: the core runs it even when no clip was delivered (it skipped
    every sink then), while the sinks that describe proxies still write nothing."""
    srcs = [media("fail-me.mov", size="64x36"), media("fail-me-too.mov", size="64x36")]
    doc = spec(srcs, outdir)
    doc["deliverables"] = ["otio", "report"]
    r = proxx("run", write_job(doc), env_extra=fake_ffmpeg)
    assert r.returncode == 2, r.stderr
    html_path, _ = report_files(r.json(), outdir)
    assert [d["name"] for d in r.json()["deliverables"]] == ["report", "report"]
    text = html_path.read_text(encoding="utf-8")
    assert text.count('<span class="category">engine_failed</span>') == 2
    assert not (outdir / "day1.otio").exists()


def test_pdf_renders_a_page_and_carries_each_clip_name_and_status(partial_job, outdir, tmp_path, keep_artifact):
    _, pdf = report_files(partial_job, outdir)
    subprocess.run(
        ["pdftoppm", "-r", "50", "-png", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
        check=True,
        capture_output=True,
    )
    (page,) = tmp_path.glob("page-*.png")
    image = Image.open(page).convert("L")
    ink = sum(image.histogram()[:200])
    assert ink > 0.02 * image.width * image.height, "the first page is blank"
    keep_artifact(page)
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], check=True, capture_output=True, text=True).stdout
    for name, status in (("A001_C001", "COMPLETED"), ("B002_C010", "COMPLETED"), ("short-me", "FAILED")):
        assert re.search(rf"{re.escape(name)}\s+{status}", text), (name, text[:3000])
    assert "verification_failed" in text and "Night Shift" in text


def test_rerun_gives_the_same_html_apart_from_time_fields_and_the_same_pdf_for_the_same_page(
    proxx, write_job, media, outdir
):
    from proxx_report.render import report_pdf

    srcs = [media(name, size="64x36", **kw) for name, kw in CLIPS.items()]
    job = write_job(spec(srcs, outdir, overwrite=True))
    pages = []
    for _ in range(2):
        r = proxx("run", job)
        assert r.returncode == 0, r.stderr
        html_path, _ = report_files(r.json(), outdir)
        pages.append(html_path.read_text(encoding="utf-8"))
    assert len(TIME_SPAN.findall(pages[0])) == 4
    masked = [TIME_SPAN.sub("<span>TIME</span>", p) for p in pages]
    assert masked[0] == masked[1]
    pdfs = [report_pdf(masked[0]), report_pdf(masked[1])]
    assert pdfs[0] == pdfs[1]
    assert b"/CreationDate" not in pdfs[0] and b"/ModDate" not in pdfs[0]


def test_contact_frames_are_the_frames_they_are_captioned_with(media, tmp_path):
    """Seeking finds the exact frame, in a long-GOP H.264 proxy too: each thumbnail equals an
    independent decode (the pinned ffmpeg's select filter) of its frame, and differs from its
    neighbours'."""
    import base64
    import io

    from proxx_engine_ffmpeg.binary import inspect_binary
    from proxx_report.thumbnails import CONTACT_WIDTH, contact_indices, thumbnails

    src = media("gop.mp4", size="320x180", rate="25/1", frames=40, video="h264", audio=())
    sheet = thumbnails(str(src), 40, Fraction(25)).sheet
    assert [t.frame for t in sheet] == contact_indices(40) == [0, 8, 16, 23, 31, 39]
    ffmpeg = inspect_binary().path

    def reference(index: int) -> Image.Image:
        raw = subprocess.run(
            [
                ffmpeg,
                "-v",
                "error",
                "-i",
                str(src),
                "-vf",
                f"select=eq(n\\,{index}),scale={CONTACT_WIDTH}:90:flags=area",
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
        return Image.frombytes("RGB", (CONTACT_WIDTH, 90), raw)

    def distance(a: Image.Image, b: Image.Image) -> float:
        return ImageStat.Stat(ImageChops.difference(a.convert("L"), b.convert("L"))).mean[0]

    for t in sheet:
        thumb = Image.open(io.BytesIO(base64.b64decode(t.uri.split(",", 1)[1])))
        assert (thumb.width, thumb.height) == (CONTACT_WIDTH, 90)
        here = distance(thumb, reference(t.frame))
        neighbour = distance(thumb, reference(t.frame + 1 if t.frame < 39 else t.frame - 1))
        assert here < neighbour and here < 6, (t.frame, here, neighbour)


def test_report_without_proxx_report_is_refused_naming_the_distribution(proxx, write_job, media, outdir):
    r = proxx(
        "validate", write_job(spec([media("a.mov", size="64x36")], outdir)), env_extra={"PROXX_LOAD_PLUGINS": "ffmpeg"}
    )
    assert r.returncode == 1
    assert "/deliverables/0" in r.stderr and "pip install ./proxx_report" in r.stderr, r.stderr


def test_avid_mxf_clip_pictures_come_from_its_op_atom_video_file(proxx, write_job, media, outdir):
    """layout avid_mxf: the proxy is a set of OP-Atom files; the pictures are decoded from the video one."""
    src = media("A001C007.mov", size="320x180", frames=6, audio=(2,), reel="A001", timecode="10:00:00:00")
    r = proxx("run", write_job(spec([src], outdir, layout="avid_mxf", profile="offline_dnxhr_lb_1920x1080")))
    assert r.returncode == 0, r.stderr
    html_path, _ = report_files(r.json(), outdir)
    text = html_path.read_text(encoding="utf-8")
    assert text.count('class="contact-frame"') == 6 and 'class="poster-frame"' in text
    assert "no verified proxy" not in text and "could not decode" not in text
