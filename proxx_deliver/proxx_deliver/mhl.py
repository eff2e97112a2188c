"""``"mhl"``: an ASC MHL chain of custody from the camera originals to the proxies.

The delivery folder (output_dir) gets an ASC MHL history (``ascmhl/``) written by the ASC's
reference implementation, ``ascmhl create``, with one generation per job sealing, in xxh128 (ASC
MHL's default), every proxy of the job, the other sidecars written before it and
``<job_id>.sources.mhl``. That file is an ASC MHL hashlist (same XML schema, written here) of the
camera originals the proxies were made from, also in xxh128, with paths relative to the sources'
common folder (named in its comment), so it can be checked against the card's own history, which DIT
tools write in the same hash. An ASC MHL history only describes files under its own root, and Proxx
never writes beside the sources; hence a hashlist of the sources inside the sealed delivery.

With ``layout: proxy_subfolder`` the proxies sit in a ``Proxy/`` folder beside each card's
originals, outside the delivery folder: each such folder gets its own history (``Proxy/ascmhl/``),
the ASC MHL way of sealing separate folder trees, and the delivery folder's history seals the
sidecars and the sources' hashlist. With ``layout: avid_mxf`` the history ignores the index files
Media Composer writes into ``Avid MediaFiles/MXF/<n>/`` (:data:`AVID_INDEX_FILES`, recorded as ASC
MHL ignore patterns in the generation), so ``ascmhl verify`` still passes once Avid has indexed it.

``ascmhl`` pins Click 8.1.x, which proxx-fleet's Celery refuses, so it is run from its own
environment: ``PROXX_ASCMHL`` or ``ascmhl`` on PATH (``pipx install ascmhl``). Its ``create`` is
called through the Python of that environment without the CLI's update check (which would reach
the network on every job).
"""

from __future__ import annotations

import os
import platform
import shutil
import subprocess
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from proxx_core import Layout, hookimpl
from proxx_core.kit import Deliverable, DeliverableSink, DeliveryJob, open_regular, sha256_of, write_sidecar

from .clips import delivered_clips

if TYPE_CHECKING:
    from proxx_core.kit import WriteGate

HASH_FORMAT = "xxh128"
HISTORY = "ascmhl"
#: the index databases Media Composer writes into every managed-media folder it scans
AVID_INDEX_FILES = ("msmMMOB.mdb", "msmFMID.pmr")
#: ``ascmhl create`` with one or more ``-sf`` files does not record ``-i`` patterns (ascmhl 1.2 passes
#: them to the folder mode only), so the session gets them here: argv[1] is a JSON list of patterns
_CREATE = (
    "import json, sys\n"
    "from ascmhl import commands, generator, ignore\n"
    "extra = json.loads(sys.argv[1])\n"
    "if extra:\n"
    "    def session(history, spec=None):\n"
    "        patterns = ignore.MHLIgnoreSpec(history.latest_ignore_patterns(), extra)\n"
    "        return generator.MHLGenerationCreationSession(history, patterns)\n"
    "    commands.MHLGenerationCreationSession = session\n"
    "commands.create(args=sys.argv[2:], prog_name='ascmhl create')\n"
)
_INSTALL = "install the ASC MHL tool in its own environment (pipx install ascmhl) or set PROXX_ASCMHL to its path"


def ascmhl_executable() -> str | None:
    exe = os.environ.get("PROXX_ASCMHL") or shutil.which("ascmhl")
    return exe if exe and os.path.isfile(exe) and os.access(exe, os.X_OK) else None


def create_command(exe: str, ignore: tuple[str, ...] = ()) -> list[str]:
    """``ascmhl create`` without the update check: the tool's own Python, when its script says;
    ``ignore``: ASC MHL ignore patterns the new generation records (checked after the run)."""
    try:
        with open(exe, "rb") as fh:
            first = fh.readline(4096).decode("utf-8", "replace").strip()
    except OSError:
        first = ""
    python = first[2:].strip() if first.startswith("#!") else ""
    if python and " " not in python and os.path.isfile(python):
        import json

        return [python, "-c", _CREATE, json.dumps(list(ignore))]
    return [exe, "create", *(arg for pattern in ignore for arg in ("-i", pattern))]


