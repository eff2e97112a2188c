"""`proxx` with one more plugin: a house rule (``proxx_clip_checks``) that fails every H.264 720p
output, so that rendition fails its verification after a shared run while the others pass. Started as
a real process (`python strict_worker.py worker ...`), as recording_worker.py is."""

from __future__ import annotations

import sys

import proxx_core.support.plugins as plugins
from proxx_core import Check, hookimpl

FAILED_PROFILE = "offline_h264_1280x720"


class HouseRule:
    __name__ = "house_rule"

    @hookimpl
    def proxx_clip_checks(self, plan, output_info):
        bad = plan.request.profile.name == FAILED_PROFILE
        return (Check(name="house_rule", expected="ok", actual="bad" if bad else "ok", ok=not bad),)


_load = plugins.load_engines


def load_with_house_rule(extra=(), **kwargs):
    return _load((*extra, HouseRule()), **kwargs)


plugins.load_engines = load_with_house_rule

if __name__ == "__main__":
    from proxx_cli.main import main

    sys.exit(main(sys.argv[1:]))
