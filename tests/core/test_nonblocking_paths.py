"""Nothing Proxx opens can hang it: a FIFO, a directory, /dev/zero or a socket in every slot that names a
file (source, with and without another schema error; look .cube; CDL file; job file; node config) is
refused with exit 1 and a message naming the path, within 2 s, by real ``proxx`` processes (a hang
is a subprocess timeout, so it fails the test instead of hanging pytest). Also: NUL bytes in paths
are refused at the schema, a node config that is not UTF-8 is exit 1 with the reason, and an unusable
binary-facts cache is skipped with a warning.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
from pathlib import Path

import pytest

from proxxtest import job_doc, run_cli

#: the promise: a refusal, not a hang (a real validate takes ~0.4 s here)
HANG_SECONDS = 2.0
FAST = {"PROXX_LOAD_PLUGINS": "ffmpeg"}
PROXX = str(Path(sys.executable).with_name("proxx"))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory) -> Path:
    from proxx_engine_ffmpeg.testmedia import make_source

    return make_source(tmp_path_factory.mktemp("nbmedia") / "tiny.mov", size="64x36", frames=2, audio=())


@pytest.fixture(scope="module")
def specials():
    """{kind: path} of things that are not regular files; the socket lives in a short /tmp folder (the
    sun_path limit) and is bound, so opening it by name fails with ENXIO rather than ENOENT."""
    root = Path(tempfile.mkdtemp(prefix="pxnb", dir="/tmp"))
    os.mkfifo(root / "fifo.mov")
    (root / "dir.mov").mkdir()
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(str(root / "sock.mov"))
    yield {
        "fifo": str(root / "fifo.mov"),
        "directory": str(root / "dir.mov"),
        "/dev/zero": "/dev/zero",
        "socket": str(root / "sock.mov"),
    }
    sock.close()
    shutil.rmtree(root, ignore_errors=True)


WORDS = {"fifo": "FIFO", "directory": "directory", "/dev/zero": "character device", "socket": "socket"}
KINDS = sorted(WORDS)


def _cli(*args, env=None):
    return run_cli(*args, env_extra={**FAST, **(env or {})}, timeout=HANG_SECONDS)


def _problems(res) -> list[dict]:
    return res.json()["problems"]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("other_error", [False, True], ids=["alone", "with-schema-error"])
@pytest.mark.parametrize("command", ["validate", "run"])
def test_special_file_as_a_source_is_refused_not_waited_on(
    kind, other_error, command, specials, tiny, tmp_path, write_job
):
    out = tmp_path / "out"
    out.mkdir()
    # "" fails the schema, so the other sources skip the disk checks but are still probed (route_problems)
    sources = ["", specials[kind], str(tiny)] if other_error else [str(tiny), specials[kind]]
    res = _cli(command, write_job(job_doc(sources, out)))
    assert res.returncode == 1, res.stderr
    where = "/sources/1"
    bad = [p for p in _problems(res) if p["path"] == where]
    assert bad and specials[kind] in bad[0]["message"] and WORDS[kind] in bad[0]["message"], _problems(res)
    assert os.listdir(out) == []


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("slot", ["lut", "cdl"])
def test_special_file_as_a_look_file_is_refused(kind, slot, specials, tiny, tmp_path, write_job):
    out = tmp_path / "out"
    out.mkdir()
    doc = job_doc([tiny], out, jobspec_version="1.1.0", look={slot: specials[kind]})
    for command in ("validate", "run"):
        res = _cli(command, write_job(doc))
        assert res.returncode == 1, res.stderr
        bad = [p for p in _problems(res) if p["path"].startswith("/look")]
        assert bad and specials[kind] in bad[0]["message"] and WORDS[kind] in bad[0]["message"], _problems(res)


@pytest.mark.parametrize("kind", [k for k in KINDS if k != "directory"])
def test_special_file_as_the_output_folder_is_refused(kind, specials, tiny, write_job):
    for command in ("validate", "run"):
        res = _cli(command, write_job(job_doc([tiny], specials[kind])))
        assert res.returncode == 1, res.stderr
        bad = [p for p in _problems(res) if p["path"] == "/output_dir"]
        assert bad and WORDS[kind] in bad[0]["message"] and "not a directory" in bad[0]["message"], _problems(res)


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("command", ["validate", "run", "plan"])
def test_special_file_as_the_job_file_is_refused(kind, command, specials):
    res = _cli(command, specials[kind])
    assert res.returncode == 1, res.stderr
    message = _problems(res)[0]["message"] if res.stdout.strip() else res.stderr
    assert specials[kind] in message and WORDS[kind] in message


def _worker(config: str | None, env=None):
    """``proxx worker`` against a listening socket standing in for Redis: a config problem must end
    the worker before it connects (the kernel queues a connection even if it is never accepted, so
    a non-blocking accept afterwards tells whether one was made)."""
    broker = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    broker.bind(("127.0.0.1", 0))
    broker.listen(8)
    try:
        args = [PROXX, "worker", "--broker", f"redis://127.0.0.1:{broker.getsockname()[1]}/0"]
        args += ["--config", config] if config else []
        res = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=HANG_SECONDS + 3,
            stdin=subprocess.DEVNULL,
            env={**os.environ, **FAST, **(env or {})},
        )
        broker.setblocking(False)
        with pytest.raises(BlockingIOError):
            broker.accept()  # nothing connected
    finally:
        broker.close()
    return res


@pytest.mark.parametrize("kind", KINDS)
def test_special_file_as_the_node_config_ends_worker_and_watch_with_exit_1(kind, specials, tmp_path):
    res = _worker(specials[kind])
    assert res.returncode == 1, res.stderr
    assert specials[kind] in res.stderr and WORDS[kind] in res.stderr
    res = _worker(None, env={"PROXX_CONFIG": specials[kind]})
    assert res.returncode == 1 and specials[kind] in res.stderr, res.stderr
    watch = subprocess.run(
        [PROXX, "watch", str(tmp_path / "w"), "--once"],
        capture_output=True,
        text=True,
        timeout=HANG_SECONDS + 3,
        env={**os.environ, **FAST, "PROXX_CONFIG": specials[kind]},
    )
    assert watch.returncode == 1 and specials[kind] in watch.stderr and WORDS[kind] in watch.stderr, watch.stderr


def test_a_node_config_that_is_not_utf8_is_exit_1_with_the_reason(tmp_path):
    config = tmp_path / "node.toml"
    config.write_bytes('[paths]\n"/Volumes/RAID" = "/mnt/r\xe9seau"\n'.encode("latin-1"))
    res = _worker(str(config))
    assert res.returncode == 1, res.stderr
    assert "not UTF-8" in res.stderr and str(config) in res.stderr and "Traceback" not in res.stderr
    watch = subprocess.run(
        [PROXX, "watch", str(tmp_path / "w"), "--once"],
        capture_output=True,
        text=True,
        timeout=HANG_SECONDS + 3,
        env={**os.environ, **FAST, "PROXX_CONFIG": str(config)},
    )
    assert watch.returncode == 1 and "not UTF-8" in watch.stderr and "Traceback" not in watch.stderr


@pytest.mark.parametrize("field", ["sources", "output_dir", "lut", "cdl", "output_name_template"])
def test_a_nul_byte_in_a_path_is_refused_at_the_schema(field, tiny, tmp_path, write_job):
    out = tmp_path / "out"
    out.mkdir()
    doc = job_doc([tiny], out, jobspec_version="1.1.0")
    where = {
        "sources": "/sources/0",
        "output_dir": "/output_dir",
        "lut": "/look/lut",
        "cdl": "/look/cdl",
        "output_name_template": "/output_name_template",
    }[field]
    if field == "sources":
        doc["sources"] = [str(tmp_path / "a\u0000b.mov")]
    elif field in ("lut", "cdl"):
        doc["look"] = {field: str(tmp_path / "grade\u0000.cube")}
    elif field == "output_dir":
        doc["output_dir"] = str(out) + "\u0000x"
    else:
        doc["output_name_template"] = "{source_name}\u0000_proxy"
    res = _cli("validate", write_job(doc))
    assert res.returncode == 1, res.stderr
    assert any(p["path"] == where and "NUL" in p["message"] for p in _problems(res)), _problems(res)


def test_the_overwrite_conflict_message_is_capped(tiny, tmp_path, write_job):
    out = tmp_path / "out"
    out.mkdir()
    doc = job_doc([tiny], out, jobspec_version="1.1.0", existing_outputs="overwrite", overwrite=["X" * 70_000])
    res = _cli("validate", write_job(doc))
    assert res.returncode == 1
    conflict = [p for p in _problems(res) if p["path"] == "/existing_outputs"]
    assert conflict and len(conflict[0]["message"]) < 300, conflict
    assert max(len(p["message"]) for p in _problems(res)) < 1000


def test_a_lut_replaced_by_a_fifo_between_clips_is_a_change_not_a_hang(tmp_path):
    """The runner's "unchanged since validate" check (look.changed_files) before each clip."""
    from proxx_core.features.look import look_problems
    from proxx_core.support.specvalues import LookSpec

    lut = tmp_path / "grade.cube"
    lut.write_text("LUT_3D_SIZE 2\n" + "".join(f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1)))
    look, problems = look_problems(LookSpec(lut=str(lut)))
    assert look is not None and not problems
    lut.unlink()
    os.mkfifo(lut)
    from proxx_core.features.look import changed_files

    answer: list = []
    worker = threading.Thread(target=lambda: answer.append(changed_files(look)), daemon=True)
    worker.start()
    worker.join(HANG_SECONDS)
    assert not worker.is_alive(), "changed_files blocked on a FIFO"
    assert answer == [[str(lut)]]


