"""An in-process fake of DaVinci Resolve's scripting API (the surface Proxx uses).

It reproduces the *shapes and failure style* of the real API (resolve-api.md §8): ``scriptapp``
returns None instead of raising; failures are ``None``/``False``/``[]``/``{}``; methods added in
later versions are absent from ``dir()`` on older simulated versions (and, like real bridges,
calling an unknown name hands back a callable that returns None); ``StartRendering`` returns at
once and the job progresses in the background; on ``Complete`` a real media file is written with
the pinned FFmpeg binary, following the render settings and the clip's properties.

Per-test behaviour comes from a scenario (dict or JSON file)::

    {
      "running": true,                 # false: scriptapp() -> None
      "scripting": "local",            # "none": scriptapp() -> None (preference off)
      "edition": "studio",             # "free": scriptapp() -> None, unless "free_connects": true
      "free_connects": false,          # free edition answers (in-app/old builds): product "DaVinci Resolve"
      "version": [20, 2, 1, 5, ""],
      "database": true,                # false: GetCurrentDatabase() -> None, Create/LoadProject -> None
      "import_error": false,           # true: loading the module raises ImportError
      "missing_methods": ["Project.SetCurrentRenderMode"],
      "faults": {"Project.SetRenderSettings": {"return": false},
                 "Project.GetRenderJobStatus": {"hang": true, "after": 1}},
      "render": {"outcome": "ok" | "no_output" | "garbage" | "wrong_frame_count" | "failed",
                 "seconds": 0.05, "frame_delta": -1, "error": "GPU memory full"},
      "projects": ["proxx_idle"],      # projects already in the database when the simulation starts
      "current": "proxx_idle",         # the project open when the simulation starts (else Untitled Project)
      "trace": "/tmp/calls.log",       # append one line per API call ("Kind.Method") for tests to read
      "quirks": {...}                  # measured real-Resolve behaviours, each switchable (below)
    }

A fault applies to ``Kind.Method`` (or a bare method name) after ``after`` successful calls
(default 0) and, with ``times``, only for that many calls: ``return`` replaces the result,
``hang`` blocks forever (models a call parked in fusionscript's WaitPkt; only killing the process
ends it).

Quirks (resolve-api.md §1.5/§3 and issue 16; all off by default, so the default simulator follows
the documented API):

* ``blocked_switch: N`` - the next N ``CreateProject`` calls return None (the current project
  blocks the switch); loading another project still works.
* ``delete_fails_first: N`` - the first N ``DeleteProject`` calls return False.
* ``untitled_after_close: true`` - ``CloseProject`` leaves a never-saved "Untitled Project" that
  blocks ``CreateProject`` (None) and ``DeleteProject`` (False) until a named project is loaded,
  and whose ``SaveProject`` hangs (headless behaviour).
* ``ignored_render_keys: [keys]`` - ``SetRenderSettings`` returns True but does not apply them.
* ``sticky_deliver: {settings}`` - the Deliver page state (render settings, format/codec, render
  mode, queued jobs) belongs to the Resolve process, not the project: it starts with these
  settings and survives project switches.
* ``output_named_from_source: true`` - in individual-clips mode the file is named after the source
  clip, whatever ``CustomName`` says (``GetRenderJobList`` still reports the custom name).
* ``multi_mono_audio: true`` - the render writes one mono stream per source channel.
* ``framerate_single_clip_only: true`` - ``SetRenderSettings`` refuses ``FrameRate`` (False) in
  individual-clips mode, where the README does not document it.
* ``windows_loading: true`` - loading the library fails ("Python runtime failed to initialise")
  unless ``FUSION_PYTHON3_HOME`` names the home of the interpreter that loads it, like
  ``fusionscript.dll`` on a Windows machine with several Pythons.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import uuid
from fractions import Fraction
from pathlib import Path

from . import render as _render
from .sources import clip_properties, read_manifest

#: methods that only exist from a given (major, minor) version; absent from dir() before it
VERSION_GATES = {
    "Resolve.IsStudio": (21, 1),
    "MediaPoolItem.LinkFullResolutionMedia": (20, 0),
    "Project.DeleteRenderPreset": (19, 1),
    "Project.SetCurrentRenderMode": (17, 0),
    "Project.GetCurrentRenderMode": (17, 0),
    "Project.GetRenderJobStatus": (17, 0),
    "Project.DeleteRenderJob": (17, 0),
    "MediaPool.ImportMedia": (17, 0),
    "MediaPoolItem.LinkProxyMedia": (17, 0),
    "Project.GetRenderJobList": (16, 2),
    "ProjectManager.CloseProject": (16, 2),
    "ProjectManager.DeleteProject": (16, 2),
    "ProjectManager.GetCurrentDatabase": (17, 0),
}

_BOOL, _INT, _STR, _NUM = (bool,), (int,), (str,), (int, float)
#: SetRenderSettings keys, their types and the version that introduced them (README §3.1)
RENDER_KEYS = {
    "SelectAllFrames": (_BOOL, (15, 0)),
    "MarkIn": (_INT, (15, 0)),
    "MarkOut": (_INT, (15, 0)),
    "TargetDir": (_STR, (15, 0)),
    "CustomName": (_STR, (15, 0)),
    "UniqueFilenameStyle": (_INT, (17, 0)),
    "ExportVideo": (_BOOL, (17, 0)),
    "ExportAudio": (_BOOL, (17, 0)),
    "FormatWidth": (_INT, (17, 0)),
    "FormatHeight": (_INT, (17, 0)),
    "FrameRate": (_NUM, (17, 0)),
    "PixelAspectRatio": (_STR, (17, 0)),
    "VideoQuality": ((int, str), (17, 0)),
    "AudioCodec": (_STR, (17, 0)),
    "AudioBitDepth": (_INT, (17, 0)),
    "AudioSampleRate": (_INT, (17, 0)),
    "ColorSpaceTag": (_STR, (17, 0)),
    "GammaTag": (_STR, (17, 0)),
    "ExportAlpha": (_BOOL, (18, 0)),
    "EncodingProfile": (_STR, (18, 0)),
    "MultiPassEncode": (_BOOL, (18, 0)),
    "AlphaMode": (_INT, (18, 0)),
    "NetworkOptimization": (_BOOL, (18, 0)),
    "ClipStartFrame": (_INT, (18, 0)),
    "TimelineStartTimecode": (_STR, (18, 0)),
    "ReplaceExistingFilesInPlace": (_BOOL, (18, 0)),
    "ExportSubtitle": (_BOOL, (20, 2)),
    "SubtitleFormat": (_STR, (20, 2)),
    "UseFullExtents": (_BOOL, (21, 0)),
    "AddFrameHandles": (_INT, (21, 0)),
    "DataBurnIn": (_STR, (21, 0)),
}

RENDER_FORMATS = {"QuickTime": "mov", "MXF OP1A": "mxf_op1a", "MP4": "mp4", "Wave": "wav"}
RENDER_CODECS = {
    "mov": {
        "Apple ProRes 422 Proxy": "ProRes422Proxy",
        "Apple ProRes 422 LT": "ProRes422LT",
        "Apple ProRes 422": "ProRes422",
        "Apple ProRes 422 HQ": "ProRes422HQ",
        "H.264": "H264",
    },
    "mxf_op1a": {"Avid DNxHR LB": "DNxHRLB", "Avid DNxHR SQ": "DNxHRSQ", "Avid DNxHR HQ": "DNxHRHQ"},
    "mp4": {"H.264": "H264", "H.265": "H265"},
    "wav": {},
}
PROJECT_SETTINGS = {
    "timelineFrameRate": "24",
    "timelineResolutionWidth": "1920",
    "timelineResolutionHeight": "1080",
    "timelinePlaybackFrameRate": "24",
}


def load_scenario(scenario) -> dict:
    if isinstance(scenario, dict):
        return dict(scenario)
    return json.loads(Path(scenario).read_text(encoding="utf-8"))


class Simulator:
    """Shared state of one simulated Resolve process."""

    def __init__(self, scenario: dict):
        self.scenario = scenario
        v = list(scenario.get("version") or [20, 2, 1, 5, ""])
        self.version_list = v
        self.version = (int(v[0]), int(v[1]))
        self.calls: dict[str, int] = {}
        self.missing = set(scenario.get("missing_methods") or ())
        self.faults = dict(scenario.get("faults") or {})
        self.render = dict(scenario.get("render") or {})
        self.studio = scenario.get("edition", "studio") == "studio"
        self.quirks = dict(scenario.get("quirks") or {})
        self.trace = scenario.get("trace")
        self.projects: dict[str, FakeProject] = {}
        self.database = bool(scenario.get("database", True))
        #: process-wide Deliver page state, used by every project under the sticky_deliver quirk
        self.deliver = None
        if "sticky_deliver" in self.quirks:
            self.deliver = {
                "render_settings": dict(self.quirks["sticky_deliver"] or {}),
                "render_mode": 1,
                "format_codec": {"format": "mov", "codec": "H264"},
                "jobs": {},
            }
        for name in scenario.get("projects") or ():
            self.projects[name] = FakeProject(self, name)
        self.pm = FakeProjectManager(self)

    def quirk(self, name, default=None):
        return self.quirks.get(name, default)

    def consume(self, name: str) -> bool:
        """Count down a numeric quirk; True while it still applies."""
        left = int(self.quirks.get(name) or 0)
        if left <= 0:
            return False
        self.quirks[name] = left - 1
        return True

    def available(self, kind: str, name: str) -> bool:
        q = f"{kind}.{name}"
        if q in self.missing or name in self.missing:
            return False
        gate = VERSION_GATES.get(q)
        return gate is None or self.version >= gate

    def invoke(self, kind: str, name: str, fn, args, kwargs):
        q = f"{kind}.{name}"
        n = self.calls.get(q, 0)
        self.calls[q] = n + 1
        if self.trace:
            with open(self.trace, "a", encoding="utf-8") as fh:
                fh.write(f"{q} {json.dumps([_traceable(a) for a in args])}\n")
        fault = self.faults.get(q) or self.faults.get(name)
        after = int(fault.get("after", 0)) if fault else 0
        times = fault.get("times") if fault else None
        if fault and n >= after and (times is None or n < after + int(times)):
            if fault.get("hang"):
                while True:  # parked forever, like a call stuck in fusionscript; only a kill ends it
                    time.sleep(3600)
            if "return" in fault:
                return fault["return"]
        return fn(*args, **kwargs)


def _traceable(value):
    if isinstance(value, (str, int, float, bool, type(None))):
        return value
    if isinstance(value, (list, tuple)):
        return [_traceable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): _traceable(v) for k, v in value.items()}
    return getattr(value, "name", type(value).__name__)


class _Obj:
    _kind = "Object"

    def __init__(self, sim: Simulator):
        object.__setattr__(self, "_sim", sim)

    @classmethod
    def _api_names(cls):
        return sorted({n for k in cls.__mro__ for n in vars(k) if n[:1].isupper()})

    def __dir__(self):
        sim = object.__getattribute__(self, "_sim")
        kind = type(self)._kind
        return [n for n in type(self)._api_names() if sim.available(kind, n)]

    def __getattribute__(self, name):
        if name[:1].isupper():
            sim = object.__getattribute__(self, "_sim")
            kind = type(self)._kind
            if not sim.available(kind, name) or name not in type(self)._api_names():
                return lambda *a, **k: None  # real bridges fabricate callables for unknown names
            fn = object.__getattribute__(self, name)
            return lambda *a, **k: sim.invoke(kind, name, fn, a, k)
        return object.__getattribute__(self, name)


class FakeResolve(_Obj):
    _kind = "Resolve"

    def GetProjectManager(self):
        return self._sim.pm

    def GetVersion(self):
        return list(self._sim.version_list)

    def GetVersionString(self):
        v = self._sim.version_list
        return ".".join(str(x) for x in v[:4]) + (f"{v[4]}" if len(v) > 4 and v[4] else "")

    def GetProductName(self):
        return "DaVinci Resolve Studio" if self._sim.studio else "DaVinci Resolve"

    def IsStudio(self):
        return self._sim.studio

    def OpenPage(self, name):
        return name in ("media", "cut", "edit", "fusion", "color", "fairlight", "deliver")

    def Quit(self):
        return None


class FakeProjectManager(_Obj):
    _kind = "ProjectManager"

    def __init__(self, sim):
        super().__init__(sim)
        current = sim.projects.get(sim.scenario.get("current") or "")
        if current is None:
            # Resolve starts on an Untitled Project; under untitled_after_close it is one an
            # earlier CloseProject left behind, which blocks switching
            current = FakeProject(sim, "Untitled Project")
            current.blocking = bool(sim.quirk("untitled_after_close"))
        self._current = current

    def CreateProject(self, name, media_location=None):
        sim = self._sim
        if not sim.database or not name or name in sim.projects:
            return None
        if self._current.blocking or sim.consume("blocked_switch"):
            return None  # the current project (or a dialog it raised) blocks the switch
        p = FakeProject(sim, name)
        sim.projects[name] = p
        self._current = p
        return p

    def LoadProject(self, name):
        p = self._sim.projects.get(name) if self._sim.database else None
        if p is not None:
            self._current = p
        return p

    def GetCurrentProject(self):
        return self._current

    def SaveProject(self):
        if self._current.blocking:
            while True:  # headless Resolve hangs saving the never-saved Untitled Project
                time.sleep(3600)
        return self._current.name != "Untitled Project"

    def CloseProject(self, project):
        if project is self._current:
            self._current = FakeProject(self._sim, "Untitled Project")
            self._current.blocking = bool(self._sim.quirk("untitled_after_close"))
            return True
        return isinstance(project, FakeProject)

    def DeleteProject(self, name):
        if name not in self._sim.projects or self._current.name == name or self._current.blocking:
            return False
        if self._sim.consume("delete_fails_first"):
            return False
        del self._sim.projects[name]
        return True

    def GetProjectListInCurrentFolder(self):
        return sorted(self._sim.projects)

    def GetCurrentDatabase(self):
        return {"DbType": "Disk", "DbName": "Local Database"} if self._sim.database else None


class FakeProject(_Obj):
    _kind = "Project"

    def __init__(self, sim, name):
        super().__init__(sim)
        self.name = name
        #: a never-saved Untitled Project left by CloseProject under the untitled_after_close quirk
        self.blocking = False
        self.settings = dict(PROJECT_SETTINGS)
        self.media_pool = FakeMediaPool(sim, self)
        self.timelines: list[FakeTimeline] = []
        self.current_timeline = None
        self._own_deliver = {
            "render_settings": {},
            "render_mode": 1,
            "format_codec": {"format": "mov", "codec": "H264"},
            "jobs": {},
        }
        self.rendering: threading.Thread | None = None

    # Deliver page state: the project's own, or the process-wide one under the sticky_deliver quirk
    def _deliver(self):
        sim = object.__getattribute__(self, "_sim")
        return sim.deliver if sim.deliver is not None else object.__getattribute__(self, "_own_deliver")

    def _get(self, key):
        return self._deliver()[key]

    def _set(self, key, value):
        self._deliver()[key] = value

    render_settings = property(
        lambda self: self._get("render_settings"), lambda self, v: self._set("render_settings", v)
    )
    render_mode = property(lambda self: self._get("render_mode"), lambda self, v: self._set("render_mode", v))
    format_codec = property(lambda self: self._get("format_codec"), lambda self, v: self._set("format_codec", v))
    jobs = property(lambda self: self._get("jobs"))

    def GetName(self):
        return self.name

    def GetMediaPool(self):
        return self.media_pool

    def GetSetting(self, name=None):
        return dict(self.settings) if not name else self.settings.get(name, "")

    def SetSetting(self, name, value):
        if name not in self.settings or not isinstance(value, str):
            return False
        if name == "timelineFrameRate" and self.timelines:
            return False  # locked once a timeline exists
        self.settings[name] = value
        return True

    def GetTimelineCount(self):
        return len(self.timelines)

    def GetCurrentTimeline(self):
        return self.current_timeline

    def SetCurrentTimeline(self, timeline):
        if timeline not in self.timelines:
            return False
        self.current_timeline = timeline
        return True

    def GetRenderFormats(self):
        return dict(RENDER_FORMATS)

    def GetRenderCodecs(self, fmt):
        return dict(RENDER_CODECS.get(fmt, {}))

    def SetCurrentRenderFormatAndCodec(self, fmt, codec):
        if codec not in RENDER_CODECS.get(fmt, {}).values():
            return False  # labels instead of ids, unknown ids, formats without codecs
        self.format_codec = {"format": fmt, "codec": codec}
        return True

    def GetCurrentRenderFormatAndCodec(self):
        return dict(self.format_codec)

    def SetCurrentRenderMode(self, mode):
        if mode not in (0, 1):
            return False
        self.render_mode = mode
        return True

    def GetCurrentRenderMode(self):
        return self.render_mode

    _PRESETS = ("H.264 Master", "YouTube - 1080p", "Audio Only")

    def GetRenderPresetList(self):
        return list(self._PRESETS)

    def LoadRenderPreset(self, name):
        if name not in self._PRESETS:
            return False
        self.render_settings = {"ExportVideo": name != "Audio Only", "ExportAudio": True}  # clobbers everything
        return True

    def SetRenderSettings(self, settings):
        if not isinstance(settings, dict):
            return False
        for key, value in settings.items():
            spec = RENDER_KEYS.get(key)
            if spec is None or self._sim.version < spec[1]:
                return False
            types = spec[0]
            if isinstance(value, bool) and bool not in types:
                return False
            if not isinstance(value, types):
                return False
            if key == "FrameRate" and self.render_mode == 0 and self._sim.quirk("framerate_single_clip_only"):
                return False
        ignored = set(self._sim.quirk("ignored_render_keys") or ())
        # merges on top of the current Deliver state; ignored keys are "accepted" and dropped
        self.render_settings.update({k: v for k, v in settings.items() if k not in ignored})
        return True

    def AddRenderJob(self):
        target = self.render_settings.get("TargetDir")
        if not target or not Path(target).is_dir() or self.current_timeline is None:
            return None
        job_id = str(uuid.uuid4())
        ext = {"mxf_op1a": "mxf"}.get(self.format_codec["format"], self.format_codec["format"])
        name = self.render_settings.get("CustomName") or self.current_timeline.name
        self.jobs[job_id] = {
            "JobId": job_id,
            "TargetDir": target,
            "OutputFilename": f"{name}.{ext}",
            "RenderJobName": f"Job {len(self.jobs) + 1}",
            "TimelineName": self.current_timeline.name,
            "FormatWidth": self.render_settings.get("FormatWidth", 1920),
            "FormatHeight": self.render_settings.get("FormatHeight", 1080),
            "FrameRate": self.settings["timelineFrameRate"],
            "AudioBitDepth": self.render_settings.get("AudioBitDepth", 24),
            "AudioSampleRate": self.render_settings.get("AudioSampleRate", 48000),
            "IsExportVideo": self.render_settings.get("ExportVideo", True),
            "IsExportAudio": self.render_settings.get("ExportAudio", True),
            "VideoFormat": self.format_codec["format"],
            "VideoCodec": self.format_codec["codec"],
            "AudioCodec": "LinearPCM",
            "PresetName": "Custom",
            "RenderMode": self.render_mode,
            "_settings": dict(self.render_settings),
            "_timeline": self.current_timeline,
            "_project": self,
            "_status": {"JobStatus": "Ready", "CompletionPercentage": 0},
        }
        return job_id

    def StartRendering(self, *args, isInteractiveMode=False):
        ids = args[0] if args and isinstance(args[0], list) else list(args)
        if not ids or any(i not in self.jobs for i in ids) or self._in_progress():
            return False
        self.rendering = threading.Thread(target=self._render_jobs, args=(list(ids),), daemon=True)
        self.rendering.start()
        return True

    def _render_jobs(self, ids):
        for job_id in ids:
            job = self.jobs.get(job_id)
            if job is None:
                continue
            job["_status"] = {"JobStatus": "Rendering", "CompletionPercentage": 0, "EstimatedTimeRemainingInMs": 50}
            t0 = time.monotonic()
            time.sleep(float(self._sim.render.get("seconds", 0.05)))
            if job["_status"].get("JobStatus") == "Cancelled":
                continue
            try:
                error = _render.render_job(job, self, self._sim.render)
            except Exception as exc:  # pragma: no cover - a simulator bug shows as a Failed job
                error = f"simulator render error: {exc}"
            ms = int((time.monotonic() - t0) * 1000)
            if error:
                job["_status"] = {"JobStatus": "Failed", "CompletionPercentage": 37, "Error": error}
            else:
                job["_status"] = {"JobStatus": "Complete", "CompletionPercentage": 100, "TimeTakenToRenderInMs": ms}

    def IsRenderingInProgress(self):
        return self._in_progress()

    def _in_progress(self):
        return bool(self.rendering and self.rendering.is_alive())

    def GetRenderJobStatus(self, job_id):
        job = self.jobs.get(job_id)
        return dict(job["_status"]) if job else {}

    def GetRenderJobList(self):
        return [{k: v for k, v in j.items() if not k.startswith("_")} for j in self.jobs.values()]

    def DeleteRenderJob(self, job_id):
        job = self.jobs.get(job_id)
        if job is None or (self._in_progress() and job["_status"].get("JobStatus") == "Rendering"):
            return False
        del self.jobs[job_id]
        return True

    def DeleteAllRenderJobs(self):
        if self._in_progress():
            return False
        self.jobs.clear()
        return True

    def StopRendering(self):
        for job in self.jobs.values():
            if job["_status"].get("JobStatus") == "Rendering":
                job["_status"] = {"JobStatus": "Cancelled", "CompletionPercentage": 0}
        return None


class FakeFolder(_Obj):
    _kind = "Folder"

    def __init__(self, sim, name):
        super().__init__(sim)
        self.name = name
        self.clips: list[FakeMediaPoolItem] = []

    def GetName(self):
        return self.name

    def GetClipList(self):
        return list(self.clips)

    def GetSubFolderList(self):
        return []


class FakeMediaPool(_Obj):
    _kind = "MediaPool"

    def __init__(self, sim, project):
        super().__init__(sim)
        self.project = project
        self.root = FakeFolder(sim, "Master")
        self.current = self.root

    def GetRootFolder(self):
        return self.root

    def GetCurrentFolder(self):
        return self.current

    def SetCurrentFolder(self, folder):
        if not isinstance(folder, FakeFolder):
            return False
        self.current = folder
        return True

    def ImportMedia(self, items):
        imported = []
        for item in items or []:
            path = item.get("FilePath") if isinstance(item, dict) else item
            if isinstance(item, dict) and "%" in str(path):
                try:
                    path = str(path) % int(item.get("StartIndex", 0))
                except (TypeError, ValueError):
                    continue
            if not isinstance(path, str) or not Path(path).is_file():
                continue
            manifest = read_manifest(path)
            if manifest is None:
                continue  # the simulator's "decoder" only knows simulated sources
            clip = FakeMediaPoolItem(self._sim, path, manifest)
            self.current.clips.append(clip)
            imported.append(clip)
        return imported

    def DeleteClips(self, clips):
        if not isinstance(clips, list) or any(c not in self.current.clips for c in clips):
            return False
        for c in clips:
            self.current.clips.remove(c)
        return True

    def CreateTimelineFromClips(self, name, clips):
        if not clips or not isinstance(clips, list) or any(t.name == name for t in self.project.timelines):
            return None
        if any(c not in self.current.clips for c in clips):
            return None
        tl = FakeTimeline(self._sim, name, list(clips))
        self.project.timelines.append(tl)
        if self.project.current_timeline is None:
            self.project.current_timeline = tl
        return tl


class FakeMediaPoolItem(_Obj):
    _kind = "MediaPoolItem"

    def __init__(self, sim, path, manifest):
        super().__init__(sim)
        self.path = path
        self.manifest = manifest
        self.props = clip_properties(path, manifest)

    def GetName(self):
        return Path(self.path).name

    def GetMediaId(self):
        return f"sim-{abs(hash(self.path))}"

    def GetClipProperty(self, name=None):
        return dict(self.props) if not name else self.props.get(name, "")

    def LinkProxyMedia(self, proxy_path):
        if not Path(proxy_path).is_absolute() or not Path(proxy_path).is_file():
            return False
        self.props.update({"Proxy": "1080p", "Proxy Media Path": proxy_path})
        return True

    def UnlinkProxyMedia(self):
        self.props.update({"Proxy": "None", "Proxy Media Path": ""})
        return True

    def LinkFullResolutionMedia(self, path):
        return Path(path).is_file()


class FakeTimeline(_Obj):
    _kind = "Timeline"

    def __init__(self, sim, name, clips):
        super().__init__(sim)
        self.name = name
        self.clips = clips
        self.start_tc = "01:00:00:00"

    def GetName(self):
        return self.name

    def GetStartFrame(self):
        return 86400

    def GetEndFrame(self):
        return 86400 + sum(int(c.manifest["frames"]) for c in self.clips) - 1

    def GetStartTimecode(self):
        return self.start_tc

    def SetStartTimecode(self, tc):
        self.start_tc = tc
        return True


class FakeDaVinciResolveScript:
    """Stands in for the ``DaVinciResolveScript`` module (``dir()`` shows ``scriptapp``)."""

    def __init__(self, scenario):
        self.scenario = load_scenario(scenario)
        self.sim = Simulator(self.scenario)
        self._resolve = FakeResolve(self.sim)

    def __dir__(self):
        return ["scriptapp"]

    def scriptapp(self, app="Resolve", host=None):
        sc = self.scenario
        if app not in ("Resolve", "Fusion"):
            return None
        if not sc.get("running", True) or sc.get("scripting", "local") == "none":
            return None
        if sc.get("edition", "studio") == "free" and not sc.get("free_connects", False):
            return None  # the free edition refuses external callers
        fault = self.sim.faults.get("scriptapp")
        if fault and fault.get("hang"):
            while True:
                time.sleep(3600)
        return self._resolve


def module_for_scenario(scenario):
    """What ``import DaVinciResolveScript`` gives under this scenario (raises like the real one)."""
    sc = load_scenario(scenario)
    if sc.get("import_error"):
        raise ImportError("Could not locate module dependencies")
    if (sc.get("quirks") or {}).get("windows_loading"):
        home = os.environ.get("FUSION_PYTHON3_HOME")
        if not home or os.path.normcase(os.path.abspath(home)) != os.path.normcase(os.path.abspath(sys.base_prefix)):
            raise ImportError(
                f"fusionscript.dll: the Python runtime failed to initialise (FUSION_PYTHON3_HOME="
                f"{home!r}, but this process runs {sys.base_prefix!r})"
            )
    return FakeDaVinciResolveScript(sc)


def exact_timeline_rate(text: str) -> Fraction:
    from ..renderspec import exact_rate

    return exact_rate(text.replace(" DF", ""))
