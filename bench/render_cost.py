"""What rendering a report costs per artifact, in process, without examining anything again.

    python bench/render_cost.py [--profile] [DIR] [FORMAT ...]
    # default: bench/.cache/zoo1000, formats text json sarif html

Audits DIR once (gitignored paths included: bench/.cache is gitignored), then renders each format
from the finished result into memory five times and prints the best CPU time (time.process_time),
in total and per artifact. With --profile, also the cProfile of one more rendering, by own time.
Results are recorded in bench/NOTES.md.
"""

from __future__ import annotations

import cProfile
import io
import pstats
import sys
import time
from pathlib import Path

import regaudit
from regaudit.catalog import load_catalog
from regaudit.reporters import ReportContext, render

ZOO = Path(__file__).resolve().parent / ".cache" / "zoo1000"
RUNS = 5


def main(arguments: list[str]) -> None:
    profile = "--profile" in arguments
    arguments = [argument for argument in arguments if argument != "--profile"]
    folder = Path(arguments.pop(0)) if arguments and Path(arguments[0]).is_dir() else ZOO
    formats = arguments or ["text", "json", "sarif", "html"]
    if not folder.is_dir():
        sys.exit(f"{folder} not found: run bench/make_models.py first")
    result = regaudit.audit([str(folder)], {"respect-gitignore": False})
    artifacts = len(result.artifacts)
    context = ReportContext(catalog=load_catalog(), root=folder.parent)
    for format_ in formats:
        best = float("inf")
        for _ in range(RUNS):
            stream = io.StringIO()
            started = time.process_time()
            render(format_, result, context, stream)
            best = min(best, time.process_time() - started)
        print(f"{format_:8s} {best * 1e3:7.1f} ms CPU, {best / artifacts * 1e6:6.1f} us per artifact "
              f"({artifacts} artifacts, {len(stream.getvalue()):,} characters; best of {RUNS})")
        if profile:
            profiler = cProfile.Profile()
            profiler.runcall(render, format_, result, context, io.StringIO())
            pstats.Stats(profiler).sort_stats("tottime").print_stats(15)


if __name__ == "__main__":
    main(sys.argv[1:])