def test_probing_a_fifo_is_refused_at_once(tmp_path):
    from proxx_core.contract.avprobe import probe_file
    from proxx_core.contract.errors import ProxxError

    fifo = tmp_path / "clip.mov"
    os.mkfifo(fifo)
    answer: list = []

    def probe():
        try:
            probe_file(fifo, probed_by="test")
        except ProxxError as exc:
            answer.append(exc)

    worker = threading.Thread(target=probe, daemon=True)
    worker.start()
    worker.join(HANG_SECONDS)
    assert not worker.is_alive(), "probe_file blocked on a FIFO"
    assert answer and answer[0].category == "unsupported_source" and "FIFO" in answer[0].message


def test_an_unusable_binary_facts_cache_is_skipped_with_a_warning(tiny, tmp_path, write_job):
    """HOME pointing at a home this user may not enter: root is made such a user by dropping
    CAP_DAC_OVERRIDE (setpriv), so the test is real on a root CI machine too."""
    setpriv = shutil.which("setpriv")
    if os.geteuid() == 0 and setpriv is None:
        pytest.skip("needs setpriv to drop root's permission override")
    home = tmp_path / "home"
    (home / ".cache" / "proxx").mkdir(parents=True)
    (home / ".cache" / "proxx").chmod(0)
    out = tmp_path / "out"
    out.mkdir()
    job = write_job(job_doc([tiny], out))
    prefix = [setpriv, "--bounding-set=-dac_override,-dac_read_search"] if os.geteuid() == 0 else []
    env = {k: v for k, v in os.environ.items() if k != "PROXX_CACHE_DIR"}
    res = subprocess.run(
        [*prefix, PROXX, "run", str(job)],
        capture_output=True,
        text=True,
        timeout=120,
        env={**env, **FAST, "HOME": str(home)},
    )
    (home / ".cache" / "proxx").chmod(0o700)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "binary-facts cache" in res.stderr and "cannot be used" in res.stderr
    assert json.loads(res.stdout)["status"] == "COMPLETED"


