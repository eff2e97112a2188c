"""The Proxx engine conformance kit: the checks Proxx runs on its own engines, for yours.

Opt-in and plain pytest (no ``pytest11`` entry point): import it in one of your test modules and
subclass :class:`EngineConformance`. See docs/engine-authors.md, "Testing your engine"::

    from proxx_core.testing import EngineConformance, Sample

    class TestMyEngine(EngineConformance):
        ...  # override the `engine` and `sample_sources` fixtures

Needs pytest (``pip install pytest``); proxx-core itself does not depend on it.
"""

import pytest

# the kit lives in an installed package: ask pytest to rewrite its asserts for readable failures
pytest.register_assert_rewrite("proxx_core.testing.conformance")

from .conformance import (  # noqa: E402
    EngineConformance,
    EngineContractTests,
    EngineFixtures,
    ExecutionTests,
    FailureTests,
    PlanTests,
    ProbeTests,
)
from .support import (  # noqa: E402
    DamagingEngine,
    Sample,
    engine_set,
    job_document,
    snapshot,
    swap_output,
    truncate_output,
)

__all__ = [
    "DamagingEngine",
    "EngineConformance",
    "EngineContractTests",
    "EngineFixtures",
    "ExecutionTests",
    "FailureTests",
    "PlanTests",
    "ProbeTests",
    "Sample",
    "engine_set",
    "job_document",
    "snapshot",
    "swap_output",
    "truncate_output",
]
