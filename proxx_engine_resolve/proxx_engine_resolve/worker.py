"""The supervised worker: the only process that ever talks to DaVinci Resolve.

Run as ``python -m proxx_engine_resolve.worker {check|probe|render} [options]``; that argv is the
command recorded in the clip's result. The parent (:mod:`proxx_engine_resolve.supervisor`) kills
this process when a deadline passes, because a call parked inside fusionscript cannot be
interrupted from Python (resolve-api.md §1.5).

Protocol on stdout, one JSON object per line (stderr carries a human log whose tail is recorded):

* ``{"ev": "call", "name": "Project.AddRenderJob", "timeout": 60}`` before every Resolve call and
  ``{"ev": "done", "name": ...}`` after it: the parent enforces the per-call deadline;
* ``{"ev": "wait", "name": "render", "timeout": 600}`` / ``{"ev": "wait_done", ...}`` around
  the render poll loop: the parent enforces the per-render deadline;
* exactly one final ``{"ev": "result", "ok": true, "data": {...}}`` or
  ``{"ev": "result", "ok": false, "category": ..., "message": ...}``.

Every Resolve call's return is checked: the API signals failure with ``None``/``False``/``[]``/
``{}`` and almost never raises. Methods are feature-detected with ``dir()`` (a bare ``hasattr`` is
always True on Resolve objects).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sys
import time
from fractions import Fraction
from pathlib import Path

EXIT_OK, EXIT_UNAVAILABLE, EXIT_FAILED, EXIT_TIMEOUT, EXIT_USAGE = 0, 3, 4, 5, 64
MIN_VERSION = (17, 0)
#: ImportMedia's image-sequence dict form ({"FilePath", "StartIndex", "EndIndex"}) is documented in the
#: 2026 README and absent from 17.0's; no copy we hold pins the release in between, so CinemaDNG asks
#: for the oldest major we can vouch for (docs/resolve.md, "First real run", can lower it with evidence)
CINEMADNG_MIN_VERSION = (20, 0)


class WorkerError(Exception):
    def __init__(self, category: str, message: str):
        super().__init__(message)
        self.category = category
        self.message = message


class Emitter:
    def __init__(self, stream):
        self.stream = stream

    def event(self, ev: str, **fields):
        self.stream.write(json.dumps({"ev": ev, **fields}, sort_keys=True) + "\n")
        self.stream.flush()


def log(msg: str) -> None:
    sys.stderr.write(f"[resolve-worker] {msg}\n")
    sys.stderr.flush()


class Api:
    """Calls Resolve methods one at a time, announcing each so the parent can enforce deadlines."""

    def __init__(self, out: Emitter, call_timeout: float, failure_category: str):
        self.out = out
        self.call_timeout = call_timeout
        #: category for a missing method: engine_unavailable when checking, engine_failed when rendering
        self.failure_category = failure_category
        self.version = "unknown version"
        self.version_tuple = (0, 0)

    def has(self, obj, method: str) -> bool:
        try:
            return method in dir(obj)
        except Exception:
            return False

    def __call__(self, obj, owner: str, method: str, *args):
        name = f"{owner}.{method}"
        if not self.has(obj, method):
            raise WorkerError(
                self.failure_category,
                f"{name}() is not available in this DaVinci Resolve ({self.version}); "
                f"Proxx needs DaVinci Resolve Studio {MIN_VERSION[0]}.{MIN_VERSION[1]} or newer",
            )
        self.out.event("call", name=name, timeout=self.call_timeout)
        try:
            result = getattr(obj, method)(*args)
        except Exception as exc:  # the real API rarely raises; a raising bridge is still a failure
            raise WorkerError("engine_failed", f"{name}() raised {type(exc).__name__}: {exc}") from exc
        finally:
            self.out.event("done", name=name)
        return result


# ---------------------------------------------------------------------------------------- connect


def pin_python_home() -> None:
    """fusionscript picks its Python runtime from FUSION_PYTHON3_HOME (else the registry on Windows);
    with several Pythons installed the wrong one crashes or fails to initialise. Point it at the
    interpreter running this worker before the library is loaded (the supervisor already sets it in
    the child's environment; this covers a worker started by hand)."""
    home = sys.base_prefix
    if os.environ.get("FUSION_PYTHON3_HOME") != home:
        log(f"note: FUSION_PYTHON3_HOME set to {home} (was {os.environ.get('FUSION_PYTHON3_HOME')!r})")
        os.environ["FUSION_PYTHON3_HOME"] = home


def load_module(args):
    pin_python_home()
    if args.backend == "simulator":
        from .simulator import module_for_scenario

        return module_for_scenario(args.scenario)
    from .discovery import find_library, load_scripting_module, not_installed_reason

    d = find_library()
    if not d.library and not d.script_api:
        raise WorkerError("engine_unavailable", not_installed_reason(d))
    return load_scripting_module(d)


NOT_CONNECTED = (
    "DaVinci Resolve did not accept the scripting connection (scriptapp('Resolve') returned None). "
    "One of: (1) Resolve is not running - start it (headless: 'resolve -nogui' on Linux, "
    "'\"DaVinci Resolve.app/Contents/MacOS/Resolve\" -nogui' on macOS, 'Resolve.exe -nogui' on Windows) "
    "and wait until it has finished starting; (2) Preferences > System > General > 'External scripting using' "
    "is None - set it to Local; (3) this is the free DaVinci Resolve, which refuses external scripting - "
    "Proxx's Resolve engine needs DaVinci Resolve Studio"
)


def connect(args, api: Api) -> dict:
    """Connect and check the edition/version/database. Returns session facts."""
    try:
        dvr = load_module(args)
    except ImportError as exc:
        raise WorkerError(
            "engine_unavailable",
            f"{exc}. Install DaVinci Resolve Studio or set RESOLVE_SCRIPT_LIB / RESOLVE_SCRIPT_API (docs/resolve.md)",
        ) from exc
    resolve = api(dvr, "DaVinciResolveScript", "scriptapp", "Resolve")
    if resolve is None:
        raise WorkerError("engine_unavailable", NOT_CONNECTED)
    product = api(resolve, "Resolve", "GetProductName") or ""
    version = api(resolve, "Resolve", "GetVersion") or []
    vstring = api(resolve, "Resolve", "GetVersionString") or ".".join(str(v) for v in version[:4])
    api.version = f"{product or 'DaVinci Resolve'} {vstring}".strip()
    if api.has(resolve, "IsStudio"):
        studio = bool(api(resolve, "Resolve", "IsStudio"))
    else:
        studio = "studio" in str(product).lower()
    if not studio:
        raise WorkerError(
            "engine_unavailable",
            f"this is {api.version} (free edition). The free edition refuses external scripting "
            "(and from 21.1 all Python scripting); Studio-only calls return False and raise a modal "
            "dialog. Install DaVinci Resolve Studio to render camera RAW with Proxx",
        )
    try:
        vtuple = (int(version[0]), int(version[1]))
    except (IndexError, TypeError, ValueError):
        vtuple = (0, 0)
    api.version_tuple = vtuple
    if vtuple < MIN_VERSION:
        raise WorkerError(
            "engine_unavailable",
            f"{api.version} is too old: Proxx needs {MIN_VERSION[0]}.{MIN_VERSION[1]} or newer "
            "(render job ids, ImportMedia); upgrade DaVinci Resolve Studio",
        )
    pm = api(resolve, "Resolve", "GetProjectManager")
    if not pm:
        raise WorkerError(
            "engine_unavailable",
            f"{api.version}: GetProjectManager() returned None (licensing or initialisation problem); restart Resolve",
        )
    db = api(pm, "ProjectManager", "GetCurrentDatabase")
    if not db:
        raise WorkerError(
            "engine_unavailable",
            f"{api.version}: no project database is attached "
            "(GetCurrentDatabase() is None, typical after an unclean shutdown); "
            "restart Resolve and select a database",
        )
    return {
        "resolve": resolve,
        "pm": pm,
        "product": product,
        "version": list(version),
        "version_string": vstring,
        "studio": studio,
        "database": dict(db),
    }


REQUIRED_PROJECT_METHODS = (
    "GetMediaPool",
    "SetSetting",
    "SetCurrentTimeline",
    "SetCurrentRenderMode",
    "SetCurrentRenderFormatAndCodec",
    "GetRenderFormats",
    "GetRenderCodecs",
    "SetRenderSettings",
    "AddRenderJob",
    "StartRendering",
    "GetRenderJobStatus",
    "IsRenderingInProgress",
    "GetRenderJobList",
    "DeleteRenderJob",
    "StopRendering",
)


def cmd_check(args, out: Emitter, api: Api) -> dict:
    s = connect(args, api)
    pm = s["pm"]
    project = api(pm, "ProjectManager", "GetCurrentProject")
    if not project:
        raise WorkerError("engine_unavailable", f"{api.version}: GetCurrentProject() returned None")
    missing = [m for m in REQUIRED_PROJECT_METHODS if not api.has(project, m)]
    if missing:
        raise WorkerError(
            "engine_unavailable",
            f"{api.version} lacks Project.{', Project.'.join(missing)}; "
            f"upgrade to DaVinci Resolve Studio {MIN_VERSION[0]}.{MIN_VERSION[1]} or newer",
        )
    from .renderspec import TARGETS

    formats = api(project, "Project", "GetRenderFormats") or {}
    codecs = {}
    for fmt in sorted({t.format_id for t in TARGETS.values()}):
        if fmt in formats.values():
            codecs[fmt] = dict(api(project, "Project", "GetRenderCodecs", fmt) or {})
    profiles = sorted(t.profile for t in TARGETS.values() if t.codec_id in codecs.get(t.format_id, {}).values())
    return {
        "product": s["product"],
        "version": s["version"],
        "version_string": s["version_string"],
        "studio": s["studio"],
        "database": s["database"],
        "formats": dict(formats),
        "codecs": codecs,
        "profiles": profiles,
    }


# ---------------------------------------------------------------------------------------- session

IDLE_PROJECT = "proxx_idle"
DELETE_ATTEMPTS = 3
DELETE_BACKOFF_SECONDS = 0.25
BLOCKED_ADVICE = (
    "Resolve is probably showing a dialog no script can dismiss (a save prompt, an upsell, a "
    "missing-media warning): dismiss it on the Resolve machine, or restart Resolve, then rerun"
)


def current_project_name(api: Api, pm) -> str | None:
    project = api(pm, "ProjectManager", "GetCurrentProject")
    if not project or not api.has(project, "GetName"):
        return None
    return api(project, "Project", "GetName")


def ensure_idle(api: Api, pm):
    """Make Proxx's named idle project current (creating it the first time) and return it.

    Switching always starts from and returns to this clean, saved project: never from the
    never-saved "Untitled Project" that ``CloseProject`` leaves, which can block switches and
    whose ``SaveProject`` hangs headless (resolve-api.md §1.5)."""
    if current_project_name(api, pm) == IDLE_PROJECT:
        return api(pm, "ProjectManager", "GetCurrentProject")
    project = api(pm, "ProjectManager", "LoadProject", IDLE_PROJECT)
    if project:
        return project
    for attempt in (1, 2):  # a blocked switch is retried once, as for the clip's own project
        project = api(pm, "ProjectManager", "CreateProject", IDLE_PROJECT)
        if project:
            log(f"created the idle project {IDLE_PROJECT!r}" + (" (on retry)" if attempt > 1 else ""))
            return project
    raise WorkerError(
        "engine_failed",
        f"project switch blocked: Resolve is on {current_project_name(api, pm)!r} and neither "
        f"LoadProject nor CreateProject({IDLE_PROJECT!r}) succeeded (both returned None). If that is a "
        "never-saved 'Untitled Project', open or create any named project in Resolve's Project Manager "
        f"so Proxx can create its idle project; otherwise {BLOCKED_ADVICE}",
    )


def delete_project(api: Api, pm, name: str) -> bool:
    """DeleteProject with a bounded retry: it often fails on the first try right after a switch."""
    for attempt in range(1, DELETE_ATTEMPTS + 1):
        if api(pm, "ProjectManager", "DeleteProject", name):
            if attempt > 1:
                log(f"note: DeleteProject({name!r}) succeeded on retry {attempt}")
            return True
        if attempt < DELETE_ATTEMPTS:
            log(f"DeleteProject({name!r}) returned False (attempt {attempt}/{DELETE_ATTEMPTS}); retry")
            time.sleep(DELETE_BACKOFF_SECONDS * attempt)
    log(
        f"note: DeleteProject({name!r}) returned False {DELETE_ATTEMPTS} times; the scratch project is left in "
        "the database (delete it in Resolve's Project Manager; a rerun replaces it)"
    )
    return False


class Session:
    """One project per clip: created from the idle project, used, torn down by loading the idle
    project and deleting the clip's project (never ``CloseProject``)."""

    def __init__(self, api: Api, pm, name: str):
        self.api, self.pm, self.name, self.project = api, pm, name, None

    def _create(self):
        return self.api(self.pm, "ProjectManager", "CreateProject", self.name)

    def open(self):
        api, pm = self.api, self.pm
        ensure_idle(api, pm)
        project = self._create()
        if not project:
            names = api(pm, "ProjectManager", "GetProjectListInCurrentFolder") or []
            if self.name in names:
                log(f"project {self.name!r} left over from an interrupted run; deleting it")
                if not delete_project(api, pm, self.name):
                    raise WorkerError(
                        "engine_failed",
                        f"project {self.name!r} already exists and DeleteProject() refused "
                        "(it may be open); delete it in Resolve's Project Manager and rerun",
                    )
            else:
                log(
                    f"project switch blocked: CreateProject({self.name!r}) returned None; "
                    f"recovering once by loading the idle project {IDLE_PROJECT!r}"
                )
                api(pm, "ProjectManager", "LoadProject", IDLE_PROJECT)
            project = self._create()
            if project:
                log(f"note: recovered from a blocked project switch (CreateProject({self.name!r}) succeeded on retry)")
        if not project:
            raise WorkerError(
                "engine_failed",
                f"project switch blocked: ProjectManager.CreateProject({self.name!r}) returned None, "
                f"also after loading the idle project {IDLE_PROJECT!r}; {BLOCKED_ADVICE}",
            )
        self.project = project
        return project

    def close(self):
        if self.project is None:
            return
        api, pm = self.api, self.pm
        try:
            ensure_idle(api, pm)  # leaving the clip's project is what lets DeleteProject remove it
            delete_project(api, pm, self.name)
        except WorkerError as exc:
            log(f"teardown: {exc.message}")


def import_clip(api: Api, project, source: str):
    mp = api(project, "Project", "GetMediaPool")
    if not mp:
        raise WorkerError("engine_failed", "Project.GetMediaPool() returned None")
    root = api(mp, "MediaPool", "GetRootFolder")
    if not root or not api(mp, "MediaPool", "SetCurrentFolder", root):
        raise WorkerError("engine_failed", "MediaPool.SetCurrentFolder(root) failed")
    spec = import_spec(source)
    if isinstance(spec, dict) and api.version_tuple < CINEMADNG_MIN_VERSION:
        raise WorkerError(
            "engine_unavailable",
            f"{source} is a CinemaDNG sequence; importing sequences needs DaVinci Resolve Studio "
            f"{CINEMADNG_MIN_VERSION[0]}.{CINEMADNG_MIN_VERSION[1]} or newer, this is {api.version}",
        )
    items = api(mp, "MediaPool", "ImportMedia", [spec])
    if not items:
        raise WorkerError(
            "unsupported_source",
            f"Resolve could not import {source} (ImportMedia returned {items!r}): missing, offline, "
            "or a format this Resolve build cannot decode",
        )
    return mp, items[0]


def import_spec(source: str):
    """A plain path, or the image-sequence dict form for a numbered CinemaDNG frame."""
    import re

    p = Path(source)
    m = re.match(r"^(.*?)(\d+)(\.dng)$", p.name, re.IGNORECASE)
    if not m:
        return source
    prefix, digits, ext = m.groups()
    pat = re.compile(re.escape(prefix) + rf"(\d{{{len(digits)}}})" + re.escape(ext) + "$", re.IGNORECASE)
    frames = sorted(int(mm.group(1)) for f in os.listdir(p.parent) if (mm := pat.match(f)))
    if len(frames) < 2:
        return source
    return {
        "FilePath": str(p.parent / f"{prefix}%0{len(digits)}d{ext}"),
        "StartIndex": frames[0],
        "EndIndex": frames[-1],
    }


def clip_properties(api: Api, item) -> dict:
    props = api(item, "MediaPoolItem", "GetClipProperty")
    if not isinstance(props, dict) or not props:
        raise WorkerError("unsupported_source", f"MediaPoolItem.GetClipProperty() returned {props!r}")
    return {str(k): v for k, v in props.items()}


def cmd_probe(args, out: Emitter, api: Api) -> dict:
    """Probe inside the idle project (no project switch): import, read, remove the clip again."""
    s = connect(args, api)
    project = ensure_idle(api, s["pm"])
    mp, item = import_clip(api, project, args.source)
    try:
        props = clip_properties(api, item)
    finally:
        if not api.has(mp, "DeleteClips") or not api(mp, "MediaPool", "DeleteClips", [item]):
            log(f"MediaPool.DeleteClips() failed: {args.source} stays in the idle project's media pool")
    return {"properties": props, "resolve": api.version}


# ---------------------------------------------------------------------------------------- render


def _expect_true(value, what: str):
    if value is not True and not (isinstance(value, bool) and value):
        raise WorkerError("engine_failed", f"{what} returned {value!r}")


# the Resolve scripting sequence of one render, in the order the API needs it, each step's failure worded
def cmd_render(args, out: Emitter, api: Api) -> dict:  # noqa: C901
    from .renderspec import exact_rate, resolve_rate_string

    rate = Fraction(args.frame_rate)
    s = connect(args, api)
    session = Session(api, s["pm"], args.project)
    scratch = Path(args.scratch_dir)
    if scratch.exists():
        shutil.rmtree(scratch)
    scratch.mkdir(parents=True)
    job_id = None
    project = None
    try:
        project = session.open()
        # project settings first: the frame rate locks once a timeline exists. The timeline rate is
        # what an individual-clips render uses, so FrameRate is not sent as a render setting (the
        # README documents it for single-clip renders only); it is read back here instead.
        for key, value in (
            ("timelineFrameRate", resolve_rate_string(rate, args.drop_frame)),
            ("timelineResolutionWidth", str(args.width)),
            ("timelineResolutionHeight", str(args.height)),
        ):
            _expect_true(api(project, "Project", "SetSetting", key, value), f"Project.SetSetting({key!r}, {value!r})")
        if api.has(project, "GetSetting"):
            got = api(project, "Project", "GetSetting", "timelineFrameRate")
            if str(got or "").strip() != resolve_rate_string(rate, args.drop_frame):
                asked = resolve_rate_string(rate, args.drop_frame)
                raise WorkerError("engine_failed", f"Resolve accepted timelineFrameRate={asked!r} but reports {got!r}")
            log(f"note: FrameRate not sent; the timeline rate {got!r} (read back) sets the render rate")
        mp, item = import_clip(api, project, args.source)
        props = clip_properties(api, item)
        frames = int(str(props.get("Frames") or "0") or 0)
        fps = props.get("FPS")
        if frames != args.frames or fps in (None, "") or exact_rate(fps) != rate:
            raise WorkerError(
                "engine_failed",
                f"Resolve now reports {frames} frames at {fps} fps for {args.source}; it was probed "
                f"as {args.frames} frames at {args.frame_rate}. The source changed since planning",
            )
        timeline = api(mp, "MediaPool", "CreateTimelineFromClips", args.project, [item])
        if not timeline:
            raise WorkerError("engine_failed", "MediaPool.CreateTimelineFromClips() returned None")
        _expect_true(api(project, "Project", "SetCurrentTimeline", timeline), "Project.SetCurrentTimeline()")
        reset_deliver(api, project)
        # 0 = individual clips: one file per source clip, carrying the source's own timecode
        _expect_true(api(project, "Project", "SetCurrentRenderMode", 0), "Project.SetCurrentRenderMode(0)")
        if api.has(project, "GetCurrentRenderMode"):
            mode = api(project, "Project", "GetCurrentRenderMode")
            if mode != 0:
                raise WorkerError("engine_failed", f"Resolve accepted SetCurrentRenderMode(0) but reports {mode!r}")
        formats = api(project, "Project", "GetRenderFormats") or {}
        if args.format not in formats.values():
            raise WorkerError(
                "engine_failed",
                f"render format id {args.format!r} is not offered by {api.version}; "
                f"it offers {sorted(formats.values())}",
            )
        codecs = api(project, "Project", "GetRenderCodecs", args.format) or {}
        if args.codec not in codecs.values():
            raise WorkerError(
                "engine_failed",
                f"render codec id {args.codec!r} is not offered for {args.format!r} "
                f"by {api.version}; it offers {sorted(codecs.values())}",
            )
        _expect_true(
            api(project, "Project", "SetCurrentRenderFormatAndCodec", args.format, args.codec),
            f"Project.SetCurrentRenderFormatAndCodec({args.format!r}, {args.codec!r})",
        )
        if api.has(project, "GetCurrentRenderFormatAndCodec"):
            fc = api(project, "Project", "GetCurrentRenderFormatAndCodec") or {}
            if (fc.get("format"), fc.get("codec")) != (args.format, args.codec):
                raise WorkerError(
                    "engine_failed",
                    f"Resolve accepted SetCurrentRenderFormatAndCodec({args.format!r}, "
                    f"{args.codec!r}) but reports {fc!r}",
                )
        settings = render_settings(args, rate, scratch)
        ok = api(project, "Project", "SetRenderSettings", settings)
        if ok is not True:
            # set keys one at a time to name the rejected one
            rejected = [
                k
                for k in sorted(settings)
                if api(project, "Project", "SetRenderSettings", {k: settings[k]}) is not True
            ]
            raise WorkerError(
                "engine_failed",
                f"Project.SetRenderSettings() returned {ok!r}; rejected keys: "
                f"{rejected or 'none individually (the combination was refused)'}",
            )
        job_id = api(project, "Project", "AddRenderJob")
        if not job_id or not isinstance(job_id, str):
            raise WorkerError("engine_failed", f"Project.AddRenderJob() returned {job_id!r} (no job was queued)")
        check_queued_job(api, project, job_id, settings, args, rate)
        _expect_true(api(project, "Project", "StartRendering", [job_id]), f"Project.StartRendering([{job_id!r}])")
        status = wait_for_render(args, out, api, project, job_id)
        if status.get("JobStatus") not in ("Complete", "Completed"):
            raise WorkerError(
                "engine_failed",
                f"render job {job_id} ended {status.get('JobStatus')!r}: "
                f"{status.get('Error') or 'Resolve gave no error text'}",
            )
        produced = find_output(api, project, job_id, scratch, args.extension)
        Path(args.temp_path).parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(produced), args.temp_path)
        log(f"moved {produced} -> {args.temp_path}")
        return {"job_id": job_id, "status": status, "clip_properties": props, "resolve": api.version}
    finally:
        if project is not None and job_id:
            try:
                api(project, "Project", "DeleteRenderJob", job_id)
            except WorkerError as exc:
                log(f"teardown: {exc.message}")
        session.close()
        shutil.rmtree(scratch, ignore_errors=True)


