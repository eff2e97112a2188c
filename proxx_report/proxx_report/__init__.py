"""Proxx job report (deliverable ``report``): ``<job_id>.report.html``, one self-contained page
(thumbnails inline as data: URIs, no script, no external fetch) and ``<job_id>.report.pdf``, the same
page printed by WeasyPrint, for sending to production. Read from the result's JSON data only."""
