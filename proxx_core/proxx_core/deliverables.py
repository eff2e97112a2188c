"""Delivery sidecars (JobSpec 1.1 ``deliverables``): which sinks exist, checking a job's list, and
running the sinks after the clips so the result can list what they wrote.

A sink is a plugin object (``name``, ``problems``, ``write``) registered through the
``proxx_register_deliverables`` hook; Proxx's own (ale, fcpxml, mhl, otio) live in the optional
``proxx-deliver`` distribution, and a third party writes one the same way. The core calls the sinks
itself (not as fire-and-forget observers) because the result must list every sidecar with its
SHA-256: a sink returns ``(file name, bytes)`` pairs and the core writes them (write gate,
existing-output policy, atomic), hashes them and puts them in the result before it is printed or
filed. A sink that runs a tool writing files itself (``mhl``: ASC MHL's ``ascmhl create``) returns
:class:`Deliverable` records of what the tool wrote instead, gating the tool's folder itself; so do
sinks written before the pairs existed, which call :func:`write_sidecar` themselves. Sinks read the
result as its JSON data (docs/results.md), the stable contract.
"""

from __future__ import annotations

import os
import re
import stat
from collections.abc import Mapping, Sequence
from typing import Any

import attrs

from .atomic import sha256_file
from .errors import Problem, shown
from .existing import FAIL, OVERWRITE, SKIP_VERIFIED, rerun_hint
from .hints import install_command
from .layouts import job_write_gate
from .plugins import EngineSet, _only
from .writegate import WriteGate, WriteRefused

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
    allows overwriting, and the deliverables written before this sink (sealing sinks run last).
    ``policy``: the job's ``existing_outputs`` policy ("" : from ``overwrite``); ``gate``: the job's
    write gate (proxx_core.writegate), which every sidecar passes."""

    result: Mapping[str, Any]
    folder: str
    overwrite: bool
    written: tuple[Deliverable, ...] = ()
    policy: str = ""
    gate: WriteGate | None = attrs.field(default=None, eq=False, repr=False)

    @property
    def job_id(self) -> str:
        return str(self.result.get("job_id") or "job")

    @property
    def existing_policy(self) -> str:
        """What to do with a sidecar already at its name: proxx_core.existing's policies."""
        return self.policy or (OVERWRITE if self.overwrite else FAIL)

    def write_gate(self) -> WriteGate:
        """The job's write gate, or one from the result's sources and this folder."""
        if self.gate is not None:
            return self.gate
        spec = self.result.get("jobspec")
        spec = spec if isinstance(spec, Mapping) else {}
        sources = spec.get("sources")
        if not (isinstance(sources, list) and all(isinstance(x, str) for x in sources)):
            sources = [c["source"]["path"] for c in self.result.get("clips", ()) if c.get("source", {}).get("path")]
        return WriteGate(sources, (self.folder,))

    def delivered_clips(self) -> list[Mapping[str, Any]]:
        """The clips a sidecar describes, in result (source) order."""
        return [c for c in self.result.get("clips", ()) if c.get("status") in DELIVERED_STATUSES and c.get("output")]


class DeliverableSink:
    """Base class for a sink. ``name`` is the value a JobSpec lists in ``deliverables``."""

    name: str = ""
    #: run after every other sink (e.g. a checksum manifest sealing the other sidecars)
    runs_last: bool = False
    #: also written when no clip was delivered (a report of a night where every clip failed is the
    #: one a production needs most); sinks that describe proxies leave it False
    describes_failures: bool = False

    def problems(self, document: Mapping[str, Any], sources: Sequence[Mapping[str, Any]]) -> list[str]:
        """Why this sidecar cannot be delivered for this job on this node, found at ``validate`` so
        the job is refused before any encode: ``sources`` are the probed sources as result JSON
        (``clips[].source.info``), in spec order."""
        return []

    def write(self, job: DeliveryJob) -> Sequence[tuple[str, bytes] | Deliverable]:
        """The sidecars for ``job``: ``(file name, bytes)`` pairs, each a file in ``job.folder``;
        the core writes each through the job's write gate and lists it with its SHA-256. A file the
        sink (or a tool it runs) wrote itself is returned as a :class:`Deliverable` record instead."""
        raise NotImplementedError

    def file_names(self, document: Mapping[str, Any], job_id: str) -> Sequence[str] | None:
        """The names this sink will write in output_dir, relative to it, for ``validate`` to refuse
        a job whose sidecar would replace a source (a name ending in ``/``: a folder the sink, or a
        tool it runs, writes anything under). None (the default): not declared, so checked only
        when written (the write gate refuses it then, after the encodes)."""
        return None


def sha256_of(path: str) -> str:
    """SHA-256 of a file a sink wrote (for the result's ``deliverables`` list)."""
    return sha256_file(path)[0]