def reset_deliver(api: Api, project) -> None:
    """Start every job from an empty queue: the Deliver page keeps state between jobs (issue 16).
    The settings themselves are reset by sending every key that shapes the output (render_settings)."""
    if api.has(project, "DeleteAllRenderJobs") and not api(project, "Project", "DeleteAllRenderJobs"):
        log(
            "Project.DeleteAllRenderJobs() returned False; queued jobs of an earlier run remain (only this job renders)"
        )


def render_settings(args, rate: Fraction, scratch: Path) -> dict:
    """The full set of keys that shape a proxy, every one explicit so nothing sticky leaks in."""
    settings = {
        "SelectAllFrames": True,
        "TargetDir": str(scratch),
        "CustomName": Path(args.temp_path).stem,
        "ExportVideo": True,
        "ExportAudio": args.audio_channels > 0,
        "FormatWidth": args.width,
        "FormatHeight": args.height,
        "PixelAspectRatio": "square",
    }
    if args.audio_channels > 0:
        settings["AudioBitDepth"] = 24
        if args.audio_sample_rate:
            settings["AudioSampleRate"] = args.audio_sample_rate
    return settings


#: GetRenderJobList keys that echo a setting we sent (older builds return fewer keys: only present ones count)
_ECHOED = (
    ("FormatWidth", "FormatWidth"),
    ("FormatHeight", "FormatHeight"),
    ("IsExportVideo", "ExportVideo"),
    ("IsExportAudio", "ExportAudio"),
    ("AudioSampleRate", "AudioSampleRate"),
    ("AudioBitDepth", "AudioBitDepth"),
    ("TargetDir", "TargetDir"),
)


