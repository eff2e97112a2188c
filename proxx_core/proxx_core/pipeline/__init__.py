"""The steps of a job, in order: document, cards, preflight, probe, routing, planning, runner,
results, finish, serialization; ``check`` joins the validation steps (docs/architecture.md).
"""