def xxh128_file(path: str) -> str:
    import xxhash  # only when a job asks for an MHL: kept out of every command's start-up

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
    lines = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<hashlist version="2.0" xmlns="urn:ASC:MHL:v2.0">',
        "  <creatorinfo>",
        f"    <creationdate>{created}</creationdate>",
        f"    <hostname>{escape(host)}</hostname>",
        f"    <tool version={quoteattr(_version())}>proxx-deliver</tool>",
        f"    <comment>{escape(f'camera originals of proxx job {job_id}; paths relative to {root}')}</comment>",
        "  </creatorinfo>",
        "  <processinfo>",
        "    <process>in-place</process>",
        "  </processinfo>",
        "  <hashes>",
    ]
    for src in sources:
        rel = os.path.relpath(src, root).replace(os.sep, "/")
        lines += [
            "    <hash>",
            f'      <path size="{os.path.getsize(src)}">{escape(rel)}</path>',
            f'      <{HASH_FORMAT} action="original">{xxh128_file(src)}</{HASH_FORMAT}>',
            "    </hash>",
        ]
    lines += ["  </hashes>", "</hashlist>"]
    return "\n".join(lines) + "\n"


def _inside(folder: str, path: str) -> bool:
    folder, path = os.path.realpath(folder), os.path.realpath(path)
    return os.path.commonpath([folder, path]) == folder


def layout_problems(document: Mapping[str, Any]) -> list[str]:
    """``proxy_subfolder``: each ``Proxy/`` folder gets its own history, and histories must not nest
    in one another (the outer one would then find unsealed files: the other cards, the sources)."""
    if document.get("layout") != Layout.PROXY_SUBFOLDER or not isinstance(document.get("output_dir"), str):
        return []
    from proxx_core.kit import proxy_folder

    out = str(document["output_dir"])
    problems = []
    for i, source in enumerate(s for s in document.get("sources") or [] if isinstance(s, str)):
        proxies = proxy_folder(source)
        if _inside(out, proxies) or _inside(proxies, out):
            problems.append(
                f"sources[{i}]: its proxy folder {proxies} and output_dir {out} would nest one ASC MHL "
                f"history in the other, which then fails verify on the files it does not seal: choose an "
                f"output_dir outside the source folders (and not inside a Proxy folder)"
            )
    return problems


def _histories(job: DeliveryJob, layout: str) -> dict[str, list[str]]:
    """The files each history seals, by its root folder: the delivery folder's first, then each
    proxy folder outside it (``proxy_subfolder``), sorted."""
    folder = job.folder
    roots: dict[str, list[str]] = {folder: []}
    # every file a clip published (an Avid OP-Atom clip has one per track)
    for clip in job.delivered_clips():
        for f in clip["output"].get("files") or [clip["output"]]:
            path = str(f["path"])
            own = layout == Layout.PROXY_SUBFOLDER and not _inside(folder, path)
            roots.setdefault(os.path.dirname(path) if own else folder, []).append(path)
    roots[folder] += [str(w.path) for w in job.written if w.path and not w.error]  # the other sidecars
    return {root: roots[root] for root in [folder, *sorted(r for r in roots if r != folder)]}