def _same(asked, got) -> bool:
    if isinstance(asked, bool):
        return str(got).strip().lower() in (("true", "1") if asked else ("false", "0"))
    if isinstance(asked, int):
        try:
            return int(float(str(got))) == asked
        except ValueError:
            return False
    if isinstance(asked, str) and ("/" in asked or "\\" in asked):
        return os.path.normcase(os.path.abspath(str(got))) == os.path.normcase(os.path.abspath(asked))
    return str(got) == str(asked)


def check_queued_job(api: Api, project, job_id: str, settings: dict, args, rate: Fraction) -> None:
    """Read the settings back from the queued job: Resolve sometimes accepts a key and ignores it.
    There is no GetRenderSettings; the job list is the only read-back the API offers."""
    from .renderspec import exact_rate

    jobs = api(project, "Project", "GetRenderJobList") or []
    entry = next((j for j in jobs if isinstance(j, dict) and j.get("JobId") == job_id), None)
    if entry is None:
        raise WorkerError("engine_failed", f"render job {job_id} is not in GetRenderJobList() right after AddRenderJob")
    ignored = []
    for list_key, key in _ECHOED:
        if key in settings and list_key in entry and not _same(settings[key], entry[list_key]):
            ignored.append(f"{key} (asked {settings[key]!r}, the queued job has {entry[list_key]!r})")
    if entry.get("VideoFormat") not in (None, args.format) or entry.get("VideoCodec") not in (None, args.codec):
        ignored.append(
            f"format/codec (asked {args.format}/{args.codec}, the queued job has "
            f"{entry.get('VideoFormat')}/{entry.get('VideoCodec')})"
        )
    if entry.get("FrameRate") not in (None, ""):
        try:
            job_rate = exact_rate(str(entry["FrameRate"]).replace(" DF", ""))
        except (ValueError, ZeroDivisionError):
            job_rate = None
        if job_rate is not None and job_rate != rate:
            ignored.append(f"frame rate (source {args.frame_rate}, the queued job has {entry['FrameRate']!r})")
    if ignored:
        raise WorkerError(
            "engine_failed",
            "Resolve accepted the render settings but ignored: "
            + "; ".join(ignored)
            + ". The Deliver page kept other values; nothing was rendered",
        )


