"""The fixed vocabularies of the JobSpec and the result contract, as ``StrEnum`` s.

Why enums that are strings: each member *is* its JSON value (``Layout.AVID_MXF == "avid_mxf"``,
``json.dumps`` and cattrs write the value), so results, plans and the job's canonical JSON keep
their bytes, while the code compares against a name mypy checks instead of a bare string. Plugins
import these from ``proxx_core`` or ``proxx_core.kit``. This module imports nothing of the core.
"""

from __future__ import annotations

from enum import StrEnum


class Status(StrEnum):
    """A clip's or a job's status in the result (docs/results.md)."""

    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    PARTIAL = "PARTIAL"
    #: a clip whose existing output verified and was kept (``"existing_outputs": "skip_verified"``)
    SKIPPED = "SKIPPED"


class Category(StrEnum):
    """The fixed, documented failure categories of the result contract (docs/results.md)."""

    VALIDATION = "validation"
    UNSUPPORTED_SOURCE = "unsupported_source"
    ENGINE_UNAVAILABLE = "engine_unavailable"
    ENGINE_FAILED = "engine_failed"
    TIMEOUT = "timeout"
    VERIFICATION_FAILED = "verification_failed"
    OUTPUT_EXISTS = "output_exists"
    IO_ERROR = "io_error"
    INTERRUPTED = "interrupted"
    #: a fleet worker stopped heartbeating while running the clip (killed, crashed, cut off); never re-run
    WORKER_LOST = "worker_lost"


class Layout(StrEnum):
    """JobSpec 1.1 ``layout``: where proxies land (proxx_core.features.layouts)."""

    OUTPUT_DIR = "output_dir"
    PROXY_SUBFOLDER = "proxy_subfolder"
    AVID_MXF = "avid_mxf"


class Raster(StrEnum):
    """JobSpec 1.1 ``raster``: the profile's box, or the source divided exactly."""

    FIT = "fit"
    HALF = "half"
    QUARTER = "quarter"


class ExistingOutputs(StrEnum):
    """JobSpec 1.1 ``existing_outputs``: what a run does with a file already under a final name."""

    FAIL = "fail"
    SKIP_VERIFIED = "skip_verified"
    OVERWRITE = "overwrite"


class UnsupportedSources(StrEnum):
    """JobSpec 1.1 ``unsupported_sources``: a source no engine can make refuses the job, or fails its clip."""

    REFUSE_JOB = "refuse_job"
    FAIL_CLIP = "fail_clip"


class FpsMode(StrEnum):
    """JobSpec ``fps_mode``: the only mode there is (a proxy keeps the source's frame rate)."""

    PRESERVE_SOURCE = "preserve_source"


#: every vocabulary, for the serializer (each member written as its plain string)
VOCABULARIES = (Status, Category, Layout, Raster, ExistingOutputs, UnsupportedSources, FpsMode)
