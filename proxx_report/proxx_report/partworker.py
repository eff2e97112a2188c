"""A worker process for :mod:`proxx_report.parts`: ``python -m proxx_report.partworker`` reads
pickled ``render_part`` arguments from stdin and writes each pickled result to stdout, until stdin
closes. Its own process, not multiprocessing's: spawning through multiprocessing re-runs the
caller's main script in the child, which a program embedding Proxx may not guard."""

from __future__ import annotations

import os
import pickle
import sys


def main() -> None:
    results = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # a stray print must not corrupt the results
    from .parts import render_part

    while True:
        try:
            args = pickle.load(sys.stdin.buffer)
        except EOFError:
            return
        pickle.dump(render_part(*args), results, protocol=pickle.HIGHEST_PROTOCOL)
        results.flush()


if __name__ == "__main__":
    main()
