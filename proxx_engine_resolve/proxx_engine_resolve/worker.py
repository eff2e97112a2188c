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

    def has(self, obj, method: str) -> bool:
        try:
            return method in dir(obj)
        except Exception:
            return False

    def __call__(self, obj, owner: str, method: str, *args):
        name = f"{owner}.{method}"
        if not self.has(obj, method):
            raise WorkerError(self.failure_category,
                              f"{name}() is not available in this DaVinci Resolve ({self.version}); "
                              f"Proxx needs DaVinci Resolve Studio {MIN_VERSION[0]}.{MIN_VERSION[1]} or newer")
        self.out.event("call", name=name, timeout=self.call_timeout)
        try:
            result = getattr(obj, method)(*args)
        except Exception as exc:  # the real API rarely raises; a raising bridge is still a failure
            raise WorkerError("engine_failed", f"{name}() raised {type(exc).__name__}: {exc}") from exc
        finally:
            self.out.event("done", name=name)
        return result


# ---------------------------------------------------------------------------------------- connect

def load_module(args):
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
        raise WorkerError("engine_unavailable", f"{exc}. Install DaVinci Resolve Studio or set "
                                                "RESOLVE_SCRIPT_LIB / RESOLVE_SCRIPT_API (docs/resolve.md)") from exc
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
        raise WorkerError("engine_unavailable",
                          f"this is {api.version} (free edition). The free edition refuses external scripting "
                          "(and from 21.1 all Python scripting); Studio-only calls return False and raise a modal "
                          "dialog. Install DaVinci Resolve Studio to render camera RAW with Proxx")
    try:
        vtuple = (int(version[0]), int(version[1]))
    except (IndexError, TypeError, ValueError):
        vtuple = (0, 0)
    if vtuple < MIN_VERSION:
        raise WorkerError("engine_unavailable",
                          f"{api.version} is too old: Proxx needs {MIN_VERSION[0]}.{MIN_VERSION[1]} or newer "
                          "(render job ids, ImportMedia); upgrade DaVinci Resolve Studio")
    pm = api(resolve, "Resolve", "GetProjectManager")
    if not pm:
        raise WorkerError("engine_unavailable", f"{api.version}: GetProjectManager() returned None "
                                                "(licensing or initialisation problem); restart Resolve")
    db = api(pm, "ProjectManager", "GetCurrentDatabase")
    if not db:
        raise WorkerError("engine_unavailable", f"{api.version}: no project database is attached "
                                                "(GetCurrentDatabase() is None, typical after an unclean shutdown); "
                                                "restart Resolve and select a database")
    return {"resolve": resolve, "pm": pm, "product": product, "version": list(version),
            "version_string": vstring, "studio": studio, "database": dict(db)}


REQUIRED_PROJECT_METHODS = (
    "GetMediaPool", "SetSetting", "SetCurrentTimeline", "SetCurrentRenderMode",
    "SetCurrentRenderFormatAndCodec", "GetRenderFormats", "GetRenderCodecs", "SetRenderSettings",
    "AddRenderJob", "StartRendering", "GetRenderJobStatus", "IsRenderingInProgress", "GetRenderJobList",
    "DeleteRenderJob", "StopRendering",
)


def cmd_check(args, out: Emitter, api: Api) -> dict:
    s = connect(args, api)
    pm = s["pm"]
    project = api(pm, "ProjectManager", "GetCurrentProject")
    if not project:
        raise WorkerError("engine_unavailable", f"{api.version}: GetCurrentProject() returned None")
    missing = [m for m in REQUIRED_PROJECT_METHODS if not api.has(project, m)]
    if missing:
        raise WorkerError("engine_unavailable",
                          f"{api.version} lacks Project.{', Project.'.join(missing)}; "
                          f"upgrade to DaVinci Resolve Studio {MIN_VERSION[0]}.{MIN_VERSION[1]} or newer")
    from .renderspec import TARGETS

    formats = api(project, "Project", "GetRenderFormats") or {}
    codecs = {}
    for fmt in sorted({t.format_id for t in TARGETS.values()}):
        if fmt in formats.values():
            codecs[fmt] = dict(api(project, "Project", "GetRenderCodecs", fmt) or {})
    profiles = sorted(t.profile for t in TARGETS.values() if t.codec_id in codecs.get(t.format_id, {}).values())
    return {"product": s["product"], "version": s["version"], "version_string": s["version_string"],
            "studio": s["studio"], "database": s["database"], "formats": dict(formats), "codecs": codecs,
            "profiles": profiles}


