"""A path that is not absolute here gets a message naming the absolute form to write."""

from __future__ import annotations

import os

from proxx_core.support.pathhints import absolute_hint


def test_tilde_names_the_expanded_home():
    home = os.path.expanduser("~")
    assert repr(os.path.join(home, "media/A001.mov")) in absolute_hint("~/media/A001.mov")
    assert "not expanded" in absolute_hint("~/x")


def test_windows_drive_and_unc_paths_name_a_mount_point():
    hint = absolute_hint("D:\\Shoot\\Day1\\A001.mov")
    assert "Windows drive path" in hint and "'/mnt/d/Shoot/Day1/A001.mov'" in hint and "/Volumes/" in hint
    assert "/mnt/e/x" in absolute_hint("E:/x")
    assert "network path" in absolute_hint("\\\\nas\\raid\\a.mov")


def test_plain_relative_path():
    assert absolute_hint("media/a.mov") == "write the full path starting at /"
