"""Proxx notifications: a ``proxx_job_finished`` plugin that tells people, through Apprise, that a job
ended, with what a person needs to act on it (docs/notifications.md)."""

__version__ = "1.0.0"
