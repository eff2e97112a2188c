"""Verifying an MXF OP-Atom clip (layout ``avid_mxf``): one video file and one file per audio channel.

Media Composer takes a clip's files as one master clip only if each is OP-Atom (operational pattern
UL ``06.0e.2b.34.04.01.01.xx.0d.01.02.01.10``), carries one essence, the same start timecode and
the same tape name. The core checks every file itself (the engine only wrote them), then judges the
clip as a whole with the usual relink rules, its audio being the channels of the audio files in
order (``mono_per_channel``).
"""

from __future__ import annotations

import attrs

from ..contract.avprobe import probe_file
from ..contract.engine import Check, ClipPlan, Engine, Verification
from ..contract.errors import ProxxError
from ..contract.media import ZERO_TIMECODE, AudioInfo, SourceInfo, normalise_timecode
from ..rules.verify import verify_output


@attrs.frozen(kw_only=True)
class MxfFacts:
    """What an OP-Atom check needs from one MXF file, read with libav (PyAV)."""

    operational_pattern: str | None
    #: the tape (reel) source package's name only, never the material package name
    tape_name: str | None
    timecode: str | None
    material_package_umid: str | None
    file_package_umid: str | None
    #: the material package's tracks as libav lists them (Avid track names: V1, A1, ...): the whole
    #: master clip, its tracks whose essence is in other files being data streams
    tracks: tuple[str, ...] = ()
    #: the track whose essence this file carries
    essence_track: str | None = None


def is_op_atom(ul: str | None) -> bool:
    """True for the OP-Atom operational pattern UL as libav prints it (``060e2b34.0401010x.0d010201.10..``)."""
    parts = (ul or "").lower().split(".")
    return len(parts) == 4 and parts[0] == "060e2b34" and parts[2] == "0d010201" and parts[3].startswith("10")


def read_facts(path: str) -> MxfFacts | None:
    import av

    try:
        with open(path, "rb") as fh, av.open(fh, mode="r") as c:
            streams = list(c.streams)
            essence = next((s for s in streams if s.type in ("video", "audio")), streams[0] if streams else None)
            stream_meta = essence.metadata if essence is not None else {}
            return MxfFacts(
                operational_pattern=c.metadata.get("operational_pattern_ul"),
                tape_name=(stream_meta.get("reel_name") or "").strip() or None,
                timecode=normalise_timecode(stream_meta.get("timecode") or c.metadata.get("timecode")),
                material_package_umid=c.metadata.get("material_package_umid"),
                file_package_umid=stream_meta.get("file_package_umid"),
                tracks=tuple(s.metadata.get("track_name") or "" for s in streams),
                essence_track=stream_meta.get("track_name"),
            )
    except (av.FFmpegError, OSError, UnicodeDecodeError, ValueError, IndexError):
        return None


def clip_tracks(audio_files: int) -> tuple[str, ...]:
    """The tracks of an OP-Atom master clip, as Avid names them: V1, then A1…An."""
    return ("V1", *(f"A{k}" for k in range(1, audio_files + 1)))


def _file_checks(
    label: str, facts: MxfFacts | None, *, timecode: str, tape: str | None, tracks: tuple[str, ...]
) -> list[Check]:
    if facts is None:
        return [Check(name=f"{label}:readable", expected=True, actual=False, ok=False)]
    checks = [
        Check(
            name=f"{label}:op_atom",
            expected="OP-Atom",
            actual=facts.operational_pattern,
            ok=is_op_atom(facts.operational_pattern),
        ),
        # every file describes the whole master clip (Avid, pyaaf2 build it from the first file)
        Check(
            name=f"{label}:master_clip_tracks",
            expected=list(tracks),
            actual=list(facts.tracks),
            ok=facts.tracks == tracks,
        ),
        Check(
            name=f"{label}:essence_track", expected=label, actual=facts.essence_track, ok=facts.essence_track == label
        ),
        Check(name=f"{label}:start_timecode", expected=timecode, actual=facts.timecode, ok=facts.timecode == timecode),
    ]
    if tape:
        checks.append(
            Check(name=f"{label}:tape_name", expected=tape, actual=facts.tape_name, ok=facts.tape_name == tape)
        )
    return checks


def verify_clip(
    plan: ClipPlan, video: SourceInfo | None, engine: Engine, extra: tuple[Check, ...] = ()
) -> tuple[Verification, SourceInfo | None]:
    """The verdict on every temp file of an OP-Atom clip, and the clip as NLEs see it (the video
    file's probe with the audio files' channels, and the tape name of the files)."""
    req = plan.request
    src = req.source_info
    timecode = src.start_timecode or ZERO_TIMECODE
    tape = src.reel_name
    v_facts = read_facts(req.temp_path) if video is not None else None
    tracks = clip_tracks(len(req.extra_outputs))
    checks = _file_checks("V1", v_facts, timecode=timecode, tape=tape, tracks=tracks)
    audio: list[AudioInfo] = []
    one_frame = float(1 / src.video.frame_rate.fraction) if src.video else 0.0
    umids = {v_facts.material_package_umid} if v_facts else set()
    file_umids = [v_facts.file_package_umid] if v_facts else []
    for k, target in enumerate(req.extra_outputs, start=1):
        label = f"A{k}"
        facts = read_facts(target.temp_path)
        checks += _file_checks(label, facts, timecode=timecode, tape=tape, tracks=tracks)
        try:
            info = probe_file(target.temp_path, probed_by="proxx-core")
        except ProxxError:
            info = None
        streams = info.audio if info is not None else ()
        checks.append(
            Check(
                name=f"{label}:one_mono_essence",
                expected="1 audio stream of 1 channel, no video",
                actual=f"{len(streams)} audio stream(s) of {[a.channels for a in streams]} channel(s)"
                + (", video" if info is not None and info.video is not None else ""),
                ok=info is not None and info.video is None and [a.channels for a in streams] == [1],
            )
        )
        if info is not None and video is not None:
            exp, act = video.duration_seconds, info.duration_seconds
            checks.append(
                Check(
                    name=f"{label}:duration_seconds",
                    expected=exp,
                    actual=act,
                    ok=exp is not None and act is not None and abs(exp - act) <= one_frame,
                )
            )
        audio.extend(attrs.evolve(a, index=len(audio)) for a in streams[:1])
        if facts is not None:
            umids.add(facts.material_package_umid)
            file_umids.append(facts.file_package_umid)
    if req.extra_outputs:
        checks.append(
            Check(
                name="op_atom_one_master_clip",
                expected="one material package, a file package each",
                actual=f"{len(umids)} material package(s), {len(set(file_umids))} distinct file package(s) "
                f"for {len(file_umids)} file(s)",
                ok=len(umids) == 1 and len(set(file_umids)) == len(file_umids),
            )
        )
    merged = None
    if video is not None:
        merged = attrs.evolve(video, audio=tuple(audio), reel_name=v_facts.tape_name if v_facts else None)
    verdict = verify_output(plan, merged, engine, extra, audio_layouts=("mono_per_channel",))
    all_checks = (*verdict.checks, *checks)
    return attrs.evolve(verdict, ok=all(c.ok for c in all_checks), checks=all_checks), merged
