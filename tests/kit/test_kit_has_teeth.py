"""The kit fails engines that break the contract: each mutant of the example engine breaks one rule
and the matching kit check must fail (run in an inner pytest session with pytester)."""

import pytest

pytest.importorskip("proxx_engine_imageseq", reason="install ./examples/proxx-engine-imageseq")
# PyAV is a C extension: pytester drops modules first imported by an inner session, and a second
# import of av then comes back half-initialised ("module 'av' has no attribute 'stream'"). Importing
# it here, before the inner sessions, keeps it (the file alone failed; the whole suite hid it).
pytest.importorskip("av")

pytest_plugins = ["pytester"]

HEADER = """
import os, pytest, attrs
from proxx_core import Verification
from proxx_core.testing import EngineConformance, Sample
from proxx_engine_imageseq.engine import ImageSequenceEngine
from proxx_engine_imageseq.samples import make_sequence

class Mutant(ImageSequenceEngine):
{body}

class TestMutant(EngineConformance):
    @pytest.fixture
    def engine(self):
        return Mutant()

    @pytest.fixture
    def sample_sources(self, tmp_path):
        return [Sample(path=make_sequence(tmp_path / "a"), profile="offline_prores_proxy_1920x1080")]
"""

MUTANTS = {
    # reports the raster and frame count the core expects instead of what the file holds
    "probe_output_lies": (
        """
    def probe_output(self, plan):
        info = super().probe_output(plan)
        req = plan.request
        return info and attrs.evolve(info, video=attrs.evolve(
            info.video, width=req.width, height=req.height, frame_count=req.source_info.video.frame_count))
""",
        "test_verification_fails_on_damaged_output",
        1,
    ),
    # slices its work per CPU, as HandBrake's colour conversion did: other bytes on other nodes
    "cpu_count_dependent_bytes": (
        """
    def execute(self, plan, cancel):
        from proxx_core.kit import run_commands
        n = len(os.sched_getaffinity(0))
        commands = [attrs.evolve(c, argv=(*c.argv[:-1], "-metadata", f"comment=sliced for {n} cpus", c.argv[-1]))
                    for c in plan.commands]
        return run_commands(commands, cancel)
""",
        "test_output_is_identical_on_fewer_cpus",
        1,
    ),
    # claims its sequences at FFmpeg's generic specificity: every job would be refused as a tie
    "ties_with_ffmpeg": (
        """
    def claim(self, info, profile):
        claim = super().claim(info, profile)
        return attrs.evolve(claim, specificity=10) if hasattr(claim, "specificity") else claim
""",
        "test_claims_do_not_tie_with_ffmpeg",
        1,
    ),
    # describes the source instead of the file it made
    "probe_output_reports_the_source": (
        """
    def probe_output(self, plan):
        return plan.request.source_info
""",
        "test_probe_output_agrees_with_an_independent_probe",
        1,
    ),
    "plan_touches_output_dir": (
        """
    def plan(self, request):
        open(os.path.join(os.path.dirname(request.output_path), "scratch.txt"), "w").close()
        return super().plan(request)
""",
        "test_plan_is_pure",
        1,
    ),
    "writes_the_final_name": (
        """
    def plan(self, request):
        return super().plan(attrs.evolve(request, temp_path=request.output_path))
""",
        "test_commands_are_exact_argv_with_deadlines",
        1,
    ),
    "probe_lies_about_frames": (
        """
    def probe(self, path):
        info = super().probe(path)
        return info and attrs.evolve(info, video=attrs.evolve(info.video, frame_count=info.video.frame_count + 1))
""",
        "test_job_completes_and_publishes_atomically",
        1,
    ),
    "ignores_cancel": (
        """
    def execute(self, plan, cancel):
        import threading
        return super().execute(plan, threading.Event())
""",
        "test_execute_honours_a_cancel",
        1,
    ),
    # makes renditions together with a setting its single plan lacks: not the single job's bytes
    "renditions_differ_from_single_jobs": (
        """
    def plan_together(self, plans):
        from proxx_core import TogetherPlan
        commands = [attrs.evolve(c, argv=(*c.argv[:-1], "-metadata", "comment=together", c.argv[-1]))
                    for p in plans for c in p.commands]
        return TogetherPlan(request=plans[0].request, engine=self.name, commands=commands, members=plans)
""",
        "test_renditions_are_the_single_jobs_bytes",
        1,
    ),
}


#: an engine of contract 1.0 that answers "ok" without looking: the core verifies regardless
TRUSTING_VERIFY = """
    def verify(self, plan):
        return Verification(ok=True, checks=())
"""


def test_a_verify_that_trusts_the_tool_cannot_publish_a_damaged_output(pytester):
    pytester.makepyfile(test_mutant=HEADER.format(body=TRUSTING_VERIFY))
    result = pytester.runpytest_inprocess(
        "-q", "-p", "no:cacheprovider", "-k", "test_verification_fails_on_damaged_output"
    )
    result.assert_outcomes(passed=2)


@pytest.mark.parametrize("mutant", sorted(MUTANTS))
def test_the_kit_catches(pytester, mutant):
    body, selection, failures = MUTANTS[mutant]
    pytester.makepyfile(test_mutant=HEADER.format(body=body))
    result = pytester.runpytest_inprocess("-q", "-p", "no:cacheprovider", "-k", selection)
    assert result.parseoutcomes().get("failed", 0) == failures, result.outlines[-30:]
