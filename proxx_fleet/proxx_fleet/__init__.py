"""Proxx fleets on Celery + Redis: ``proxx worker``, ``submit``, ``status``, ``wait``, ``cancel``,
``workers``. Guide: docs/fleet.md. Importing this package imports neither Celery nor Redis."""

#: bumped only on an incompatible change of task payloads or Redis keys
PROTOCOL = "v1"
