"""The report's pictures and PDF made in parts, on worker processes, then joined.

WeasyPrint lays a document out on one thread, and a 200-clip report is some 100 pages of text: its
layout, not its pictures, is what costs (docs/performance.md, "Job report"). So the clips are cut
into parts of :data:`PART_CLIPS`; each worker process decodes its part's thumbnails and prints that
part to PDF, and pypdf joins the parts in clip order and stamps ``page / pages`` on every page (a
part cannot know its page numbers before the parts before it are laid out). The calling process
takes parts too, beside PROCESSES - 1 worker processes (:mod:`proxx_report.partworker`). Each part is a pure
function of its clips, so the joined PDF is the same bytes for the same clips. A job of one part,
and a part whose worker process failed, are made in-process.
"""

from __future__ import annotations

import io
import os
import pickle
import subprocess
import sys
import threading
from collections.abc import Sequence

from .facts import ClipFacts, JobFacts
from .render import report_html, report_pdf
from .thumbnails import Thumbnails, thumbnails

#: clips per part: about 12 pages, enough to amortise a part's fixed cost, small enough to balance
PART_CLIPS = 24
#: the smallest part when the clips are shared between processes (a part costs ~30 ms of its own)
MIN_PART_CLIPS = 4
#: worker processes (the node may still be encoding; a report never takes more)
PROCESSES = 2
#: the page numbers stamped on the joined PDF: the report's own @page margins and footer style
NUMBERS_CSS = (
    '@page { size: A4; margin: 14mm 12mm; @bottom-right { content: counter(page) " / " counter(pages); '
    "font-size: 8pt; font-family: sans-serif; } } body { margin: 0; } div { break-before: page; }"
)


def clip_thumbnails(facts: ClipFacts) -> Thumbnails:
    rate = facts.frame_rate.fraction if facts.frame_rate else None
    return thumbnails(facts.proxy_video, facts.frames, rate, caption=facts.timecode_at)


def render_part(
    job: JobFacts, clips: Sequence[ClipFacts], first: bool, last: bool, page_numbers: bool
) -> tuple[list[Thumbnails], bytes]:
    """One part: its clips' thumbnails, and its pages printed to PDF."""
    pictures = [clip_thumbnails(f) for f in clips]
    html = report_html(
        job,
        list(zip(clips, pictures, strict=True)),
        printed=True,
        first_part=first,
        last_part=last,
        page_numbers=page_numbers,
    )
    return pictures, report_pdf(html)


