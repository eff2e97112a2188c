"""Delivery sidecars (JobSpec 1.1 ``deliverables``): which sinks exist, checking a job's list, and
running the sinks after the clips so the result can list what they wrote.

A sink is a plugin object (``name``, ``problems``, ``write``) registered through the
``proxx_register_deliverables`` hook; Proxx's own (ale, fcpxml, mhl, otio) live in the optional
``proxx-deliver`` distribution, and a third party writes one the same way. The core calls the sinks
itself (not as fire-and-forget observers) because the result must list every sidecar with its
SHA-256: a sink returns :class:`Deliverable` records and the core puts them in the result before it
is printed or filed. Sinks read the result as its JSON data (docs/results.md), the stable contract.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import attrs

from .atomic import sha256_file
from .errors import Problem
from .hints import install_command

if TYPE_CHECKING:
    from .plugins import EngineSet
    from .results import JobResult

#: the deliverables Proxx itself ships, and where
FIRST_PARTY = ("ale", "fcpxml", "mhl", "otio", "report")
DELIVER_DISTRIBUTION = "proxx-deliver"
#: first-party deliverables shipped by a distribution other than proxx-deliver
DISTRIBUTIONS = {"report": "proxx-report"}
#: clip statuses a sidecar describes (a failed clip has no proxy to describe)
DELIVERED_STATUSES = ("COMPLETED", "SKIPPED")


@attrs.frozen(kw_only=True)
class Deliverable:
    """One file a sink wrote (or, with ``error``, could not write)."""

    name: str
    path: str | None
    sha256: str | None
    error: str | None = None


@attrs.frozen(kw_only=True)
class DeliveryJob:
    """What a sink is given: the result's JSON data, the folder to write into, whether the job
    allows overwriting, and the deliverables written before this sink (sealing sinks run last)."""

    result: Mapping[str, Any]
    folder: str
    overwrite: bool
    written: tuple[Deliverable, ...] = ()

    @property
    def job_id(self) -> str:
        return str(self.result.get("job_id") or "job")

    def delivered_clips(self) -> list[Mapping[str, Any]]:
        """The clips a sidecar describes, in result (source) order."""
        return [c for c in self.result.get("clips", ()) if c.get("status") in DELIVERED_STATUSES and c.get("output")]


class DeliverableSink:
    """Base class for a sink. ``name`` is the value a JobSpec lists in ``deliverables``."""

    name: str = ""
    #: run after every other sink (e.g. a checksum manifest sealing the other sidecars)
    runs_last: bool = False

    def problems(self, document: Mapping[str, Any], sources: Sequence[Mapping[str, Any]]) -> list[str]:
        """Why this sidecar cannot be delivered for this job on this node, found at ``validate`` so
        the job is refused before any encode: ``sources`` are the probed sources as result JSON
        (``clips[].source.info``), in spec order."""
        return []

    def write(self, job: DeliveryJob) -> Sequence[Deliverable]:
        raise NotImplementedError


def sha256_of(path: str) -> str:
    """SHA-256 of a file a sink wrote (for the result's ``deliverables`` list)."""
    return sha256_file(path)[0]


def write_sidecar(job: DeliveryJob, name: str, file_name: str, data: bytes) -> Deliverable:
    """Write ``data`` to ``<folder>/<file_name>`` atomically (unique temp, fsync, rename); an
    existing file is replaced only when the job allows overwriting (else FileExistsError)."""
    from .atomic import publish

    final = os.path.join(job.folder, file_name)
    tmp = os.path.join(job.folder, f".{file_name}.{os.getpid()}.{os.urandom(6).hex()}.tmp")
    try:
        with open(tmp, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        publish(tmp, final, overwrite=job.overwrite)
    except FileExistsError:
        raise FileExistsError(f"{final} exists; delete it or set \"overwrite\": true") from None
    finally:
        if os.path.lexists(tmp):
            os.unlink(tmp)
    return Deliverable(name=name, path=final, sha256=hashlib.sha256(data).hexdigest())


def sinks(engines: EngineSet) -> tuple[dict[str, DeliverableSink], list[str]]:
    """Every registered sink by name, and one message per plugin whose registration failed."""
    from .plugins import _only

    found: dict[str, DeliverableSink] = {}
    errors: list[str] = []
    pm = engines.plugin_manager
    if pm is None:
        return found, errors
    for plugin in sorted(name for name, _ in pm.list_name_plugin()):
        offered: list[Any] = []
        try:
            _only(pm, "proxx_register_deliverables", plugin)(register=offered.append)
        except Exception as exc:
            errors.append(f"plugin {plugin!r}: proxx_register_deliverables raised {type(exc).__name__}: {exc}")
            continue
        for sink in offered:
            if not isinstance(sink, DeliverableSink) or not sink.name:
                errors.append(f"plugin {plugin!r} registered {sink!r}, not a named proxx_core DeliverableSink")
            elif sink.name in found:
                errors.append(f"plugin {plugin!r}: deliverable {sink.name!r} is already registered; uninstall one")
            else:
                found[sink.name] = sink
    return found, errors


def deliverable_problems(document: Mapping[str, Any], engines: EngineSet,
                         sources: Sequence[Mapping[str, Any]] = ()) -> list[Problem]:
    """Validation: every listed deliverable has an installed sink that can write it here."""
    wanted = document.get("deliverables") or []
    if not wanted:
        return []
    available, _ = sinks(engines)
    problems: list[Problem] = []
    if not document.get("output_dir"):
        problems.append(Problem(path="/deliverables", message=(
            "sidecars are written into /output_dir; set output_dir (or remove /deliverables)")))
    for i, name in enumerate(wanted):
        where = f"/deliverables/{i}"
        sink = available.get(name)
        if sink is None and name in FIRST_PARTY:
            dist = DISTRIBUTIONS.get(name, DELIVER_DISTRIBUTION)
            problems.append(Problem(path=where, category="engine_unavailable", install_hint=dist,
                                    message=(f"the {name!r} deliverable is written by {dist}, which "
                                             f"is not installed here: {install_command(dist)}")))
        elif sink is None:
            known = sorted({*FIRST_PARTY, *available})
            problems.append(Problem(path=where, message=(
                f"unknown deliverable {name!r}; known: {', '.join(known)} (a third-party one needs its plugin "
                f"installed)")))
        else:
            try:
                reasons = sink.problems(document, sources)
            except Exception as exc:
                reasons = [f"the {name!r} sink's check raised {type(exc).__name__}: {exc}"]
            problems += [Problem(path=where, message=r) for r in reasons]
    return problems


def deliver(result: JobResult, engines: EngineSet) -> tuple[JobResult, tuple[str, ...]]:
    """Run the job's sinks and return the result listing what they wrote, plus one message per
    sink that failed. A failed sink never touches the proxies or the clips' statuses; it is listed
    with its ``error`` and makes the exit code 4 (system error). No delivered clip, no sidecar."""
    from .results import EXIT_OK, EXIT_PARTIAL, EXIT_SYSTEM
    from .serialization import to_data

    document = result.jobspec if isinstance(result.jobspec, dict) else {}
    wanted = list(document.get("deliverables") or [])
    if not wanted or result.problems or not document.get("output_dir"):
        return result, ()
    data = to_data(result)
    job = DeliveryJob(result=data, folder=str(document["output_dir"]), overwrite=bool(document.get("overwrite")))
    if not job.delivered_clips():
        return result, ()
    available, _ = sinks(engines)
    order = sorted(wanted, key=lambda n: (bool(getattr(available.get(n), "runs_last", False)), n))
    records: list[Deliverable] = []
    errors: list[str] = []
    for name in order:
        sink = available.get(name)
        try:
            if sink is None:
                raise RuntimeError(f"no installed plugin provides the {name!r} deliverable")
            written = list(sink.write(attrs.evolve(job, written=tuple(records))))
            if not all(isinstance(w, Deliverable) and w.name == name for w in written):
                raise TypeError(f"the {name!r} sink returned something other than Deliverable({name!r}) records")
        except Exception as exc:
            message = f"{type(exc).__name__}: {exc}"
            written = [Deliverable(name=name, path=None, sha256=None, error=message)]
            errors.append(f"deliverable {name!r} was not written: {message}")
        records += written
    exit_code = result.exit_code
    if errors and exit_code in (EXIT_OK, EXIT_PARTIAL):
        exit_code = EXIT_SYSTEM
    return attrs.evolve(result, deliverables=tuple(records), exit_code=exit_code), tuple(errors)

