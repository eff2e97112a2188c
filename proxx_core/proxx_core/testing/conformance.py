"""The engine conformance kit: pytest classes an engine author subclasses to hold an engine to the
Proxx engine contract (docs/engine-authors.md, "Testing your engine").

Subclass :class:`EngineConformance` once, in a module whose name starts with ``test_``, and
override the fixtures of :class:`EngineFixtures`::

    import pytest
    from proxx_core.testing import EngineConformance, Sample

    class TestMyEngine(EngineConformance):
        @pytest.fixture
        def engine(self):
            return MyEngine()

        @pytest.fixture
        def sample_sources(self, tmp_path):
            return [Sample(path=make_my_media(tmp_path / "a.xyz"), profile="offline_prores_proxy_1920x1080",
                           frame_count=5)]

The smaller classes (:class:`EngineContractTests`, :class:`ProbeTests`, :class:`PlanTests`,
:class:`ExecutionTests`, :class:`FailureTests`) can be subclassed alone. To change one check,
override that test method in your subclass (with a comment saying why).
"""

from __future__ import annotations

import importlib
import importlib.metadata
import json
import math
import os
import subprocess
import sys
import threading
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import attrs
import pytest

from ..contract.avprobe import probe_file
from ..contract.engine import (
    ENGINE_CONTRACT_VERSION,
    Capabilities,
    Claim,
    ClipPlan,
    Command,
    Engine,
    EngineIdentity,
    Refusal,
    Verification,
)
from ..contract.errors import ClipFailure, ProxxError
from ..contract.media import SourceInfo
from ..contract.profiles import PROFILES
from ..contract.results import COMPLETED, FAILED
from ..contract.vocabulary import Category
from ..features.chunking import CHUNK_SECONDS_ENV, INTRA_CODECS
from ..pipeline.check import check_document
from ..pipeline.planning import PreparedJob
from ..pipeline.runner import run_clip, run_job
from ..pipeline.serialization import dumps
from ..rules.verify import verify_output
from ..support.plugins import ENTRY_POINT_GROUP, EngineSet, load_engines
from .support import (
    Damage,
    DamagingEngine,
    Sample,
    engine_set,
    job_document,
    sha256,
    shell_like,
    snapshot,
    swap_output,
    truncate_output,
)

_NAME_CHARS = set("abcdefghijklmnopqrstuvwxyz0123456789_-")


def _major(version: str) -> str:
    return str(version).split(".", 1)[0]


