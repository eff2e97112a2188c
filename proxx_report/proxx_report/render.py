"""The report's two forms: the HTML page (Jinja2, autoescaped, CSS inline, pictures as data: URIs)
and its PDF (WeasyPrint printing that same page, allowed to read data: URIs only, so it fetches
nothing; WeasyPrint writes no creation or modification date unless the page asks for one, so the
same page gives the same PDF bytes)."""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from importlib import resources

import jinja2

from .facts import ClipFacts, JobFacts
from .thumbnails import Thumbnails

TEMPLATE = "report.html.j2"


@cache
def _environment() -> jinja2.Environment:
    folder = resources.files("proxx_report") / "templates"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(folder)),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )


def _css() -> str:
    return (resources.files("proxx_report") / "templates" / "report.css").read_text(encoding="utf-8")


#: printed width of one pixel of the contact strip (a 160-pixel frame prints 27 mm wide)
STRIP_MM_PER_PIXEL = 27 / 160


def report_html(
    job: JobFacts,
    clips: Sequence[tuple[ClipFacts, Thumbnails]],
    *,
    printed: bool = False,
    first_part: bool = True,
    last_part: bool = True,
    page_numbers: bool = True,
) -> str:
    """The page; ``printed``: the layout the PDF prints (each contact sheet one picture); a part
    of the PDF (see :mod:`proxx_report.parts`) has the job's header only in its first part and no
    page numbers (the joined PDF's are stamped on)."""
    return (
        _environment()
        .get_template(TEMPLATE)
        .render(
            job=job,
            clips=clips,
            css=_css(),
            printed=printed,
            first_part=first_part,
            last_part=last_part,
            page_numbers=page_numbers,
            strip_mm=STRIP_MM_PER_PIXEL,
        )
    )


@cache
def _fonts():
    """One font configuration per process (Pango's font map, loaded once, not per part of a report:
    ~6 % of a part's PDF); the same fonts are found either way, so the bytes are the same."""
    from weasyprint.text.fonts import FontConfiguration

    return FontConfiguration()


def report_pdf(html: str) -> bytes:
    """The page printed to PDF."""
    import weasyprint  # imported on use: `proxx` loads this plugin for every command
    from weasyprint.urls import URLFetcher

    fetcher = URLFetcher(allowed_protocols={"data"})
    pdf = weasyprint.HTML(string=html, url_fetcher=fetcher, media_type="print").write_pdf(font_config=_fonts())
    assert pdf is not None
    return bytes(pdf)
