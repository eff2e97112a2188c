"""Step 4 of the pipeline: every installed engine probes every source (in engine-name order).

An engine that recognises a source as its own and finds it invalid vetoes it (no other engine may
quietly make something else of it); an engine that raises is recorded, never fatal.
"""

from __future__ import annotations

from pathlib import Path

from ..contract.engine import Refusal
from ..contract.errors import ProxxError
from ..contract.media import SourceInfo
from ..contract.vocabulary import Category
from ..io.safeopen import NotAFile, check_regular
from ..support.plugins import EngineSet


class ProbeVeto(Exception):
    """An engine recognised the source as its own and found it invalid: no other engine may take it."""


def probe_all(source: str, engines: EngineSet) -> tuple[dict[str, SourceInfo], dict[str, Refusal]]:
    """Every engine's probe of ``source``. The core first checks, with a non-blocking open
    (:mod:`.safeopen`), that it is a regular file: no engine is ever handed a FIFO, a device or a
    directory, whichever path led here (a spec with other schema errors is still probed, to report
    every problem in one pass)."""
    try:
        check_regular(source)
    except NotAFile as exc:
        raise ProbeVeto(f"{exc.reason}; list media files only") from None
    except OSError:
        pass  # missing or unreadable: each engine's probe says so, as before
    infos: dict[str, SourceInfo] = {}
    errors: dict[str, Refusal] = {}
    for name in engines.names:
        try:
            info = engines.get(name).probe(Path(source))  # type: ignore[union-attr]  # name is in engines.names
        except ProxxError as exc:
            if exc.category == Category.VALIDATION:
                raise ProbeVeto(f"{name}: {exc.message}") from None
            # engine_unavailable: it recognised the source but cannot read it on this node, which
            # routing must not let a less specific engine paper over
            errors[name] = Refusal(
                reason=exc.message,
                category=Category.ENGINE_UNAVAILABLE
                if exc.category == Category.ENGINE_UNAVAILABLE
                else Category.UNSUPPORTED_SOURCE,
            )
            continue
        except Exception as exc:  # an engine bug must not hide the other engines' answers
            errors[name] = Refusal(reason=f"probe raised {type(exc).__name__}: {exc}")
            continue
        if info is not None:
            infos[name] = info
    return infos, errors
