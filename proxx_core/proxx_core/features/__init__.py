"""The JobSpec 1.1 features, each one module: layouts, look, burn-in, existing outputs,
deliverables, OP-Atom checks, per-NLE relink verdicts (docs/architecture.md).
"""
