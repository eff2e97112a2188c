"""The example engine held to the conformance kit: this collects the example package's own test
module (examples/proxx-engine-imageseq/tests/test_conformance.py), so what the guide shows is what runs."""

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("proxx_engine_imageseq", reason="install ./examples/proxx-engine-imageseq")

_FILE = Path(__file__).resolve().parents[2] / "examples" / "proxx-engine-imageseq" / "tests" / "test_conformance.py"
_spec = importlib.util.spec_from_file_location("proxx_example_imageseq_conformance", _FILE)
_module = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_module)

TestImageSequenceEngine = _module.TestImageSequenceEngine