class EngineFixtures:
    """The fixtures the kit needs. ``engine`` and ``sample_sources`` must be overridden; the
    others have defaults an engine may override."""

    #: set False on CI runners without the engine's binary/API: tests that need the engine to be
    #: available are then skipped (with its ``unavailable_reason``) instead of failing
    require_available: bool = True
    #: modules that must not be imported by merely importing the plugin module (lazy imports)
    heavy_modules: tuple[str, ...] = ("av", "numpy")

    @pytest.fixture
    def engine(self) -> Engine:
        """A fresh instance of the engine under test. Must be overridden."""
        raise NotImplementedError("override the `engine` fixture: return an instance of your Engine subclass")

    @pytest.fixture
    def sample_sources(self, tmp_path: Path) -> list[Sample]:
        """A few real media files your engine reads, made fresh under ``tmp_path`` (some tests
        damage them), each with the profile to make and what its probe must say. Must be overridden."""
        raise NotImplementedError("override the `sample_sources` fixture: return a list of proxx_core.testing.Sample")

    @pytest.fixture
    def unreadable_source(self, tmp_path: Path) -> Path:
        """A file the engine must not accept as media: its probe returns None or raises ProxxError
        with category ``unsupported_source``. Default: a text file named like a movie."""
        path = tmp_path / "not-media" / "notes_0001.mov"
        path.parent.mkdir()
        path.write_text("this is not media\n" * 20, encoding="utf-8")
        return path

    @pytest.fixture
    def plugin(self) -> Any:
        """The module (or object) whose ``proxx_register_engines`` hook registers the engine, or None to
        skip the registration checks. Usually ``importlib.import_module("proxx_engine_x.plugin")``."""
        return None

    @pytest.fixture
    def entry_point(self) -> str | None:
        """The entry-point name your distribution declares in ``[project.entry-points.proxx]``
        (checked only when the distribution is installed), or None to skip."""
        return None

    def break_source(self, sample: Sample) -> None:
        """Damage ``sample`` on disk *after* it was probed and planned, so that executing the plan
        fails (the engine's tool exits non-zero). Default: truncate the file to half its size,
        which loses a QuickTime/MP4 index. Override for formats where that is not fatal."""
        size = sample.path.stat().st_size
        os.truncate(sample.path, size // 2)

    # -- helpers the tests share (not fixtures) ---------------------------------------------------

    @pytest.fixture
    def available_engine(self, engine: Engine) -> Engine:
        caps = engine.capabilities()
        if not caps.available:
            if self.require_available:
                pytest.fail(
                    f"engine {engine.name!r} is not available here: {caps.unavailable_reason} "
                    f"(set require_available = False to skip instead)"
                )
            pytest.skip(f"engine {engine.name!r} is not available here: {caps.unavailable_reason}")
        return engine

    @pytest.fixture
    def engines(self, available_engine: Engine) -> EngineSet:
        return engine_set(available_engine)

    @pytest.fixture
    def output_dir(self, tmp_path: Path) -> Path:
        d = tmp_path / "proxies"
        d.mkdir()
        return d

    @pytest.fixture
    def samples(self, sample_sources: list[Sample]) -> list[Sample]:
        samples = list(sample_sources)
        assert samples, "sample_sources returned no samples"
        for s in samples:
            assert isinstance(s, Sample), f"sample_sources must return proxx_core.testing.Sample, got {s!r}"
            assert s.path.is_absolute() and s.path.is_file(), f"sample {s.path} is not an existing absolute file"
        return samples

    @staticmethod
    def prepare(samples: Sequence[Sample], output_dir: Path, engines: EngineSet, **extra: Any) -> PreparedJob:
        """Validate, probe, route and plan a one-profile job through the core, pinned to the engine."""
        profiles = {s.profile for s in samples}
        assert len(profiles) == 1, "prepare() takes samples of one profile"
        (engine_name,) = engines.names
        doc = job_document([s.path for s in samples], output_dir, profiles.pop(), engine=engine_name, **extra)
        checked = check_document(doc, engines)
        assert checked.job is not None, "the core refused the job: " + "; ".join(str(p) for p in checked.problems)
        return checked.job

    @staticmethod
    def by_profile(samples: Iterable[Sample]) -> dict[str, list[Sample]]:
        groups: dict[str, list[Sample]] = {}
        for s in samples:
            groups.setdefault(s.profile, []).append(s)
        return dict(sorted(groups.items()))


class EngineContractTests(EngineFixtures):
    """Identity, fingerprint, capabilities and registration."""

    def test_is_an_engine_with_a_valid_name(self, engine: Engine) -> None:
        assert isinstance(engine, Engine), f"{type(engine).__name__} must subclass proxx_core.contract.engine.Engine"
        assert engine.name and set(engine.name) <= _NAME_CHARS, (
            f"engine name {engine.name!r} must be non-empty lowercase letters, digits, '_' or '-'"
        )

    def test_contract_major_version_matches(self, engine: Engine) -> None:
        assert _major(engine.contract_version) == _major(ENGINE_CONTRACT_VERSION), (
            f"engine says contract {engine.contract_version}, this proxx-core speaks {ENGINE_CONTRACT_VERSION}"
        )

    def test_identity_names_engine_and_version(self, engine: Engine) -> None:
        ident = engine.identity()
        assert isinstance(ident, EngineIdentity)
        assert ident.name == engine.name, f"identity().name {ident.name!r} != engine.name {engine.name!r}"
        assert ident.version and ident.version.strip(), "identity().version must be non-empty"
        assert _major(ident.contract_version) == _major(ENGINE_CONTRACT_VERSION)
        assert engine.identity() == ident, "identity() must be stable between calls"

    def test_identity_binary_fingerprint_matches_file(self, available_engine: Engine) -> None:
        ident = available_engine.identity()
        if ident.binary is None:
            assert ident.binary_sha256 is None, "binary_sha256 without binary"
            pytest.skip("the engine declares no binary")
        assert os.path.isabs(ident.binary), f"identity().binary {ident.binary!r} must be an absolute path"
        assert os.path.isfile(ident.binary), f"identity().binary {ident.binary} does not exist"
        assert ident.binary_sha256 == sha256(ident.binary), (
            f"identity().binary_sha256 does not match the SHA-256 of {ident.binary}"
        )

    def test_capabilities_are_well_formed(self, engine: Engine) -> None:
        caps = engine.capabilities()
        assert isinstance(caps, Capabilities)
        assert caps == engine.capabilities(), "capabilities() must be stable between calls"
        if not caps.available:
            assert caps.unavailable_reason, "an unavailable engine must say why (unavailable_reason)"
            return
        unknown = set(caps.profiles) - set(PROFILES)
        assert not unknown, f"capabilities().profiles names profiles not in the catalogue: {sorted(unknown)}"
        assert list(caps.profiles) == sorted(set(caps.profiles)), "profiles must be sorted and unique"
        assert list(caps.reads) == sorted(set(caps.reads)), "reads must be sorted and unique"
        json.dumps(attrs.asdict(caps))  # serialisable: it is printed by `proxx engines --json`

    def test_capabilities_cover_the_sample_profiles(self, available_engine: Engine, samples: list[Sample]) -> None:
        missing = {s.profile for s in samples} - set(available_engine.capabilities().profiles)
        assert not missing, f"samples use profiles the engine does not declare: {sorted(missing)}"

    def test_plugin_registers_the_engine(self, engine: Engine, plugin: Any) -> None:
        if plugin is None:
            pytest.skip("no `plugin` fixture given")
        loaded = load_engines([plugin], entry_points=False, strict=False)
        assert not loaded.failures, f"the core refused the plugin: {[f.reason for f in loaded.failures]}"
        assert engine.name in loaded.names, f"the plugin registered {loaded.names}, not {engine.name!r}"
        assert type(loaded.get(engine.name)) is type(engine)

    def test_plugin_import_is_light(self, plugin: Any) -> None:
        if plugin is None or not hasattr(plugin, "__name__") or plugin.__name__ not in sys.modules:
            pytest.skip("no importable `plugin` module given")
        code = (
            f"import sys, importlib; importlib.import_module({plugin.__name__!r}); "
            f"print(','.join(sorted(m for m in {list(self.heavy_modules)!r} if m in sys.modules)))"
        )
        # the child imports the plugin as this process does (a plugin kept beside its tests, not installed)
        env = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
        out = subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL, env=env
        )
        assert out.returncode == 0, out.stderr
        assert out.stdout.strip() == "", (
            f"importing {plugin.__name__} imports {out.stdout.strip()}: defer heavy imports to the engine's methods"
        )

    def test_entry_point_is_declared(self, engine: Engine, plugin: Any, entry_point: str | None) -> None:
        if entry_point is None:
            pytest.skip("no `entry_point` fixture given")
        eps = [ep for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP) if ep.name == entry_point]
        if not eps:
            pytest.skip(f"entry point {entry_point!r} is not installed here (install the distribution)")
        assert len(eps) == 1, f"entry point {entry_point!r} is declared {len(eps)} times (stale installs?)"
        loaded = eps[0].load()
        if plugin is not None:
            assert loaded is plugin, f"entry point {entry_point!r} loads {loaded!r}, not the plugin {plugin!r}"