# ---------------------------------------------------------------------------------------- session

class Session:
    """One throw-away project per clip: created, used, closed and deleted."""

    def __init__(self, api: Api, pm, name: str):
        self.api, self.pm, self.name, self.project = api, pm, name, None

    def open(self):
        api, pm = self.api, self.pm
        project = api(pm, "ProjectManager", "CreateProject", self.name)
        if not project:
            names = api(pm, "ProjectManager", "GetProjectListInCurrentFolder") or []
            if self.name in names:
                log(f"project {self.name!r} left over from an interrupted run; deleting it")
                if not api(pm, "ProjectManager", "DeleteProject", self.name):
                    raise WorkerError("engine_failed",
                                      f"project {self.name!r} already exists and DeleteProject() refused "
                                      "(it may be open); close it in Resolve and rerun")
                project = api(pm, "ProjectManager", "CreateProject", self.name)
            if not project:
                raise WorkerError("engine_failed", f"ProjectManager.CreateProject({self.name!r}) returned None "
                                                   "(Resolve may be blocked by the current project or a dialog)")
        self.project = project
        return project

    def close(self):
        if self.project is None:
            return
        api, pm = self.api, self.pm
        try:
            if not api(pm, "ProjectManager", "CloseProject", self.project):
                log("CloseProject() returned False")
            if not api(pm, "ProjectManager", "DeleteProject", self.name):
                log(f"DeleteProject({self.name!r}) returned False; the scratch project is left in the database")
        except WorkerError as exc:
            log(f"teardown: {exc.message}")


def import_clip(api: Api, project, source: str):
    mp = api(project, "Project", "GetMediaPool")
    if not mp:
        raise WorkerError("engine_failed", "Project.GetMediaPool() returned None")
    root = api(mp, "MediaPool", "GetRootFolder")
    if not root or not api(mp, "MediaPool", "SetCurrentFolder", root):
        raise WorkerError("engine_failed", "MediaPool.SetCurrentFolder(root) failed")
    items = api(mp, "MediaPool", "ImportMedia", [import_spec(source)])
    if not items:
        raise WorkerError("unsupported_source",
                          f"Resolve could not import {source} (ImportMedia returned {items!r}): missing, offline, "
                          "or a format this Resolve build cannot decode")
    return mp, items[0]


def import_spec(source: str):
    """A plain path, or the image-sequence dict form for a numbered CinemaDNG frame."""
    import re

    p = Path(source)
    m = re.match(r"^(.*?)(\d+)(\.dng)$", p.name, re.IGNORECASE)
    if not m:
        return source
    prefix, digits, ext = m.groups()
    pat = re.compile(re.escape(prefix) + r"(\d{%d})" % len(digits) + re.escape(ext) + "$", re.IGNORECASE)
    frames = sorted(int(mm.group(1)) for f in os.listdir(p.parent) if (mm := pat.match(f)))
    if len(frames) < 2:
        return source
    return {"FilePath": str(p.parent / f"{prefix}%0{len(digits)}d{ext}"),
            "StartIndex": frames[0], "EndIndex": frames[-1]}


def clip_properties(api: Api, item) -> dict:
    props = api(item, "MediaPoolItem", "GetClipProperty")
    if not isinstance(props, dict) or not props:
        raise WorkerError("unsupported_source", f"MediaPoolItem.GetClipProperty() returned {props!r}")
    return {str(k): v for k, v in props.items()}


def cmd_probe(args, out: Emitter, api: Api) -> dict:
    s = connect(args, api)
    session = Session(api, s["pm"], args.project)
    try:
        project = session.open()
        _mp, item = import_clip(api, project, args.source)
        props = clip_properties(api, item)
    finally:
        session.close()
    return {"properties": props, "resolve": api.version}


# ---------------------------------------------------------------------------------------- render

def _expect_true(value, what: str):
    if value is not True and not (isinstance(value, bool) and value):
        raise WorkerError("engine_failed", f"{what} returned {value!r}")


