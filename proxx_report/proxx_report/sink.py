"""``"report"``: the job report deliverable, ``<job_id>.report.html`` and ``<job_id>.report.pdf``,
written through the core's ``write_sidecar`` and listed in the result like every sidecar."""

from __future__ import annotations

from collections.abc import Sequence

from proxx_core import hookimpl
from proxx_core.deliverables import Deliverable, DeliverableSink, DeliveryJob, write_sidecar


def render(job: DeliveryJob) -> tuple[str, bytes]:
    """The report's HTML text and PDF bytes for ``job`` (nothing written)."""
    from .facts import clip_facts, job_facts
    from .render import report_html, report_pdf
    from .thumbnails import thumbnails

    clips = []
    for clip in job.result.get("clips") or []:
        facts = clip_facts(clip)
        rate = facts.frame_rate.fraction if facts.frame_rate else None
        clips.append((facts, thumbnails(facts.proxy_video, facts.frames, rate)))
    written = [(d.name, d.path) for d in job.written if d.path]
    html = report_html(job_facts(job.result, written), clips)
    return html, report_pdf(html)


class ReportSink(DeliverableSink):
    name = "report"

    def write(self, job: DeliveryJob) -> Sequence[Deliverable]:
        html, pdf = render(job)
        return [write_sidecar(job, self.name, f"{job.job_id}.report.html", html.encode("utf-8")),
                write_sidecar(job, self.name, f"{job.job_id}.report.pdf", pdf)]


@hookimpl
def proxx_register_deliverables(register):
    register(ReportSink())
