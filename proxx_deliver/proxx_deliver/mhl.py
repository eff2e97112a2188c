"""``"mhl"``: an ASC MHL chain of custody from the camera originals to the proxies.

The delivery folder (output_dir) gets an ASC MHL history (``ascmhl/``) written by the ASC's
reference implementation, ``ascmhl create``, with one generation per job sealing, in xxh128 (ASC
MHL's default), every proxy of the job, the other sidecars written before it and
``<job_id>.sources.mhl``. That file is an ASC MHL hashlist (same XML schema, written here) of the
camera originals the proxies were made from, also in xxh128, with paths relative to the sources'
common folder (named in its comment), so it can be checked against the card's own history, which DIT
tools write in the same hash. An ASC MHL history only describes files under its own root, and Proxx
never writes beside the sources; hence a hashlist of the sources inside the sealed delivery.

``ascmhl`` pins Click 8.1.x, which proxx-fleet's Celery refuses, so it is run from its own
environment: ``PROXX_ASCMHL`` or ``ascmhl`` on PATH (``pipx install ascmhl``). Its ``create`` is
called through the Python of that environment without the CLI's update check (which would reach
the network on every job).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
from datetime import UTC, datetime

import xxhash

from proxx_core import hookimpl
from proxx_core.deliverables import Deliverable, DeliverableSink, DeliveryJob, sha256_of, write_sidecar
from proxx_core.kit import open_regular

from .clips import delivered_clips

HASH_FORMAT = "xxh128"
HISTORY = "ascmhl"
_CREATE = "import sys; from ascmhl.commands import create; create(args=sys.argv[1:], prog_name='ascmhl create')"
_INSTALL = "install the ASC MHL tool in its own environment (pipx install ascmhl) or set PROXX_ASCMHL to its path"


def ascmhl_executable() -> str | None:
    exe = os.environ.get("PROXX_ASCMHL") or shutil.which("ascmhl")
    return exe if exe and os.path.isfile(exe) and os.access(exe, os.X_OK) else None


def create_command(exe: str) -> list[str]:
    """``ascmhl create`` without the update check: the tool's own Python, when its script says."""
    try:
        with open(exe, "rb") as fh:
            first = fh.readline(4096).decode("utf-8", "replace").strip()
    except OSError:
        first = ""
    python = first[2:].strip() if first.startswith("#!") else ""
    if python and " " not in python and os.path.isfile(python):
        return [python, "-c", _CREATE]
    return [exe, "create"]


def xxh128_file(path: str) -> str:
    h = xxhash.xxh3_128()
    with open_regular(path) as fh:  # a FIFO swapped in for a source is refused, never waited on
        while block := fh.read(1 << 20):
            h.update(block)
    return h.hexdigest()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("proxx-deliver")
    except PackageNotFoundError:
        return "0+unknown"


def sources_hashlist(job_id: str, sources: list[str], created: str, host: str) -> str:
    """An ASC MHL v2.0 hashlist of the camera originals (paths relative to their common folder)."""
    from xml.sax.saxutils import escape, quoteattr  # here, not at import: it pulls in urllib.request

    root = os.path.commonpath([os.path.dirname(s) for s in sources])
    lines = ['<?xml version="1.0" encoding="UTF-8"?>', '<hashlist version="2.0" xmlns="urn:ASC:MHL:v2.0">',
             "  <creatorinfo>", f"    <creationdate>{created}</creationdate>",
             f"    <hostname>{escape(host)}</hostname>",
             f"    <tool version={quoteattr(_version())}>proxx-deliver</tool>",
             f"    <comment>{escape(f'camera originals of proxx job {job_id}; paths relative to {root}')}</comment>",
             "  </creatorinfo>", "  <processinfo>", "    <process>in-place</process>", "  </processinfo>", "  <hashes>"]
    for src in sources:
        rel = os.path.relpath(src, root).replace(os.sep, "/")
        lines += ["    <hash>", f"      <path size=\"{os.path.getsize(src)}\">{escape(rel)}</path>",
                  f"      <{HASH_FORMAT} action=\"original\">{xxh128_file(src)}</{HASH_FORMAT}>", "    </hash>"]
    lines += ["  </hashes>", "</hashlist>"]
    return "\n".join(lines) + "\n"


class MhlSink(DeliverableSink):
    name = "mhl"
    runs_last = True  # seals the other sidecars too

    def problems(self, document, sources):
        if ascmhl_executable():
            return []
        return [f"the 'mhl' deliverable needs the ascmhl tool, not found here: {_INSTALL}"]

    def write(self, job: DeliveryJob):
        exe = ascmhl_executable()
        if exe is None:
            raise RuntimeError(f"ascmhl not found: {_INSTALL}")
        clips = delivered_clips(job)
        folder = os.path.realpath(job.folder)
        # every file a clip published (an Avid OP-Atom clip has one per track), then the other sidecars
        proxies = [f["path"] for c in job.delivered_clips() for f in (c["output"].get("files") or [c["output"]])]
        sealed = proxies + [w.path for w in job.written if w.path and not w.error]
        outside = [p for p in sealed if os.path.commonpath([folder, os.path.realpath(p)]) != folder]
        if outside:
            raise ValueError(f"an ASC MHL history seals files under its folder only; outside {job.folder}: "
                             f"{', '.join(outside)}")
        created = datetime.now(UTC).isoformat(timespec="seconds")
        manifest = write_sidecar(job, self.name, f"{job.job_id}.sources.mhl", sources_hashlist(
            job.job_id, [c.source_path for c in clips], created, socket.gethostname()).encode("utf-8"))
        history = os.path.join(job.folder, HISTORY)
        before = set(os.listdir(history)) if os.path.isdir(history) else set()
        argv = [*create_command(exe), job.folder, "-h", HASH_FORMAT,
                "--comment", (f"proxx job {job.job_id}: {len(clips)} proxies; camera originals in "
                              f"{os.path.basename(manifest.path or '')}")]
        for path in [*sealed, manifest.path]:
            argv += ["-sf", str(path)]
        proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
        if proc.returncode != 0:
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            raise RuntimeError(f"ascmhl create exited {proc.returncode}: {tail}")
        new = sorted(n for n in os.listdir(history) if n not in before and n.endswith(".mhl"))
        if len(new) != 1:
            raise RuntimeError(f"ascmhl create left {len(new)} new generations in {history}, expected 1")
        records = [manifest]
        for name in (new[0], "ascmhl_chain.xml"):
            path = os.path.join(history, name)
            records.append(Deliverable(name=self.name, path=path, sha256=sha256_of(path)))
        return records


@hookimpl
def proxx_register_deliverables(register):
    register(MhlSink())
