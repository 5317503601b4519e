"""Where the time of a `--jobs` run goes: the parent's critical path and CPU per process.

    python bench/parallel.py [--runs 5] [--source ROOT] -- CHECK_ARGS...
    e.g. python bench/parallel.py --runs 5 -- --no-respect-gitignore bench/.cache/zoo1000

Runs `regaudit check CHECK_ARGS --jobs 1` and `--jobs 2` (and `--jobs 0`) in fresh processes,
interleaved, the report going to /dev/null, and prints per variant the medians of: wall time
(from before the process is started to its exit), the parent's CPU (getrusage RUSAGE_SELF) and
the workers' (RUSAGE_CHILDREN of the parent, i.e. of its reaped workers), the time from start to
the first task handed to a worker, the parent's busy time after the last result came back, the
peak RSS of the parent and of the largest worker, and the 1-minute load average beside them
(wall times of --jobs mean something on idle cores only). Standard library only.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent.parent

# Runs inside the measured process: notes the moments that matter, then runs the command line.
_PROBE = r"""
import json, os, resource, sys, time
marks = {"started": float(os.environ["PROBE_T0"]), "imported": time.time()}
import regaudit.engine as engine
if os.environ.get("PROBE_POOL"):
    import concurrent.futures.process as process
    submit = process.ProcessPoolExecutor.submit
    def noted_submit(self, *args, **kwargs):
        marks.setdefault("first_task", time.time())
        return submit(self, *args, **kwargs)
    process.ProcessPoolExecutor.submit = noted_submit
unpacked = engine._unpacked
def noted_unpacked(data):
    marks["last_result"] = time.time()
    return unpacked(data)
engine._unpacked = noted_unpacked
examine = engine._Examiner.examine
def noted_examine(self, candidate):
    marks.setdefault("first_task", time.time())
    return examine(self, candidate)
engine._Examiner.examine = noted_examine
import regaudit.cli
sys.argv = ["regaudit", "check", *sys.argv[1:]]
try:
    regaudit.cli.main()
except SystemExit:
    pass
sys.stdout.flush()
marks["ended"] = time.time()
me, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
marks.update(parent_cpu=me.ru_utime + me.ru_stime, workers_cpu=children.ru_utime + children.ru_stime,
             parent_rss_kb=me.ru_maxrss, worker_rss_kb=children.ru_maxrss)
with open(os.environ["PROBE_OUT"], "w") as out:
    json.dump(marks, out)
"""


def run_once(source: Path, args: list[str], jobs: str) -> dict:
    with tempfile.NamedTemporaryFile(suffix=".json") as marks_file:
        env = {**os.environ, "PYTHONPATH": str(source), "PROBE_OUT": marks_file.name,
               "PROBE_POOL": "" if jobs == "1" else "1"}
        load = os.getloadavg()[0]
        started = time.time()
        env["PROBE_T0"] = repr(started)
        with open(os.devnull, "wb") as sink:
            subprocess.run([sys.executable, "-P", "-c", _PROBE, *args, "--jobs", jobs], stdout=sink, env=env, check=False)
        wall = time.time() - started
        marks = json.loads(Path(marks_file.name).read_text())
    return {
        "wall": wall,
        "load": load,
        "parent_cpu": marks["parent_cpu"],
        "workers_cpu": marks["workers_cpu"],
        "to_first_task": marks.get("first_task", marks["ended"]) - started,
        "after_last_result": marks["ended"] - marks["last_result"] if "last_result" in marks else None,
        "parent_rss_mb": marks["parent_rss_kb"] / 1024,
        "worker_rss_mb": marks["worker_rss_kb"] / 1024,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--source", type=Path, default=HERE, help="the checkout to run (first on PYTHONPATH)")
    parser.add_argument("--jobs", default="1,2,0", help="the --jobs values to compare, comma-separated")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    options = parser.parse_args()
    args = [arg for arg in options.args if arg != "--"]
    variants = options.jobs.split(",")
    runs: dict[str, list[dict]] = {jobs: [] for jobs in variants}
    for round_ in range(options.runs + 1):  # the first round warms the caches and is dropped
        for jobs in variants:
            sample = run_once(options.source, args, jobs)
            if round_:
                runs[jobs].append(sample)
    keys = ("wall", "load", "parent_cpu", "workers_cpu", "to_first_task", "after_last_result", "parent_rss_mb",
            "worker_rss_mb")
    print("| --jobs | " + " | ".join(keys) + " |")
    print("|---" * (len(keys) + 1) + "|")
    for jobs in variants:
        cells = []
        for key in keys:
            values = [sample[key] for sample in runs[jobs] if sample[key] is not None]
            if not values:
                cells.append("")
            elif key.endswith("_mb") or key == "load":
                cells.append(f"{statistics.median(values):.1f}")
            else:
                cells.append(f"{statistics.median(values) * 1000:.0f} ms")
        print(f"| {jobs} | " + " | ".join(cells) + " |")
    if len(variants) > 1 and "1" in variants:
        serial = statistics.median(sample["wall"] for sample in runs["1"])
        for jobs in variants:
            if jobs != "1":
                ratio = serial / statistics.median(sample["wall"] for sample in runs[jobs])
                print(f"wall, --jobs 1 / --jobs {jobs}: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
