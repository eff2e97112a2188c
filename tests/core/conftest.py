"""Fixtures shared by the test files of tests/core (a valid one-source spec used by several steps' tests)."""

from __future__ import annotations

import pytest

from proxxtest import job_doc


@pytest.fixture
def valid(media, outdir):
    src = media("A001.mov")
    return job_doc([src], outdir), src
