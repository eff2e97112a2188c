"""Helpers of every step: strict JSON, the schema fast path, processes, plugin loading, hints,
thread budgets, builds. Imports only ``contract`` and ``io`` (docs/architecture.md).
"""
