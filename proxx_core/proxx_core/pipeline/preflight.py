"""Step 2 of the pipeline: the checks against the disk before any engine is asked anything.

Sources (absolute, no duplicates after normalisation and symlinks, existing, readable, non-empty
regular files) and the output folder (absolute, existing, writable). Also the identity helpers the
later steps use to tell whether a source changed (file identities live in ``writegate``).
"""

from __future__ import annotations

import os
import unicodedata

import attrs

from ..contract.errors import Problem, shown
from ..features.look import look_problems
from ..io.safeopen import NotAFile, check_directory, check_regular
from ..support.pathhints import absolute_hint
from ..support.specvalues import DraftSpec, Invalid, LookSpec


def source_problems(sources: tuple[str, ...]) -> list[Problem]:
    problems: list[Problem] = []
    seen: dict[str, int] = {}
    for i, src in enumerate(sources):
        if not os.path.isabs(src):
            problems.append(Problem.about_source(i, f"{shown(src)} is not an absolute path; {absolute_hint(src)}"))
            continue
        if "\x00" in src:
            problems.append(Problem.about_source(i, "contains a NUL character"))
            continue
        key = unicodedata.normalize("NFC", os.path.normpath(src))
        try:
            real = unicodedata.normalize("NFC", os.path.realpath(src))
        except OSError:
            real = key
        for k in {key, real}:
            if k in seen:
                problems.append(
                    Problem.about_source(i, f"duplicate of /sources/{seen[k]} ({src}); list each source once")
                )
                break
        else:
            seen[key] = seen.setdefault(real, i)
            problems.extend(attrs.evolve(p, source_index=i) for p in _file_problems(src, f"/sources/{i}"))
    return problems


def _file_problems(src: str, where: str) -> list[Problem]:
    """A source must be a readable, non-empty regular file; checked with a non-blocking open (safeopen),
    so a FIFO or a device among the sources is refused, never waited on."""
    try:
        st = check_regular(src)
    except NotAFile as exc:
        fix = (
            'list the media files inside it, or set "jobspec_version": "1.2.0" to take the clips of a '
            "folder or camera card (or run: proxx run --profile PROFILE FOLDER)"
            if exc.reason.startswith("is a directory")
            else "list media files only"
        )
        return [Problem(path=where, message=f"{exc}; {fix}")]
    except FileNotFoundError:
        return [Problem(path=where, message=f"{src}: no such file; check the path and that the volume is mounted")]
    except PermissionError as exc:
        return [Problem(path=where, message=f"{src}: not readable ({exc.strerror}); give this user read permission")]
    except OSError as exc:
        return [Problem(path=where, message=f"{src}: cannot be accessed ({exc.strerror}); check permissions")]
    if st.st_size == 0:
        return [
            Problem(
                path=where,
                message=f"{src}: empty file (0 bytes); the copy from the card may have failed or still be running",
            )
        ]
    return []


def output_dir_problems(output_dir: str) -> list[Problem]:
    where = "/output_dir"
    if not os.path.isabs(output_dir):
        return [
            Problem(path=where, message=f"{shown(output_dir)} is not an absolute path; {absolute_hint(output_dir)}")
        ]
    try:
        check_directory(output_dir)
    except NotAFile as exc:
        return [Problem(path=where, message=str(exc))]
    except FileNotFoundError:
        return [Problem(path=where, message=f"{output_dir}: does not exist; create it first (Proxx never creates it)")]
    except OSError as exc:
        return [Problem(path=where, message=f"{output_dir}: cannot be accessed ({exc.strerror}); check permissions")]
    if not os.access(output_dir, os.W_OK | os.X_OK):
        return [Problem(path=where, message=f"{output_dir}: is not writable by this user; fix its permissions")]
    return []


@attrs.frozen(kw_only=True)
class SourceStat:
    """Which file a source path named when it was probed: its size and probe are of this file."""

    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, path: str) -> SourceStat | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return cls(dev=st.st_dev, ino=st.st_ino, size=st.st_size, mtime_ns=st.st_mtime_ns)


def disk_problems(draft: DraftSpec) -> list[Problem]:
    """The sources' and the output folder's problems, for the fields the document step found well formed."""
    problems: list[Problem] = []
    if draft.usable("sources") and not isinstance(draft.sources, Invalid):
        problems += source_problems(draft.sources)
    if draft.usable("output_dir") and isinstance(draft.output_dir, str):
        problems += output_dir_problems(draft.output_dir)
    if draft.usable("look") and isinstance(draft.look, LookSpec):
        problems += look_problems(draft.look)[1]
    return problems
