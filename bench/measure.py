"""Paired, interleaved timing of whole commands: wall time, CPU time and peak memory per run.

    python bench/measure.py --runs 9 --out times.json NAME=COMMAND [NAME=COMMAND ...]

Each round runs every command once, in turn (so a burst of load from elsewhere hits all of them
alike), after one warm-up round. For each run it records the wall time, the CPU time the process
and its children used (user + system, from wait4) and the peak resident memory (ru_maxrss of
the largest process). The JSON it writes holds every run; `summary()` gives medians.

CPU time is reported next to wall time because this machine is shared: wall time counts the time a
process waited for a core, CPU time mostly does not. A parallel run (--jobs 2) is judged on wall
time, which is only meaningful on idle cores: the load average before and after is recorded.
Standard library only.
"""
import argparse
import json
import os
import shlex
import statistics
import subprocess
import sys
import time


def run_once(argv: list[str]) -> dict:
    start = time.perf_counter()
    with open(os.devnull, "wb") as sink:
        process = subprocess.Popen(argv, stdout=sink, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    process.returncode = os.waitstatus_to_exitcode(status)
    # The usage covers the process and its waited-for children (--jobs workers) too.
    return {
        "wall": wall,
        "cpu": usage.ru_utime + usage.ru_stime,
        "maxrss_kb": usage.ru_maxrss,
        "exit": process.returncode,
    }


def measure(commands: dict[str, list[str]], runs: int, warmup: int = 1) -> dict:
    results: dict[str, list[dict]] = {name: [] for name in commands}
    load_before = os.getloadavg()
    for round_ in range(warmup + runs):
        for name, argv in commands.items():
            sample = run_once(argv)
            if round_ >= warmup:
                results[name].append(sample)
    return {
        "load_before": load_before,
        "load_after": os.getloadavg(),
        "commands": {name: {"argv": argv, "runs": results[name]} for name, argv in commands.items()},
    }


def summary(measured: dict) -> dict[str, dict]:
    """Per command: median wall and CPU seconds, min wall, peak RSS in kB, exit codes."""
    table = {}
    for name, entry in measured["commands"].items():
        runs = entry["runs"]
        table[name] = {
            "wall": statistics.median(r["wall"] for r in runs),
            "wall_min": min(r["wall"] for r in runs),
            "cpu": statistics.median(r["cpu"] for r in runs),
            "maxrss_kb": max(r["maxrss_kb"] for r in runs),
            "exits": sorted({r["exit"] for r in runs}),
            "runs": len(runs),
        }
    return table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--warmup", type=int, default=1)
    parser.add_argument("--out", required=True)
    parser.add_argument("commands", nargs="+", metavar="NAME=COMMAND")
    args = parser.parse_args()
    commands = {}
    for item in args.commands:
        name, _, command = item.partition("=")
        commands[name] = shlex.split(command)
    measured = measure(commands, args.runs, args.warmup)
    with open(args.out, "w") as stream:
        json.dump(measured, stream, indent=1)
    for name, row in summary(measured).items():
        print(f"{name:32s} wall {row['wall'] * 1e3:9.1f} ms  cpu {row['cpu'] * 1e3:9.1f} ms  "
              f"rss {row['maxrss_kb'] / 1024:7.1f} MB  exit {row['exits']}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
