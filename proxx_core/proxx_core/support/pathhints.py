"""Hints for paths that are not absolute on this node, naming the absolute form to write instead.

JobSpec paths are taken literally: no shell expands ``~`` and a Windows drive path means nothing on
macOS or Linux. Operators copy both from elsewhere, so the message says what to write.
"""

from __future__ import annotations

import ntpath
import os
import posixpath
import re

from ..contract.errors import cut, shown

_DRIVE = re.compile(r"^([A-Za-z]):[\\/]")


def absolute_hint(path: str) -> str:
    """The fix for a path that is not absolute here: the expanded home directory for ``~/...``,
    the mount point form for ``D:\\...`` (and ``\\\\server\\share``), else "start at /"."""
    if path == "~" or path.startswith(("~/", "~\\")):
        home = os.path.expanduser("~")
        rest = path[2:].replace("\\", "/") if len(path) > 1 else ""
        full = posixpath.join(home, rest) if rest else home
        return f"~ is not expanded in a JobSpec (no shell reads it); write the absolute path, here {shown(full)}"
    if path.startswith("~"):
        user = path[1:].split("/", 1)[0]
        try:
            expanded = os.path.expanduser(path)
        except ValueError:  # a NUL byte (refused by document.nul_problems): no user to look up
            expanded = path
        if expanded != path:
            return f"~{cut(user)} is not expanded in a JobSpec; write the absolute path, here {shown(expanded)}"
        return (
            f"~{cut(user)} is not expanded in a JobSpec and there is no user {shown(user)} here; "
            f"write the absolute path"
        )
    drive = _DRIVE.match(path)
    if drive:
        rest = cut(path[3:].replace("\\", "/"))
        letter = drive.group(1).lower()
        return (
            f"{path[:2]} is a Windows drive path, which this node cannot open; write where that volume "
            f"is mounted here, e.g. '/mnt/{letter}/{rest}' (WSL) or '/Volumes/<volume>/{rest}' (macOS)"
        )
    if path.startswith("\\\\"):
        share = ntpath.splitdrive(path)[0]
        rest = cut(path[len(share) :].replace("\\", "/").lstrip("/"))
        return (
            f"{cut(share)} is a Windows network path; write where that share is mounted here, e.g. "
            f"'/mnt/<share>/{rest}' or '/Volumes/<share>/{rest}' (macOS)"
        )
    return "write the full path starting at /"