class ProbeTests(EngineFixtures):
    """Probing and claiming: well-formed, exact and deterministic SourceInfo; pure claims."""

    def test_probe_describes_each_sample(self, available_engine: Engine, samples: list[Sample]) -> None:
        for s in samples:
            info = available_engine.probe(s.path)
            assert isinstance(info, SourceInfo), f"probe({s.path}) returned {info!r}, not a SourceInfo"
            assert info.probed_by == available_engine.name, f"probed_by {info.probed_by!r}"
            assert info.container, "SourceInfo.container must be set"
            v = info.video
            assert v is not None, f"probe({s.path}) found no video"
            assert v.width > 0 and v.height > 0, f"raster {v.width}x{v.height}"
            assert v.frame_rate.num > 0 and v.frame_rate.den > 0
            assert v.frame_count is not None and v.frame_count > 0 or info.duration_seconds, (
                "SourceInfo needs video.frame_count or duration_seconds (verification compares them)"
            )
            for i, a in enumerate(info.audio):
                assert a.index == i and a.channels > 0 and a.sample_rate > 0, f"audio stream {a!r}"
            if s.frame_rate is not None:
                assert str(v.frame_rate) == s.frame_rate, (
                    f"{s.path}: frame rate {v.frame_rate}, expected {s.frame_rate}"
                )
            if s.frame_count is not None:
                assert v.frame_count == s.frame_count, f"{s.path}: {v.frame_count} frames, expected {s.frame_count}"
            if s.start_timecode is not None:
                assert info.start_timecode == s.start_timecode, (
                    f"{s.path}: start timecode {info.start_timecode}, expected {s.start_timecode}"
                )

    def test_probe_is_deterministic_and_touches_nothing(self, available_engine: Engine, samples: list[Sample]) -> None:
        for s in samples:
            before = snapshot(s.path.parent)
            first, second = available_engine.probe(s.path), available_engine.probe(s.path)
            assert first == second, f"probing {s.path} twice gave different SourceInfo"
            assert snapshot(s.path.parent) == before, f"probing {s.path} changed files in {s.path.parent}"

    def test_probe_rejects_a_file_that_is_not_media(self, engine: Engine, unreadable_source: Path) -> None:
        try:
            info = engine.probe(unreadable_source)
        except ProxxError as exc:
            assert exc.category == Category.UNSUPPORTED_SOURCE, f"probe raised category {exc.category!r}"
        else:
            assert info is None, f"probe accepted {unreadable_source} as media: {info!r}"

    def test_claims_are_pure_and_well_formed(self, available_engine: Engine, samples: list[Sample]) -> None:
        for s in samples:
            info, profile = available_engine.probe(s.path), PROFILES[s.profile]
            assert info is not None, f"probe({s.path}) returned None"
            claim = available_engine.claim(info, profile)
            assert isinstance(claim, Claim), f"the engine refuses its own sample {s.path}: {claim!r}"
            assert isinstance(claim.specificity, int) and claim.specificity > 0, f"specificity {claim.specificity!r}"
            assert claim.reason, "a claim says why (reason)"
            assert available_engine.claim(info, profile) == claim, "claim() must be a pure function"

    def test_claims_do_not_tie_with_ffmpeg(self, available_engine: Engine, samples: list[Sample]) -> None:
        """Where the FFmpeg engine also reads your samples, your claim must not equal its claim:
        a tie refuses every such job ("set /engine"). A specialist claims above FFmpeg's 10."""
        ffmpeg = _installed_ffmpeg_engine()
        if ffmpeg is None or available_engine.name == "ffmpeg":
            pytest.skip("the FFmpeg engine is not installed here (or this is it)")
        for s in samples:
            profile = PROFILES[s.profile]
            info = available_engine.probe(s.path)
            assert info is not None, f"the engine does not read its own sample {s.path}"
            mine = available_engine.claim(info, profile)
            try:
                theirs_info = ffmpeg.probe(s.path)
            except ProxxError:
                continue
            theirs = ffmpeg.claim(theirs_info, profile) if theirs_info is not None else None
            if isinstance(mine, Claim) and isinstance(theirs, Claim):
                assert mine.specificity != theirs.specificity, (
                    f"{s.path}: your claim ties with the FFmpeg engine's (specificity {mine.specificity}); every "
                    f"job with this source would be refused as a tie. Claim above {theirs.specificity} for your "
                    f"own formats (50 for a format specialist), or below it where FFmpeg should win"
                )

    def test_refuses_profiles_it_does_not_declare(self, available_engine: Engine, samples: list[Sample]) -> None:
        declared = set(available_engine.capabilities().profiles)
        others = sorted(set(PROFILES) - declared)
        if not others:
            pytest.skip("the engine declares every profile in the catalogue")
        info = available_engine.probe(samples[0].path)
        assert info is not None, f"probe({samples[0].path}) returned None"
        for name in others:
            outcome = available_engine.claim(info, PROFILES[name])
            assert isinstance(outcome, Refusal), f"claims undeclared profile {name}: {outcome!r}"
            assert outcome.reason and outcome.category in ("unsupported_source", "engine_unavailable")