class MhlSink(DeliverableSink):
    name = "mhl"
    runs_last = True  # seals the other sidecars too

    def problems(self, document, sources):
        if not ascmhl_executable():
            return [f"the 'mhl' deliverable needs the ascmhl tool, not found here: {_INSTALL}"]
        return layout_problems(document)

    def file_names(self, document, job_id):
        return [f"{job_id}.sources.mhl", f"{HISTORY}/"]  # ascmhl writes anything under ascmhl/

    def write(self, job: DeliveryJob):
        """The one sink that writes its files itself, not as (file name, bytes) for the core: ascmhl
        writes the histories (their folders gated before with ``check_tree``, each file checked after
        with ``check_written``), and ``<job_id>.sources.mhl`` must exist before the tool seals it, so
        it goes through ``write_sidecar`` here; all are returned as Deliverable records."""
        exe = ascmhl_executable()
        if exe is None:
            raise RuntimeError(f"ascmhl not found: {_INSTALL}")
        clips = delivered_clips(job)
        layout = str((job.result.get("jobspec") or {}).get("layout") or "")
        histories = _histories(job, layout)
        folder, *proxy_roots = histories
        outside = [p for root, paths in histories.items() for p in paths if not _inside(root, p)]
        if outside:  # a path that resolves elsewhere (a link swapped in): never seal what is not there
            raise ValueError(
                f"an ASC MHL history seals files under its folder only; outside their folders: {', '.join(outside)}"
            )
        ignore = AVID_INDEX_FILES if layout == Layout.AVID_MXF else ()
        from datetime import UTC, datetime  # at the end of a job only: not loaded with the plugin

        created = datetime.now(UTC).isoformat(timespec="seconds")
        manifest = write_sidecar(
            job,
            self.name,
            f"{job.job_id}.sources.mhl",
            sources_hashlist(job.job_id, [c.source_path for c in clips], created, platform.node()).encode("utf-8"),
        )
        gate = job.write_gate()
        records = [manifest]
        where = f"; proxies sealed in their folders' own histories: {', '.join(proxy_roots)}" if proxy_roots else ""
        records += self._seal(
            exe,
            gate,
            folder,
            [*histories[folder], str(manifest.path)],
            ignore,
            (
                f"proxx job {job.job_id}: {len(clips)} proxies; camera originals in "
                f"{os.path.basename(manifest.path or '')}{where}"
            ),
        )
        for root in proxy_roots:
            records += self._seal(
                exe,
                gate,
                root,
                histories[root],
                ignore,
                (
                    f"proxx job {job.job_id}: proxies of the camera originals in {os.path.dirname(root)}; the job's "
                    f"sidecars and {os.path.basename(manifest.path or '')} are sealed in {folder}"
                ),
            )
        return records

    def _seal(
        self, exe: str, gate: WriteGate, root: str, paths: list[str], ignore: tuple[str, ...], comment: str
    ) -> list[Deliverable]:
        """One new generation of ``root``'s history sealing ``paths``; its records (generation, chain)."""
        history = os.path.join(root, HISTORY)
        gate.check_tree(history)  # the tool writes there itself: no source may be at or under it
        before = set(os.listdir(history)) if os.path.isdir(history) else set()
        argv = [*create_command(exe, ignore), root, "-h", HASH_FORMAT, "--comment", comment]
        for path in paths:
            argv += ["-sf", path]
        proc = subprocess.run(argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, check=False)
        if proc.returncode != 0:
            tail = " | ".join((proc.stderr or proc.stdout).strip().splitlines()[-3:])
            raise RuntimeError(f"ascmhl create exited {proc.returncode}: {tail}")
        new = sorted(n for n in os.listdir(history) if n not in before and n.endswith(".mhl"))
        if len(new) != 1:
            raise RuntimeError(f"ascmhl create left {len(new)} new generations in {history}, expected 1")
        generation = os.path.join(history, new[0])
        with open(generation, encoding="utf-8") as fh:
            text = fh.read()
        missing = [p for p in ignore if f"<pattern>{p}</pattern>" not in text]
        if missing:
            raise RuntimeError(
                f"ascmhl did not record the ignore patterns {', '.join(missing)} in {generation}; "
                f"ascmhl verify would fail once Media Composer indexes the folder: install the "
                f"ascmhl version of constraints-ascmhl.txt"
            )
        records = []
        for path in (generation, os.path.join(history, "ascmhl_chain.xml")):
            gate.check_written(path)
            records.append(Deliverable(name=self.name, path=path, sha256=sha256_of(path)))
        return records


@hookimpl
def proxx_register_deliverables(register):
    register(MhlSink())
