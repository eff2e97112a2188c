"""Step 4, probe (``proxx_core.pipeline.probe``): every engine probes every source; a source no engine can
read is refused naming the file."""

from __future__ import annotations

import os

import pytest
from test_document import _expect

from proxx_core import load_engines
from proxx_core.contract.errors import ProxxError
from proxx_core.pipeline.probe import ProbeVeto, probe_all
from proxx_core.support.plugins import EngineSet, LoadedEngine
from proxx_engine_ffmpeg.testmedia import make_source


@pytest.fixture(scope="module")
def engines():
    return load_engines()


def test_corrupt_source_is_refused(proxx, write_job, valid, tmp_path):
    doc, _ = valid
    bad = tmp_path / "corrupt.mov"
    bad.write_bytes(b"\x00\x00\x00\x14ftypqt  " + os.urandom(2000))
    doc["sources"] = [str(bad)]
    _expect(proxx, write_job, doc, "/sources/0", "corrupt.mov")


class _Vetoes:
    """A format specialist that recognises every source as its own and finds it malformed."""

    def probe(self, path):
        raise ProxxError(f"{path.name}: its sidecar is malformed", category="validation")


class _Raises:
    """An engine with a bug in its probe."""

    def probe(self, path):
        raise RuntimeError("probe bug")


def _with(engines, **extra):
    loaded = {**engines.loaded, **{n: LoadedEngine(engine=e, plugin=n, distribution=None) for n, e in extra.items()}}
    return EngineSet(loaded=loaded)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    return str(make_source(tmp_path_factory.mktemp("probe") / "A001.mov", size="64x36", frames=2, audio=()))


def test_an_engine_that_finds_a_source_its_own_and_invalid_vetoes_every_other_engine(engines, source):
    with pytest.raises(ProbeVeto, match=r"aaa: A001\.mov: its sidecar is malformed"):
        probe_all(source, _with(engines, aaa=_Vetoes()))


def test_an_engine_whose_probe_raises_is_recorded_and_the_others_still_answer(engines, source):
    infos, errors = probe_all(source, _with(engines, zzz=_Raises()))
    assert "ffmpeg" in infos and infos["ffmpeg"].video is not None
    assert errors["zzz"].reason == "probe raised RuntimeError: probe bug"
