"""``"report"``: the job report deliverable, ``<job_id>.report.html`` and ``<job_id>.report.pdf``,
written through the core's ``write_sidecar`` and listed in the result like every sidecar."""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor

from proxx_core import hookimpl
from proxx_core.kit import Deliverable, DeliverableSink, DeliveryJob, write_sidecar

THUMBNAIL_THREADS = 2


def render(job: DeliveryJob) -> tuple[str, bytes]:
    """The report's HTML text and PDF bytes for ``job`` (nothing written)."""
    from .facts import clip_facts, job_facts
    from .render import report_html, report_pdf
    from .thumbnails import thumbnails

    facts = [clip_facts(clip) for clip in job.result.get("clips") or []]

    def pictures(f):
        return thumbnails(f.proxy_video, f.frames, f.frame_rate.fraction if f.frame_rate else None)

    # PyAV decodes without the GIL: two clips at once (the node may still be busy; results keep clip order)
    with ThreadPoolExecutor(max_workers=min(THUMBNAIL_THREADS, os.cpu_count() or 1)) as pool:
        clips = list(zip(facts, pool.map(pictures, facts), strict=True))
    written = [(d.name, d.path) for d in job.written if d.path]
    html = report_html(job_facts(job.result, written), clips)
    return html, report_pdf(html)


class ReportSink(DeliverableSink):
    name = "report"
    describes_failures = True  # a night where every clip failed gets its report too

    def write(self, job: DeliveryJob) -> Sequence[Deliverable]:
        html, pdf = render(job)
        return [write_sidecar(job, self.name, f"{job.job_id}.report.html", html.encode("utf-8")),
                write_sidecar(job, self.name, f"{job.job_id}.report.pdf", pdf)]


@hookimpl
def proxx_register_deliverables(register):
    register(ReportSink())