def write_sidecar(job: DeliveryJob, name: str, file_name: str, data: bytes) -> Deliverable:
    """Write ``data`` to ``<folder>/<file_name>`` through the job's write gate (never a source,
    never outside the job's folders; unique temp, fsync, rename). A file already there follows the
    job's existing-output policy like a proxy: ``fail`` leaves it (FileExistsError naming the fix),
    ``overwrite`` replaces it, ``skip_verified`` keeps it when its bytes are exactly these (it
    describes the same outputs) and replaces it otherwise."""
    final = os.path.join(job.folder, file_name)
    gate = job.write_gate()
    policy = job.existing_policy
    if policy == SKIP_VERIFIED and _same_bytes(final, data):
        gate.check(final)  # kept, but never a source
        return Deliverable(name=name, path=final, sha256=sha256_file(final)[0])
    try:
        digest = gate.write_bytes(final, data, replace=policy != FAIL)
    except FileExistsError:
        raise FileExistsError(f"{final} already exists (a sidecar of an earlier run?) and was left untouched; "
                              f"delete it, or {rerun_hint(job.result.get('jobspec'))}") from None
    return Deliverable(name=name, path=final, sha256=digest)


def sink_files(job: DeliveryJob, name: str, returned: Sequence[object]) -> list[Deliverable]:
    """What the sink ``name`` returned, written and listed: each ``(file name, bytes)`` pair through
    :func:`write_sidecar`, each :class:`Deliverable` (a file the sink or its tool wrote) kept once the
    write gate has checked it is no source. Everything is checked before anything is written, so a
    sink returning one wrong value writes nothing."""
    checked: list[Deliverable | tuple[str, bytes]] = []
    for item in returned:
        if isinstance(item, Deliverable):
            if item.name != name:
                raise TypeError(f"the {name!r} sink returned a Deliverable named {item.name!r}; name it {name!r}")
            checked.append(item)
        elif isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str) and isinstance(item[1], bytes):
            why = _file_name_problem(item[0])
            if why:
                raise ValueError(f"the {name!r} sink returned the file name {shown(item[0])}: {why}")
            checked.append((item[0], item[1]))
        else:
            raise TypeError(f"the {name!r} sink returned {type(item).__name__}: a sink returns (file name, bytes) "
                            f"pairs for the core to write, or Deliverable({name!r}) records of files it wrote itself")
    records = []
    for done in checked:
        if isinstance(done, Deliverable):
            if done.path and not done.error:
                job.write_gate().check_written(done.path)
            records.append(done)
        else:
            records.append(write_sidecar(job, name, *done))
    return records


def _file_name_problem(file_name: str) -> str | None:
    """Why a sidecar's file name cannot be written in the job's folder, or None."""
    if file_name in ("", ".", "..") or re.search(r"[\\/\x00]", file_name):
        return "a sidecar is a file in output_dir: return its bare file name, no folder (e.g. f'{job.job_id}.csv')"
    return None


def _same_bytes(path: str, data: bytes) -> bool:
    """Whether the regular file at ``path`` (not a link) holds exactly ``data``."""
    try:
        st = os.lstat(path)
        if not stat.S_ISREG(st.st_mode) or st.st_size != len(data):
            return False
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError:
        return False
    try:
        chunks = []
        while block := os.read(fd, 1 << 20):
            chunks.append(block)
        return b"".join(chunks) == data
    except OSError:
        return False
    finally:
        os.close(fd)


def sinks(engines: EngineSet) -> tuple[dict[str, DeliverableSink], list[str]]:
    """Every registered sink by name, and one message per plugin whose registration failed."""
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
                         sources: Sequence[Mapping[str, Any]] = (), *, job_id: str | None = None) -> list[Problem]:
    """Validation: every listed deliverable has an installed sink that can write it here, and no
    file it declares (``file_names``) would replace a source of the job (``job_id``: the job's)."""
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
            if job_id is not None and isinstance(document.get("output_dir"), str):
                problems += _name_problems(sink, document, job_id, where)
    return problems


def _name_problems(sink: DeliverableSink, document: Mapping[str, Any], job_id: str, where: str) -> list[Problem]:
    """The write gate's refusals of the files a sink declares it will write."""
    try:
        names = sink.file_names(document, job_id)
    except Exception as exc:
        return [Problem(path=where, message=f"the {sink.name!r} sink's file_names raised {type(exc).__name__}: {exc}")]
    if not names:
        return []
    output_dir = str(document["output_dir"])
    gate = job_write_gate([s for s in document.get("sources") or () if isinstance(s, str)],
                          layout=str(document.get("layout") or "output_dir"), output_dir=output_dir)
    problems = []
    for name in names:
        path = os.path.join(output_dir, name)
        if name.endswith("/"):
            try:
                gate.check_tree(path.rstrip("/"))
            except WriteRefused as exc:
                problems.append(Problem(path=where, message=f"the {sink.name!r} deliverable writes {name}: {exc}"))
            continue
        why = gate.refusal(path)
        if why:
            problems.append(Problem(path=where, message=(
                f"the {sink.name!r} sidecar {name}: {why}; a source is never replaced: set another job_id or "
                f"output_dir")))
    return problems

