"""Several renditions of one source from one decode (JobSpec 1.2 ``renditions``, contract 1.3).

One ffmpeg process reads the source once; its decoder feeds every rendition's output, each with the
exact per-output arguments (``-map``, ``-vf`` chain, encoder, muxer) of that rendition's own command
(:func:`.commands.output_argv`, :func:`.opatom.opatom_outputs`). FFmpeg decodes an input stream once
for all the outputs that map it and gives each its own filter graph, which is a ``split`` of the
decoded frames without one in the graph text: each output keeps the simple filter graph of a
single-rendition job, so its bytes are the single job's (tested per profile in
tests/ffmpeg/test_renditions_bytes.py).

AAC is still made in its own pass with ``-cpuflags 0`` (commands.needs_audio_pass); renditions whose
audio passes would be the same command but for the file they write share one pass.
"""

from __future__ import annotations

from proxx_core import ClipPlan, ClipRequest, Command, TogetherPlan

from .commands import (
    _audio_args,
    _video_args,
    audio_temp_path,
    input_argv,
    needs_audio_pass,
    output_argv,
    timeout_for,
)
from .opatom import opatom_outputs
from .overlays import FONT_NAME, FONT_SHA256

AUDIO_PURPOSE = "ffmpeg audio encode"


def plan_together(engine: str, plans: tuple[ClipPlan, ...]) -> TogetherPlan | None:
    """One command making every plan's outputs, after the audio passes they need; None when the
    renditions cannot share a decode byte-identically (a rotated source: the OP-Atom command lets
    FFmpeg rotate, the others keep the stored raster and its flag)."""
    requests = [p.request for p in plans]
    first = requests[0]
    video = first.source_info.video
    if len(plans) < 2 or video is None or video.rotation or any(r.source != first.source for r in requests):
        return None
    ffmpeg = plans[0].commands[-1].argv[0]
    audio_owner: dict[tuple[str, ...], ClipRequest] = {}  # the pass's arguments -> the rendition that owns it
    passes: list[Command] = []
    for plan in plans:
        if needs_audio_pass(plan.request):
            key = tuple(_audio_args(plan.request, encode=True))
            if key not in audio_owner:
                audio_owner[key] = plan.request
                passes += [c for c in plan.commands if c.purpose == AUDIO_PURPOSE]
    audio_files = [audio_temp_path(r) for r in audio_owner.values()]
    head = input_argv(ffmpeg, first, audio_files)
    graphs: list[str] = []
    outputs: list[str] = []
    for k, req in enumerate(requests):
        if req.layout == "avid_mxf":
            args = opatom_outputs(req, _video_args(req), prefix=f"r{k}")
            if args[:1] == ["-filter_complex"]:  # a global option: with the command's other globals
                graphs += args[:2]
                args = args[2:]
            outputs += args
        elif needs_audio_pass(req):
            owner = audio_owner[tuple(_audio_args(req, encode=True))]
            outputs += output_argv(req, audio_input=1 + audio_files.index(audio_temp_path(owner)))
        else:
            outputs += output_argv(req, audio_input=None)
    i = head.index("-i")  # globals before the first input, as in every single command
    argv = [*head[:i], *graphs, *head[i:], *outputs]
    main = Command(
        argv=argv,
        timeout_seconds=sum(timeout_for(r) for r in requests),
        purpose=f"ffmpeg encode ({len(requests)} renditions, one decode)",
    )
    settings = {"font": FONT_NAME, "font_sha256": FONT_SHA256} if any(r.burn_in for r in requests) else {}
    return TogetherPlan(request=first, engine=engine, commands=(*passes, main), settings=settings, members=plans)


def audio_files(plan: TogetherPlan) -> list[str]:
    """The files the run's audio passes write (each removed before the run and after it)."""
    return [c.argv[-1].removeprefix("file:") for c in plan.commands if c.purpose == AUDIO_PURPOSE]