HUGE = "Xy" * 35_000


@pytest.mark.parametrize(
    "key",
    [
        "jobspec_version",
        "sources",
        "output_dir",
        "output_name_template",
        "proxy_profile",
        "codec",
        "container",
        "fps_mode",
        "created_at",
        "job_id",
        "engine",
        "overwrite",
        "require_builds",
        "layout",
        "raster",
        "look",
        "burn_in",
        "watermark",
        "existing_outputs",
        "unsupported_sources",
        "deliverables",
        HUGE,
    ],
)
@pytest.mark.parametrize("shape", ["string", "list", "object_key", "object_value"])
def test_no_message_echoes_a_huge_value(key, shape, tiny, tmp_path):
    """Every echoed value is cut (errors.shown): the /existing_outputs conflict once echoed 70,636 characters."""
    from proxx_core.pipeline.check import check_document
    from proxx_core.support.plugins import load_engines
    from proxx_engine_ffmpeg import plugin

    out = tmp_path / "out"
    out.mkdir()
    value = {"string": HUGE, "list": [HUGE, "/" + HUGE], "object_key": {HUGE: 1}, "object_value": {"lut": HUGE}}[shape]
    doc = job_doc([tiny], out, jobspec_version="1.1.0", existing_outputs="overwrite", overwrite=value)
    doc[key] = value
    checked = check_document(doc, load_engines(plugins=[plugin], entry_points=False))
    assert checked.exit_code == 1
    longest = max(checked.problems, key=lambda p: len(p.message))
    assert len(longest.message) < 1000, (longest.path, longest.message[:300])


