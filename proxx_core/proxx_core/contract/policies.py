"""The ``existing_outputs`` policies (JobSpec 1.1): what a run does with a file already under a name it
writes. A vocabulary of the contract: a sink is told the job's policy (``DeliveryJob.policy``), and
``existing`` judges files by it."""

from __future__ import annotations

from .vocabulary import ExistingOutputs

FAIL, SKIP_VERIFIED, OVERWRITE = ExistingOutputs.FAIL, ExistingOutputs.SKIP_VERIFIED, ExistingOutputs.OVERWRITE
POLICIES = tuple(ExistingOutputs)