def wait_for_render(args, out: Emitter, api: Api, project, job_id: str) -> dict:
    out.event("wait", name="render", timeout=args.render_timeout)
    deadline = time.monotonic() + args.render_timeout
    status: dict = {}
    try:
        while True:
            status = api(project, "Project", "GetRenderJobStatus", job_id) or {}
            in_progress = api(project, "Project", "IsRenderingInProgress")
            state = status.get("JobStatus")
            if not in_progress and state in ("Complete", "Completed", "Failed", "Cancelled", "Canceled"):
                return status
            if not status:
                raise WorkerError(
                    "engine_failed",
                    f"GetRenderJobStatus({job_id!r}) returned {status!r}: Resolve no longer knows the job",
                )
            if time.monotonic() > deadline:
                api(project, "Project", "StopRendering")
                raise WorkerError(
                    "timeout",
                    f"render job {job_id} did not finish within {args.render_timeout:g} s "
                    f"(last status {status}); rendering was stopped",
                )
            out.event("progress", percent=status.get("CompletionPercentage"))
            time.sleep(args.poll_seconds)
    finally:
        out.event("wait_done", name="render")


def find_output(api: Api, project, job_id: str, scratch: Path, extension: str) -> Path:
    jobs = api(project, "Project", "GetRenderJobList") or []
    entry = next((j for j in jobs if isinstance(j, dict) and j.get("JobId") == job_id), {})
    candidates = []
    if entry.get("OutputFilename"):
        candidates.append(Path(entry.get("TargetDir") or scratch, entry["OutputFilename"]))
    files = sorted(p for p in scratch.iterdir() if p.is_file() and p.suffix.lower() == f".{extension}")
    for p in candidates + files:
        if p.is_file() and p.resolve().parent == scratch.resolve() and p.stat().st_size > 0:
            return p
    raise WorkerError(
        "engine_failed",
        f"Resolve reported job {job_id} Complete but wrote no usable .{extension} file in {scratch} "
        f"(job list entry {entry or 'missing'}; files there: {[p.name for p in scratch.iterdir()]})",
    )