def test_a_fifo_swapped_in_after_the_stat_is_refused_not_waited_on(tmp_path, monkeypatch):
    """The race safeopen closes: the path was a regular file when stat'ed and is a FIFO when opened.
    The open is non-blocking, so it returns at once, and fstat of the descriptor tells the truth."""
    from proxx_core.io import safeopen

    regular = tmp_path / "clip.mov"
    regular.write_bytes(b"x")
    fifo = tmp_path / "swapped.mov"
    os.mkfifo(fifo)
    real_stat = os.stat
    monkeypatch.setattr(
        safeopen.os, "stat", lambda p, **kw: real_stat(regular) if str(p) == str(fifo) else real_stat(p, **kw)
    )
    answer: list = []

    def attempt():
        try:
            safeopen.open_regular(fifo)
        except safeopen.NotAFile as exc:
            answer.append(exc)

    worker = threading.Thread(target=attempt, daemon=True)
    worker.start()
    worker.join(HANG_SECONDS)
    assert not worker.is_alive(), "open_regular blocked on a FIFO swapped in after its stat"
    assert answer and "replaced" in answer[0].reason and "FIFO" in answer[0].reason


def test_proxx_run_with_a_lut_replaced_by_a_fifo_between_clips_fails_the_clip_not_the_process(tiny, tmp_path):
    """The runner's own path: after the first clip, a site check (a plugin) swaps the validated .cube
    for a FIFO; the second clip must fail as io_error naming the LUT, and the run must end."""
    from proxx_core import hookimpl
    from proxx_core.pipeline.check import check_job_file
    from proxx_core.pipeline.runner import run_job
    from proxx_core.support.plugins import load_engines
    from proxx_engine_ffmpeg import plugin

    lut = tmp_path / "grade.cube"
    lut.write_text("LUT_3D_SIZE 2\n" + "".join(f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1)))

    class SwapLut:
        __name__ = "swap_lut"

        @hookimpl
        def proxx_clip_checks(self, plan):
            if lut.is_file():
                lut.unlink()
                os.mkfifo(lut)
            return []

    second = tmp_path / "second.mov"
    shutil.copyfile(tiny, second)
    out = tmp_path / "out"
    out.mkdir()
    job = tmp_path / "job.json"
    job.write_text(json.dumps(job_doc([tiny, second], out, jobspec_version="1.1.0", look={"lut": str(lut)})))
    engines = load_engines(plugins=[plugin, SwapLut()], entry_points=False)
    checked = check_job_file(job, engines)
    assert checked.job is not None, checked.problems
    answer: list = []
    worker = threading.Thread(target=lambda: answer.append(run_job(checked.job, engines, max_workers=1)), daemon=True)
    worker.start()
    worker.join(60)
    assert not worker.is_alive(), "proxx run blocked on the LUT turned FIFO"
    first, failed = answer[0].clips
    assert first.failure is None
    assert failed.failure.category == "io_error" and str(lut) in failed.failure.message, failed.failure