class PlanTests(EngineFixtures):
    """Planning is pure and its commands are exact, safe argv."""

    def test_plan_is_pure(
        self, available_engine: Engine, engines: EngineSet, samples: list[Sample], output_dir: Path
    ) -> None:
        for _profile, group in self.by_profile(samples).items():
            sources_before = {s.path.parent: snapshot(s.path.parent) for s in group}
            job = self.prepare(group, output_dir, engines)
            assert snapshot(output_dir) == {}, f"planning wrote into output_dir: {sorted(snapshot(output_dir))}"
            for clip in job.clips:
                again = available_engine.plan(clip.plan.request)
                assert again == clip.plan, "plan() twice on the same request gave different plans"
                assert again.request == clip.plan.request and again.engine == available_engine.name
                json.dumps(again.settings)  # recorded in the result: must be JSON
            assert snapshot(output_dir) == {}, "plan() wrote into output_dir"
            for parent, before in sources_before.items():
                assert snapshot(parent) == before, f"planning changed files next to the sources in {parent}"

    def test_commands_are_exact_argv_with_deadlines(
        self, engines: EngineSet, samples: list[Sample], output_dir: Path
    ) -> None:
        for _profile, group in self.by_profile(samples).items():
            for clip in self.prepare(group, output_dir, engines).clips:
                assert isinstance(clip.plan.commands, tuple) and clip.plan.commands, "a plan has commands"
                for cmd in clip.plan.commands:
                    assert isinstance(cmd, Command)
                    assert isinstance(cmd.argv, tuple) and cmd.argv, "argv is a non-empty tuple"
                    assert all(isinstance(a, str) for a in cmd.argv), f"argv items must be str: {cmd.argv!r}"
                    exe = cmd.argv[0]
                    assert os.path.isabs(exe), f"argv[0] {exe!r} must be an absolute path (no PATH lookup)"
                    assert os.path.isfile(exe) and os.access(exe, os.X_OK), f"argv[0] {exe} is not executable"
                    assert shell_like(cmd.argv) is None, f"{cmd.argv!r} {shell_like(cmd.argv)}"
                    assert isinstance(cmd.timeout_seconds, (int, float)) and 0 < cmd.timeout_seconds, (
                        f"timeout_seconds {cmd.timeout_seconds!r} must be positive"
                    )
                    assert math.isfinite(cmd.timeout_seconds), "every command needs a finite deadline"
                    final = clip.plan.request.output_path
                    assert not any(final in a for a in cmd.argv), (
                        f"a command names the final output {final}: engines write only the temp path"
                    )