# ---------------------------------------------------------------------------------------- main


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m proxx_engine_resolve.worker")
    p.add_argument("command", choices=("check", "probe", "render"))
    p.add_argument("--backend", choices=("resolve", "simulator"), default="resolve")
    p.add_argument("--scenario", help="simulator scenario JSON (simulator backend only)")
    p.add_argument("--call-timeout", type=float, default=60.0)
    p.add_argument("--source")
    p.add_argument("--project", help="name of the throw-away Resolve project")
    p.add_argument("--temp-path")
    p.add_argument("--scratch-dir")
    p.add_argument("--format")
    p.add_argument("--codec")
    p.add_argument("--extension")
    p.add_argument("--width", type=int)
    p.add_argument("--height", type=int)
    p.add_argument("--frame-rate")
    p.add_argument("--drop-frame", action="store_true")
    p.add_argument("--frames", type=int)
    p.add_argument("--audio-channels", type=int, default=0)
    p.add_argument("--audio-sample-rate", type=int)
    p.add_argument("--render-timeout", type=float, default=3600.0)
    p.add_argument("--poll-seconds", type=float, default=0.5)
    return p


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    out = Emitter(sys.stdout)
    api = Api(out, args.call_timeout, "engine_failed" if args.command == "render" else "engine_unavailable")
    handler = {"check": cmd_check, "probe": cmd_probe, "render": cmd_render}[args.command]
    try:
        data = handler(args, out, api)
    except WorkerError as exc:
        log(f"{exc.category}: {exc.message}")
        out.event("result", ok=False, category=exc.category, message=exc.message)
        return {"engine_unavailable": EXIT_UNAVAILABLE, "timeout": EXIT_TIMEOUT}.get(exc.category, EXIT_FAILED)
    except Exception as exc:  # a bug or an unexpected bridge error: still one clear result line
        import traceback

        traceback.print_exc()
        out.event("result", ok=False, category="engine_failed", message=f"worker crashed: {type(exc).__name__}: {exc}")
        return EXIT_FAILED
    out.event("result", ok=True, data=data)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
