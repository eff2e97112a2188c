"""``"report"``: the job report deliverable, ``<job_id>.report.html`` and ``<job_id>.report.pdf``,
returned as (file name, bytes) for the core to write (write gate, atomic) and list in the result like
every sidecar."""

from __future__ import annotations

from collections.abc import Sequence

from proxx_core import hookimpl
from proxx_core.kit import DeliverableSink, DeliveryJob


def render(job: DeliveryJob) -> tuple[str, bytes]:
    """The report's HTML text and PDF bytes for ``job`` (nothing written): the pictures and the PDF
    in parts on worker processes (:mod:`proxx_report.parts`), then the page from the same pictures."""
    from .facts import clip_facts, job_facts
    from .parts import render_all
    from .render import report_html

    facts = [clip_facts(clip) for clip in job.result.get("clips") or []]
    written = [(d.name, d.path) for d in job.written if d.path]
    summary = job_facts(job.result, written)
    pictures, pdf = render_all(summary, facts)
    return report_html(summary, list(zip(facts, pictures, strict=True))), pdf


class ReportSink(DeliverableSink):
    name = "report"
    describes_failures = True  # a night where every clip failed gets its report too

    def write(self, job: DeliveryJob) -> Sequence[tuple[str, bytes]]:
        html, pdf = render(job)
        return [(f"{job.job_id}.report.html", html.encode("utf-8")), (f"{job.job_id}.report.pdf", pdf)]


@hookimpl
def proxx_register_deliverables(register):
    register(ReportSink())
