"""Start-up stays cheap: ``--version`` imports nothing heavy, and a cached FFmpeg identity spawns nothing.

Timings are benchmarks (benchmarks/bench_startup.py); these tests check the causes: which modules
load and which processes start.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

HEAVY = ("proxx_core.pipeline.results", "av", "jsonschema", "cattrs", "imageio_ffmpeg")


def _python(code: str, env: dict | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env={**os.environ, **(env or {})}
    )


def test_version_imports_nothing_heavy():
    r = _python(
        "import sys, json\nfrom proxx_cli.main import main\n"
        "try:\n    main(['--version'])\nexcept SystemExit as e:\n    code = e.code\n"
        "print(json.dumps([code, sorted(m for m in sys.modules)]))"
    )
    assert r.returncode == 0, r.stderr
    code, modules = json.loads(r.stdout.splitlines()[-1])
    assert code == 0 and r.stdout.startswith("proxx ")
    assert not [m for m in HEAVY if m in modules], f"--version imported {[m for m in HEAVY if m in modules]}"


def test_version_matches_the_installed_distribution():
    from importlib.metadata import version

    r = subprocess.run([sys.executable, "-m", "proxx_cli", "--version"], capture_output=True, text=True, timeout=60)
    assert r.stdout.strip() == f"proxx {version('proxx-core')}"


SPAWN_GUARD = """
import json, subprocess
spawned = []
real = subprocess.Popen.__init__
def guard(self, args, *a, **kw):
    spawned.append(list(map(str, args)))
    return real(self, args, *a, **kw)
subprocess.Popen.__init__ = guard
from proxx_engine_ffmpeg.binary import inspect_binary
b = inspect_binary()
print(json.dumps({"spawned": spawned, "path": b.path, "version": b.version_line}))
"""


def test_cached_ffmpeg_identity_spawns_no_process(tmp_path):
    env = {"PROXX_CACHE_DIR": str(tmp_path / "cache")}
    first = _python(SPAWN_GUARD, env)
    assert first.returncode == 0, first.stderr
    cold = json.loads(first.stdout)
    assert cold["spawned"], "a cold cache reads the binary's listings"
    second = _python(SPAWN_GUARD, env)
    warm = json.loads(second.stdout)
    assert warm["spawned"] == [], f"a valid cached identity must not spawn ffmpeg: {warm['spawned']}"
    assert (warm["path"], warm["version"]) == (cold["path"], cold["version"])


def test_validating_a_valid_job_loads_no_schema_library_or_cattrs(media, outdir, write_job):
    """A valid spec passes the fast schema check (schemacheck); jsonschema is only imported to word a
    refusal, and cattrs only to write a result or plan. Each costs ~15-50 ms of `validate`'s 0.25 s."""
    from proxxtest import job_doc

    job = write_job(job_doc([str(media("a.mov"))], outdir))
    code = (
        "import sys, json\nfrom proxx_cli.main import main\n"
        f"try:\n    code = main(['validate', {str(job)!r}])\nexcept SystemExit as e:\n    code = e.code\n"
        "print(json.dumps([code, sorted(m for m in sys.modules)]))"
    )
    r = _python(code)
    code, modules = json.loads(r.stdout.splitlines()[-1])
    assert code == 0, r.stderr
    assert not [m for m in ("jsonschema", "cattrs") if m in modules]


def test_an_invalid_job_is_still_worded_by_jsonschema(write_job, outdir):
    job = write_job({"jobspec_version": "1.0.0", "sources": "/x.mov", "output_dir": str(outdir)})
    r = subprocess.run(
        [sys.executable, "-m", "proxx_cli", "validate", str(job)], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 1
    assert "/sources: must be an array (a JSON list), not string" in r.stderr
    assert "missing required key 'proxy_profile'" in r.stderr


#: libraries a one-clip `proxx run` needs only after its first command has started (io/digests.py,
#: io/clock.py, runner._in_order, support/process.py, the plugins' own lazy imports): ~15 ms of every job's fixed cost
NOT_BEFORE_THE_FIRST_COMMAND = (
    "hashlib",
    "_hashlib",
    "secrets",
    "datetime",
    "concurrent.futures",
    "logging",
    "tempfile",
)

FIRST_COMMAND_GUARD = """
import atexit, json, os, subprocess, sys, traceback
seen, importers = [], {}
class Who:  # who imported each library the test watches: the failure message names the importer
    def find_spec(self, name, path, target=None):
        if name in sys.argv[2].split(",") and name not in importers:
            stack = traceback.extract_stack()[:-1]
            importers[name] = [f"{f.filename}:{f.lineno}" for f in stack if "<frozen" not in f.filename][-6:]
sys.meta_path.insert(0, Who())
real = subprocess.Popen.__init__
def guard(self, args, *a, **kw):
    if not seen and "python" not in os.path.basename(str(args[0])):
        seen.append(sorted(sys.modules))
    return real(self, args, *a, **kw)
subprocess.Popen.__init__ = guard
def report(path=sys.argv[3]):
    with open(path, "w") as fh:
        json.dump([seen[0] if seen else None, importers], fh)
atexit.register(report)  # the executable ends with os._exit, after the atexit functions
from proxx_cli.executable import cli
sys.argv = ["proxx", "run", sys.argv[1]]
cli()
"""


def test_run_starts_its_first_command_before_loading_what_only_the_end_needs(media, outdir, write_job):
    """What a command hashes before its first encode is short (the built-in SHA-256, not OpenSSL's),
    times come from ``time``, one clip runs on one thread (no pool, so no ``logging``); all of it is
    loaded while the first command runs (pipeline/endprep.py)."""
    from proxxtest import job_doc

    job = write_job(job_doc([str(media("a.mov"))], outdir))
    seen = outdir.parent / "seen.json"
    r = subprocess.run(
        [sys.executable, "-c", FIRST_COMMAND_GUARD, str(job), ",".join(NOT_BEFORE_THE_FIRST_COMMAND), str(seen)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 0, r.stderr
    modules, importers = json.loads(seen.read_text())
    assert modules is not None, "no command was started"
    # without a probe helper (one usable CPU) PyAV is imported in-process, and it loads logging
    excused = {"logging"} if "av" in modules else set()
    loaded = [m for m in NOT_BEFORE_THE_FIRST_COMMAND if m in modules and m not in excused]
    assert not loaded, f"loaded before the first command: {loaded}, by {[importers.get(m) for m in loaded]}"