class ExecutionTests(EngineFixtures):
    """Execution through the core: temp name only, verified, atomically published, reproducible."""

    def test_job_completes_and_publishes_atomically(
        self, engines: EngineSet, samples: list[Sample], tmp_path: Path
    ) -> None:
        for profile, group in self.by_profile(samples).items():
            out = tmp_path / f"out-{profile}"
            out.mkdir()
            job = self.prepare(group, out, engines)
            result = run_job(job, engines)
            for clip in result.clips:
                assert clip.status == COMPLETED, f"clip {clip.index} failed: {clip.failure}"
                assert clip.output is not None and clip.output.verification is not None
                req = job.clips[clip.index - 1].plan.request
                assert clip.output.path == req.output_path and os.path.isfile(req.output_path)
                assert not os.path.lexists(req.temp_path), "the temp output must be gone after publishing"
                assert clip.output.sha256 == sha256(req.output_path)
                assert clip.output.verification.ok
                assert clip.commands, "the result records the commands that ran"
            expected = sorted(os.path.basename(c.plan.request.output_path) for c in job.clips)
            assert sorted(os.listdir(out)) == expected, f"output_dir holds more than the outputs: {os.listdir(out)}"
            json.loads(dumps(result))

    def test_execute_writes_only_the_temp_path(
        self, available_engine: Engine, engines: EngineSet, samples: list[Sample], output_dir: Path
    ) -> None:
        clip = self.prepare(samples[:1], output_dir, engines).clips[0]
        req = clip.plan.request
        os.close(os.open(req.temp_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))  # as the core does
        records = available_engine.execute(clip.plan, threading.Event())
        assert isinstance(records, tuple) and len(records) == len(clip.plan.commands)
        for rec, cmd in zip(records, clip.plan.commands, strict=False):
            assert rec.argv == cmd.argv and rec.exit_code == 0
        assert sorted(os.listdir(output_dir)) == [os.path.basename(req.temp_path)], (
            f"execute() wrote more than {req.temp_path}: {sorted(os.listdir(output_dir))}"
        )
        assert os.path.getsize(req.temp_path) > 0
        verification = verify_output(clip.plan, available_engine.probe_output(clip.plan), available_engine)
        assert isinstance(verification, Verification) and verification.ok, verification.failed_checks()

    def test_probe_output_agrees_with_an_independent_probe(
        self, available_engine: Engine, engines: EngineSet, samples: list[Sample], output_dir: Path
    ) -> None:
        """The core verifies what ``probe_output`` reports: it must describe the file as it is."""
        clip = self.prepare(samples[:1], output_dir, engines).clips[0]
        req = clip.plan.request
        os.close(os.open(req.temp_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))  # as the core does
        available_engine.execute(clip.plan, threading.Event())
        try:
            independent = probe_file(req.temp_path, probed_by="kit")
        except ProxxError:
            pytest.skip("PyAV cannot read this engine's output; nothing independent to compare with")
        reported = available_engine.probe_output(clip.plan)
        assert reported is not None, "probe_output() says the output is unreadable, PyAV reads it"
        for field in ("codec", "width", "height", "frame_count", "frame_rate", "pix_fmt"):
            mine, theirs = getattr(reported.video, field), getattr(independent.video, field)
            assert mine == theirs, f"probe_output() reports video {field} {mine!r}, the file has {theirs!r}"
        assert [a.channels for a in reported.audio] == [a.channels for a in independent.audio]
        assert reported.start_timecode == independent.start_timecode

    @pytest.mark.parametrize("damage", [truncate_output, swap_output], ids=["truncated", "swapped"])
    def test_verification_fails_on_damaged_output(
        self, available_engine: Engine, samples: list[Sample], output_dir: Path, damage: Damage
    ) -> None:
        damaging = engine_set(DamagingEngine(available_engine, damage))
        job = self.prepare(samples[:1], output_dir, damaging)
        req = job.clips[0].plan.request
        clip = run_job(job, damaging).clips[0]
        assert (
            clip.status == FAILED and clip.failure is not None and clip.failure.category == Category.VERIFICATION_FAILED
        ), f"a {damage.__name__.split('_')[0]} output was not caught by verify(): {clip.status} {clip.failure}"
        assert not os.path.lexists(req.output_path), "a failed output must never get the final name"
        assert os.path.exists(req.temp_path), "the unverified output is kept under the temp name for inspection"
        assert clip.output is not None and clip.output.verification is not None
        assert not clip.output.verification.ok and clip.output.verification.failed_checks()

    def _run_digests(self, engines: EngineSet, samples: list[Sample], out: Path) -> list[tuple[str, str | None]]:
        """Run every sample (one job per profile) into ``out``; each output's file name and SHA-256."""
        out.mkdir()
        digests: list[tuple[str, str | None]] = []
        for _profile, group in self.by_profile(samples).items():
            result = run_job(self.prepare(group, out, engines), engines)
            assert result.status == COMPLETED, [c.failure for c in result.clips]
            digests += [
                (os.path.basename(c.output.path), c.output.sha256) for c in result.clips if c.output is not None
            ]
        return digests

    def test_output_is_deterministic(self, engines: EngineSet, samples: list[Sample], tmp_path: Path) -> None:
        digests = [self._run_digests(engines, samples, tmp_path / run) for run in ("run-a", "run-b")]
        assert digests[0] == digests[1], f"two runs of the same job made different bytes: {digests}"

    def test_output_is_identical_on_fewer_cpus(self, engines: EngineSet, samples: list[Sample], tmp_path: Path) -> None:
        """Another node has another number of CPUs: the bytes must not depend on it (a tool that
        slices frames per CPU does). The second run is restricted to one CPU (CPU affinity, which
        the engine's threads and child processes inherit)."""
        if not hasattr(os, "sched_setaffinity"):
            pytest.skip("this OS cannot restrict CPU affinity")
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) < 2:
            pytest.skip("this machine has one usable CPU: nothing to compare")
        digests: list[list[tuple[str, str | None]]] = []
        for run, allowed in (("all-cpus", cpus), ("one-cpu", cpus[:1])):
            os.sched_setaffinity(0, allowed)
            try:
                digests.append(self._run_digests(engines, samples, tmp_path / run))
            finally:
                os.sched_setaffinity(0, cpus)
        assert digests[0] == digests[1], (
            f"the bytes depend on the number of CPUs ({len(cpus)} vs 1): {digests}; pin the thread count "
            f"(or slices) of every byte-affecting step"
        )

    def test_chunked_output_is_the_single_pass_output(
        self,
        available_engine: Engine,
        engines: EngineSet,
        samples: list[Sample],
        tmp_path: Path,
        monkeypatch: pytest.MonkeyPatch,
    ) -> None:
        """Contract 1.3 (optional): an engine with ``plan_chunk``/``plan_join`` makes, from chunks
        joined without re-encoding, the very bytes of its single pass (every intra sample of at least
        two frames, cut in two)."""
        if not (hasattr(available_engine, "plan_chunk") and hasattr(available_engine, "plan_join")):
            pytest.skip("this engine does not encode chunks (optional, contract 1.3)")
        cut = [s for s in samples if PROFILES[s.profile].codec in INTRA_CODECS and (s.frame_count or 0) >= 2]
        if not cut:
            pytest.skip("no intra sample of two frames or more to cut")
        for i, sample in enumerate(cut):
            assert sample.frame_rate is not None, "give the sample's frame_rate to test chunking"
            num, _, den = sample.frame_rate.partition("/")
            # a chunk of half the clip's frames (rounded down): two chunks, the last one takes the rest
            half = (int(sample.frame_count or 0) // 2 + 0.5) * int(den or 1) / int(num)
            digests = []
            for label, seconds in (("whole", "0"), ("chunked", f"{half:.9f}")):
                monkeypatch.setenv(CHUNK_SECONDS_ENV, seconds)
                out = tmp_path / f"{label}-{i}"
                out.mkdir()
                job = self.prepare([sample], out, engines)
                assert (job.clips[0].chunked is not None) == (label == "chunked"), (
                    f"{sample.path}: expected the clip {'cut in chunks' if label == 'chunked' else 'whole'}; "
                    f"chunk_refusal says why a clip stays whole"
                )
                result = run_job(job, engines, max_workers=2)
                assert result.status == COMPLETED, [c.failure for c in result.clips]
                digests.append(result.clips[0].output.sha256 if result.clips[0].output else None)
            assert digests[0] == digests[1], (
                f"{sample.path} ({sample.profile}): the joined chunks differ from the single pass; plan_join "
                f"must reproduce the single pass's mux exactly (or chunk_refusal must refuse the clip)"
            )


def _installed_ffmpeg_engine() -> Engine | None:
    """The FFmpeg engine, if its distribution is installed (loaded through its entry point)."""
    for ep in importlib.metadata.entry_points(group=ENTRY_POINT_GROUP):
        if ep.name == "ffmpeg":
            try:
                loaded = load_engines([ep.load()], entry_points=False)
            except Exception:  # a broken FFmpeg install is not this engine's problem
                return None
            return loaded.get("ffmpeg")
    return None


class FailureTests(EngineFixtures):
    """Failures map to the result contract's categories and never leave a file under the final name."""

    def test_source_broken_after_planning_fails_as_engine_failed(
        self, engines: EngineSet, samples: list[Sample], output_dir: Path
    ) -> None:
        job = self.prepare(samples[:1], output_dir, engines)
        self.break_source(samples[0])
        # the core itself refuses a source changed since probing (io_error) before the engine runs;
        # without the recorded stat, the engine's own failure on a broken source is what is tested
        clip = run_clip(
            attrs.evolve(job.clips[0], source_stat=None), engines, overwrite=False, cancel=threading.Event()
        )
        assert clip.status == FAILED and clip.failure is not None and clip.failure.category == Category.ENGINE_FAILED, (
            f"expected engine_failed, got {clip.status} {clip.failure}"
        )
        assert clip.commands and clip.commands[-1]["exit_code"] not in (0, None), "the failing command is recorded"
        assert os.listdir(output_dir) == [], f"a failed clip left files: {os.listdir(output_dir)}"

    def test_execute_honours_a_cancel(
        self, available_engine: Engine, engines: EngineSet, samples: list[Sample], output_dir: Path
    ) -> None:
        plan: ClipPlan = self.prepare(samples[:1], output_dir, engines).clips[0].plan
        os.close(os.open(plan.request.temp_path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        cancel = threading.Event()
        cancel.set()
        with pytest.raises(ClipFailure) as info:
            available_engine.execute(plan, cancel)
        assert info.value.category == Category.INTERRUPTED, f"a cancelled execute raised {info.value.category!r}"
        assert not os.path.lexists(plan.request.output_path)

    def test_interrupted_run_leaves_nothing(self, engines: EngineSet, samples: list[Sample], output_dir: Path) -> None:
        job = self.prepare(samples[:1], output_dir, engines)
        cancel = threading.Event()
        cancel.set()
        clip = run_job(job, engines, cancel=cancel).clips[0]
        assert clip.failure is not None and clip.failure.category == Category.INTERRUPTED
        assert os.listdir(output_dir) == []

    def test_existing_output_is_left_untouched(
        self, engines: EngineSet, samples: list[Sample], output_dir: Path
    ) -> None:
        job = self.prepare(samples[:1], output_dir, engines)
        final = Path(job.clips[0].plan.request.output_path)
        final.write_bytes(b"an editor's existing proxy\n")
        before = snapshot(output_dir)
        clip = run_job(job, engines).clips[0]
        assert clip.status == FAILED and clip.failure is not None and clip.failure.category == Category.OUTPUT_EXISTS, (
            clip.failure
        )
        assert snapshot(output_dir) == before, "an existing output (or its directory) was modified"


class RenditionTests(EngineFixtures):
    """Contract 1.3, for an engine that implements ``plan_together``: renditions of one source from
    one run, each byte-identical to its single-rendition job (engines without it are skipped)."""

    @staticmethod
    def _together_profiles(
        engine: Engine, samples: list[Sample], engines: EngineSet, tmp_path: Path
    ) -> tuple[Sample, list[str]]:
        if type(engine).plan_together is Engine.plan_together:
            pytest.skip("the engine does not implement plan_together (contract 1.3, optional)")
        sample = samples[0]
        made = [
            p
            for p in sorted(engine.capabilities().profiles)  # those the core would make of this sample
            if check_document(job_document([sample.path], tmp_path, p, engine=engine.name), engines).job
        ]
        if len(made) < 2:
            pytest.skip("the engine makes fewer than two profiles of the first sample: nothing to make together")
        return sample, made

    def test_plan_together_is_pure_and_keeps_each_plan(
        self, available_engine: Engine, engines: EngineSet, samples: list[Sample], tmp_path: Path
    ) -> None:
        sample, profiles = self._together_profiles(available_engine, samples, engines, tmp_path)
        plans = []
        for p in profiles:
            out = tmp_path / p
            out.mkdir()
            plans.append(self.prepare([attrs.evolve(sample, profile=p)], out, engines).clips[0].plan)
        first = available_engine.plan_together(tuple(plans))
        assert first is not None, "plan_together() returned None for renditions of one source"
        assert first == available_engine.plan_together(tuple(plans)), "plan_together() must be pure"
        assert first.members == tuple(plans), "a TogetherPlan's members are the plans it was given, in order"
        finals = {p.request.output_path for p in plans}
        assert not any(f in a for cmd in first.commands for a in cmd.argv for f in finals), (
            "a command names a final output: engines write only the temp paths"
        )

    def test_renditions_are_the_single_jobs_bytes(
        self, available_engine: Engine, engines: EngineSet, samples: list[Sample], tmp_path: Path
    ) -> None:
        sample, profiles = self._together_profiles(available_engine, samples, engines, tmp_path)
        single: dict[str, str | None] = {}
        renditions = []
        for p in profiles:
            alone, together = tmp_path / "alone" / p, tmp_path / "together" / p
            alone.mkdir(parents=True)
            together.mkdir(parents=True)
            result = run_job(self.prepare([attrs.evolve(sample, profile=p)], alone, engines), engines)
            assert result.status == COMPLETED, [c.failure for c in result.clips]
            single[p] = result.clips[0].output.sha256 if result.clips[0].output else None
            renditions.append(
                {
                    "name": p,
                    "proxy_profile": p,
                    "output_dir": str(together),
                    "output_name_template": "{source_name}_{index}",
                }
            )
        doc = {
            "jobspec_version": "1.2.0",
            "sources": [str(sample.path)],
            "engine": available_engine.name,
            "renditions": renditions,
        }
        checked = check_document(doc, engines)
        assert checked.job is not None, "; ".join(str(p) for p in checked.problems)
        assert checked.job.together, "plan_together() made no run for the renditions of one source"
        result = run_job(checked.job, engines)
        assert result.status == COMPLETED, [c.failure for c in result.clips]
        made = {c.rendition: c.output.sha256 if c.output else None for c in result.clips}
        assert made == single, "a rendition made together differs from its single-rendition job's output"


class EngineConformance(EngineContractTests, ProbeTests, PlanTests, ExecutionTests, FailureTests, RenditionTests):
    """Every conformance check. Subclass this once per engine (name your subclass ``Test...``)."""