def render_all(
    job: JobFacts, clips: Sequence[ClipFacts], *, part_clips: int = PART_CLIPS, processes: int = PROCESSES
) -> tuple[list[Thumbnails], bytes]:
    """Every clip's thumbnails (in clip order) and the whole PDF."""
    workers = max(1, min(processes, os.cpu_count() or 1))
    cuts = _cut(list(clips), part_clips, workers)
    workers = min(workers, len(cuts))
    if len(cuts) == 1 or workers < 2:
        return _joined(
            [render_part(job, cut, i == 0, i == len(cuts) - 1, len(cuts) == 1) for i, cut in enumerate(cuts)]
        )
    done: list[tuple[list[Thumbnails], bytes] | None] = [None] * len(cuts)
    taken = iter(range(len(cuts)))
    lock = threading.Lock()

    def take() -> int | None:
        with lock:
            return next(taken, None)

    def args(i: int) -> tuple[JobFacts, list[ClipFacts], bool, bool, bool]:
        return job, cuts[i], i == 0, i == len(cuts) - 1, False

    def remote() -> None:
        """Hand parts to one worker process until none are left; a worker that fails leaves its
        part to be made here afterwards."""
        try:
            proc = subprocess.Popen(
                [sys.executable, "-m", "proxx_report.partworker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
            )
        except OSError:
            return
        assert proc.stdin is not None and proc.stdout is not None
        try:
            while (i := take()) is not None:
                pickle.dump(args(i), proc.stdin, protocol=pickle.HIGHEST_PROTOCOL)
                proc.stdin.flush()
                done[i] = pickle.load(proc.stdout)
        except (OSError, EOFError, pickle.UnpicklingError):
            pass
        finally:
            try:
                proc.stdin.close()
            except OSError:  # the worker is gone: nothing left to flush to
                pass
            try:
                proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()

    lanes = [threading.Thread(target=remote, name="proxx-report-part") for _ in range(workers - 1)]
    for thread in lanes:
        thread.start()
    while (i := take()) is not None:  # this process takes parts too
        done[i] = render_part(*args(i))
    for thread in lanes:
        thread.join()
    return _joined([part if part is not None else render_part(*args(i)) for i, part in enumerate(done)])


def _cut(clips: list[ClipFacts], part_clips: int, workers: int) -> list[list[ClipFacts]]:
    """Consecutive parts of at most ``part_clips`` clips. On one process, as many as needed and of
    equal size (give or take one). On several, largest first: each about 1/(2 x workers) of the
    clips not yet cut, at least :data:`MIN_PART_CLIPS`, so the last parts are small and the lanes
    end together (a worker process starts later: it imports WeasyPrint and PyAV first); with equal
    parts one lane sat idle for up to a part's time (~1.7 s for 20 clips) at the end."""
    if len(clips) <= part_clips:
        return [clips]
    if workers < 2:
        count = -(-len(clips) // part_clips)
        size, extra = divmod(len(clips), count)
        bounds = [0]
        for i in range(count):
            bounds.append(bounds[-1] + size + (1 if i < extra else 0))
        return [clips[a:b] for a, b in zip(bounds, bounds[1:], strict=False) if b > a]
    parts, at = [], 0
    while at < len(clips):
        left = len(clips) - at
        size = min(part_clips, left, max(MIN_PART_CLIPS, -(-left // (2 * workers))))
        if left - size < MIN_PART_CLIPS and left <= part_clips:  # no part smaller than the smallest
            size = left
        parts.append(clips[at : at + size])
        at += size
    return parts


def _joined(parts: list[tuple[list[Thumbnails], bytes]]) -> tuple[list[Thumbnails], bytes]:
    pictures = [p for part, _ in parts for p in part]
    if len(parts) == 1:
        return pictures, parts[0][1]
    return pictures, join_pdfs([pdf for _, pdf in parts])


def join_pdfs(parts: Sequence[bytes]) -> bytes:
    """The parts' pages in order, each stamped with its number of the whole ("3 / 101")."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for part in parts:
        writer.append(PdfReader(io.BytesIO(part)))
    count = len(writer.pages)
    numbers = PdfReader(
        io.BytesIO(
            report_pdf(
                f"<!DOCTYPE html><html><head><style>{NUMBERS_CSS}</style></head><body>"
                + "<div></div>" * count
                + "</body></html>"
            )
        )
    )
    for page, number in zip(writer.pages, numbers.pages, strict=True):
        _stamp(writer, page, number)
    writer.add_metadata({"/Producer": "Proxx report (WeasyPrint, pypdf)"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


#: the resource name of a page's stamped number (a Form XObject of its own resources)
STAMP = "/ProxxPageNumber"


def _stamp(writer, page, number) -> None:
    """Draw the ``number`` page over ``page``, as pypdf's ``merge_page`` does, without parsing the
    page's content: the number page becomes a Form XObject with its own resources (so no resource
    name of the page needs renaming, which made merge_page parse every page's whole content: most of
    the join's time), drawn by a content stream appended after the page's, whose graphics state is
    saved before and restored after."""
    from pypdf.generic import ArrayObject, DecodedStreamObject, DictionaryObject, NameObject

    def stream(data: bytes, **entries) -> object:
        obj = DecodedStreamObject()
        obj.set_data(data)
        obj.update({NameObject(k): v for k, v in entries.items()})
        return writer._add_object(obj)

    form = stream(
        number.get_contents().get_data(),
        **{
            "/Type": NameObject("/XObject"),
            "/Subtype": NameObject("/Form"),
            "/BBox": ArrayObject(number.mediabox),
            "/Resources": number["/Resources"].get_object().clone(writer),
        },
    )
    # the page's own resources, copied: WeasyPrint may share one dictionary between the pages of a part
    own = page.get("/Resources")
    resources = DictionaryObject(own.get_object() if own is not None else {})
    forms = DictionaryObject(resources.get("/XObject", DictionaryObject()).get_object())
    forms[NameObject(STAMP)] = form
    resources[NameObject("/XObject")] = forms
    page[NameObject("/Resources")] = resources
    contents = page.get("/Contents")
    contents = contents.get_object() if contents is not None else ArrayObject()
    existing = list(contents) if isinstance(contents, ArrayObject) else [page.raw_get("/Contents")]
    draw = b"\nQ q " + STAMP.encode() + b" Do Q\n"
    page[NameObject("/Contents")] = ArrayObject([stream(b"q\n"), *existing, stream(draw)])
