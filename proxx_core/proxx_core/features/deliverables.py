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

from ..contract.errors import Problem, shown
from ..contract.policies import FAIL, SKIP_VERIFIED
from ..contract.sinks import Deliverable, DeliverableSink, DeliveryJob
from ..contract.vocabulary import Category, Layout
from ..io.atomic import sha256_file
from ..io.writegate import WriteRefused
from ..support.hints import install_command
from ..support.plugins import EngineSet, _only
from .existing import rerun_hint
from .layouts import job_write_gate

#: the deliverables Proxx itself ships, and where
FIRST_PARTY = ("ale", "fcpxml", "mhl", "otio", "report")
DELIVER_DISTRIBUTION = "proxx-deliver"
#: first-party deliverables shipped by a distribution other than proxx-deliver
DISTRIBUTIONS = {"report": "proxx-report"}


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
        raise FileExistsError(
            f"{final} already exists (a sidecar of an earlier run?) and was left untouched; "
            f"delete it, or {rerun_hint(job.result.get('jobspec'))}"
        ) from None
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
            raise TypeError(
                f"the {name!r} sink returned {type(item).__name__}: a sink returns (file name, bytes) "
                f"pairs for the core to write, or Deliverable({name!r}) records of files it wrote itself"
            )
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


def deliverable_problems(
    document: Mapping[str, Any],
    engines: EngineSet,
    sources: Sequence[Mapping[str, Any]] = (),
    *,
    job_id: str | None = None,
) -> list[Problem]:
    """Validation: every listed deliverable has an installed sink that can write it here, and no
    file it declares (``file_names``) would replace a source of the job (``job_id``: the job's)."""
    wanted = document.get("deliverables") or []
    if not wanted:
        return []
    available, _ = sinks(engines)
    problems: list[Problem] = []
    if not document.get("output_dir"):
        problems.append(
            Problem(
                path="/deliverables",
                message=("sidecars are written into /output_dir; set output_dir (or remove /deliverables)"),
            )
        )
    for i, name in enumerate(wanted):
        where = f"/deliverables/{i}"
        sink = available.get(name)
        if sink is None and name in FIRST_PARTY:
            dist = DISTRIBUTIONS.get(name, DELIVER_DISTRIBUTION)
            problems.append(
                Problem(
                    path=where,
                    category=Category.ENGINE_UNAVAILABLE,
                    install_hint=dist,
                    message=(
                        f"the {name!r} deliverable is written by {dist}, which "
                        f"is not installed here: {install_command(dist)}"
                    ),
                )
            )
        elif sink is None:
            known = sorted({*FIRST_PARTY, *available})
            problems.append(
                Problem(
                    path=where,
                    message=(
                        f"unknown deliverable {name!r}; known: {', '.join(known)} (a third-party one needs its plugin "
                        f"installed)"
                    ),
                )
            )
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
    gate = job_write_gate(
        [s for s in document.get("sources") or () if isinstance(s, str)],
        layout=str(document.get("layout") or Layout.OUTPUT_DIR),
        output_dir=output_dir,
    )
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
            problems.append(
                Problem(
                    path=where,
                    message=(
                        f"the {sink.name!r} sidecar {name}: {why}; a source is never replaced: set another job_id or "
                        f"output_dir"
                    ),
                )
            )
    return problems