def _one_clip_run(engine, tmp_path: Path, source: Path, hung: str, **doc):
    """The one clip of a job of ``source`` run with only ``engine`` installed, in a thread bounded at
    30 s (a clip waiting on a FIFO would otherwise hang the test): its result; outputs in tmp/out."""
    from proxx_core import hookimpl
    from proxx_core.pipeline.check import check_job_file
    from proxx_core.pipeline.runner import run_job
    from proxx_core.support.plugins import load_engines

    class Plugin:
        __name__ = "one_engine"

        @hookimpl
        def proxx_register_engines(self, register):
            register(engine)

    out = tmp_path / "out"
    out.mkdir()
    job = tmp_path / "job.json"
    job.write_text(json.dumps(job_doc([source], out, **doc)))
    engines = load_engines(plugins=[Plugin()], entry_points=False)
    checked = check_job_file(job, engines)
    assert checked.job is not None, checked.problems
    answer: list = []
    worker = threading.Thread(target=lambda: answer.append(run_job(checked.job, engines)), daemon=True)
    worker.start()
    worker.join(30)
    assert not worker.is_alive(), hung
    (clip,) = answer[0].clips
    return clip


def test_a_source_replaced_by_a_fifo_as_the_encoder_starts_fails_the_clip_at_once(tiny, tmp_path):
    """The window the runner cannot close by checking first: the source is swapped for a FIFO after the
    last check, before the engine's command opens it by name. The command would wait for a writer
    until its deadline; the input watch stops it and the clip fails naming the source."""
    from proxx_engine_ffmpeg.engine import FFmpegEngine

    source = tmp_path / "swapped.mov"
    shutil.copyfile(tiny, source)

    class SwapsFirst(FFmpegEngine):
        def execute(self, plan, cancel, **kw):
            source.unlink()
            os.mkfifo(source)
            return super().execute(plan, cancel, **kw)

    clip = _one_clip_run(SwapsFirst(), tmp_path, source, "the clip waited on a source turned FIFO")
    assert clip.failure.category == "io_error", clip.failure
    assert str(source) in clip.failure.message and "FIFO" in clip.failure.message
    assert [p.name for p in (tmp_path / "out").iterdir()] == []  # nothing published, no temp file left


def test_a_lut_replaced_by_a_fifo_as_the_encoder_starts_fails_the_clip_at_once(tiny, tmp_path, monkeypatch):
    """The same window for the look's LUT: swapped for a FIFO after the runner's last check, before the
    watch starts and the encoder opens it by name."""
    from proxx_core.pipeline import inputwatch
    from proxx_engine_ffmpeg.engine import FFmpegEngine

    lut = tmp_path / "grade.cube"
    lut.write_text("LUT_3D_SIZE 2\n" + "".join(f"{r} {g} {b}\n" for b in (0, 1) for g in (0, 1) for r in (0, 1)))
    real_init = inputwatch.InputWatch.__init__

    def swapped_first(self, clip, job_cancel):  # the swap lands just before the watch looks
        lut.unlink()
        os.mkfifo(lut)
        real_init(self, clip, job_cancel)

    monkeypatch.setattr(inputwatch.InputWatch, "__init__", swapped_first)
    clip = _one_clip_run(
        FFmpegEngine(),
        tmp_path,
        tiny,
        "the clip waited on a LUT turned FIFO",
        jobspec_version="1.1.0",
        look={"lut": str(lut)},
    )
    assert clip.failure.category == "io_error" and str(lut) in clip.failure.message, clip.failure
    assert "FIFO" in clip.failure.message