def cmd_render(args, out: Emitter, api: Api) -> dict:
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
        # project settings first: the frame rate locks once a timeline exists
        for key, value in (("timelineFrameRate", resolve_rate_string(rate, args.drop_frame)),
                           ("timelineResolutionWidth", str(args.width)),
                           ("timelineResolutionHeight", str(args.height))):
            _expect_true(api(project, "Project", "SetSetting", key, value), f"Project.SetSetting({key!r}, {value!r})")
        mp, item = import_clip(api, project, args.source)
        props = clip_properties(api, item)
        frames = int(str(props.get("Frames") or "0") or 0)
        fps = props.get("FPS")
        if frames != args.frames or fps in (None, "") or exact_rate(fps) != rate:
            raise WorkerError("engine_failed",
                              f"Resolve now reports {frames} frames at {fps} fps for {args.source}; it was probed "
                              f"as {args.frames} frames at {args.frame_rate}. The source changed since planning")
        timeline = api(mp, "MediaPool", "CreateTimelineFromClips", args.project, [item])
        if not timeline:
            raise WorkerError("engine_failed", "MediaPool.CreateTimelineFromClips() returned None")
        _expect_true(api(project, "Project", "SetCurrentTimeline", timeline), "Project.SetCurrentTimeline()")
        # 0 = individual clips: one file per source clip, carrying the source's own timecode
        _expect_true(api(project, "Project", "SetCurrentRenderMode", 0), "Project.SetCurrentRenderMode(0)")
        formats = api(project, "Project", "GetRenderFormats") or {}
        if args.format not in formats.values():
            raise WorkerError("engine_failed", f"render format id {args.format!r} is not offered by {api.version}; "
                                               f"it offers {sorted(formats.values())}")
        codecs = api(project, "Project", "GetRenderCodecs", args.format) or {}
        if args.codec not in codecs.values():
            raise WorkerError("engine_failed", f"render codec id {args.codec!r} is not offered for {args.format!r} "
                                               f"by {api.version}; it offers {sorted(codecs.values())}")
        _expect_true(api(project, "Project", "SetCurrentRenderFormatAndCodec", args.format, args.codec),
                     f"Project.SetCurrentRenderFormatAndCodec({args.format!r}, {args.codec!r})")
        settings = render_settings(args, rate, scratch)
        ok = api(project, "Project", "SetRenderSettings", settings)
        if ok is not True:
            # set keys one at a time to name the rejected one
            rejected = [k for k in sorted(settings)
                        if api(project, "Project", "SetRenderSettings", {k: settings[k]}) is not True]
            raise WorkerError("engine_failed", f"Project.SetRenderSettings() returned {ok!r}; rejected keys: "
                                               f"{rejected or 'none individually (the combination was refused)'}")
        job_id = api(project, "Project", "AddRenderJob")
        if not job_id or not isinstance(job_id, str):
            raise WorkerError("engine_failed", f"Project.AddRenderJob() returned {job_id!r} (no job was queued)")
        _expect_true(api(project, "Project", "StartRendering", [job_id]), f"Project.StartRendering([{job_id!r}])")
        status = wait_for_render(args, out, api, project, job_id)
        if status.get("JobStatus") not in ("Complete", "Completed"):
            raise WorkerError("engine_failed", f"render job {job_id} ended {status.get('JobStatus')!r}: "
                                               f"{status.get('Error') or 'Resolve gave no error text'}")
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


def render_settings(args, rate: Fraction, scratch: Path) -> dict:
    settings = {
        "SelectAllFrames": True,
        "TargetDir": str(scratch),
        "CustomName": Path(args.temp_path).stem,
        "ExportVideo": True,
        "ExportAudio": args.audio_channels > 0,
        "FormatWidth": args.width,
        "FormatHeight": args.height,
        "FrameRate": float(rate),
        "PixelAspectRatio": "square",
    }
    if args.audio_channels > 0:
        settings["AudioBitDepth"] = 24
        if args.audio_sample_rate:
            settings["AudioSampleRate"] = args.audio_sample_rate
    return settings


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
                raise WorkerError("engine_failed", f"GetRenderJobStatus({job_id!r}) returned {status!r}: "
                                                   "Resolve no longer knows the job")
            if time.monotonic() > deadline:
                api(project, "Project", "StopRendering")
                raise WorkerError("timeout", f"render job {job_id} did not finish within {args.render_timeout:g} s "
                                             f"(last status {status}); rendering was stopped")
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
    raise WorkerError("engine_failed",
                      f"Resolve reported job {job_id} Complete but wrote no usable .{extension} file in {scratch} "
                      f"(job list entry {entry or 'missing'}; files there: {[p.name for p in scratch.iterdir()]})")


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
        out.event("result", ok=False, category="engine_failed",
                  message=f"worker crashed: {type(exc).__name__}: {exc}")
        return EXIT_FAILED
    out.event("result", ok=True, data=data)
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
