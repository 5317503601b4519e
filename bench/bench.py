"""Run every benchmark of issue 11 on the models bench/make_models.py built, and write RESULTS.md.

    python bench/bench.py [--runs N] [--quick]

Every command is a fresh process, timed by bench/measure.py (paired, interleaved rounds; medians
of wall and CPU time; peak memory). regaudit runs from this checkout (`python -m regaudit` with
the checkout first on PYTHONPATH, byte-compiled by run.sh), in a scratch working directory outside
the repository, so that no configuration file is found. Writes the measurements to
bench/.cache/results.json; bench/plot.py and bench/report.py turn them into growth.png and RESULTS.md.
"""
import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import measure

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
CACHE = BENCH / ".cache"
PY = sys.executable
# The inputs live in bench/.cache/, which bench/.gitignore ignores: without the flag a directory
# walk would skip them all, as it skips any gitignored file.
REGAUDIT = [PY, "-m", "regaudit", "check", "--no-respect-gitignore"]
FLOOR = [PY, str(BENCH / "floor.py")]
LOAD_MODEL = [PY, str(BENCH / "load_model_walk.py")]
MODELSCAN = CACHE / "venv" / "bin" / "modelscan"  # the bench environment run.sh makes
LAYER_COUNTS = (10, 100, 1000, 5000, 10000, 20000, 50000)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9, help="rounds for the fast commands")
    parser.add_argument("--quick", action="store_true", help="3 rounds, no load_model/modelscan, no 5,000 zoo")
    args = parser.parse_args()
    runs = 3 if args.quick else args.runs
    os.environ["PYTHONPATH"] = str(ROOT)
    os.environ["NO_COLOR"] = "1"
    scratch = Path(tempfile.mkdtemp(prefix="regaudit-bench-"))
    os.chdir(scratch)  # no configuration file is found from here
    results: dict = {"started": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine()}
    try:
        results["one_file"] = one_file(runs, slow=not args.quick)
        results["zoo"] = zoo(runs, big=not args.quick, slow=not args.quick)
        results["parallel_output_identical"] = parallel_output_identical()
        results["growth"] = growth(max(3, runs // 2))
        results["html"] = html_report()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    results["finished"] = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    results["runs"] = runs
    (CACHE / "results.json").write_text(json.dumps(results, indent=1))
    return 0


def machine() -> dict:
    def version(module: str) -> str:
        done = subprocess.run([PY, "-c", f"import importlib.metadata as m; print(m.version({module!r}))"],
                              capture_output=True, text=True)
        return done.stdout.strip() or "not installed"

    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    memory = next((line.split()[1] for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal")), "0")
    modelscan = subprocess.run([str(MODELSCAN), "--version"], capture_output=True, text=True) if MODELSCAN.exists() else None
    return {
        "cpu": cpu,
        "cpus": os.cpu_count(),
        "memory_gib": round(int(memory) / 1024 / 1024, 1),
        "os": platform.platform(),
        "python": platform.python_version(),
        "commit": subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                                 text=True).stdout.strip(),
        "packages": {name: version(name) for name in ("jinja2", "h5py", "keras", "tensorflow", "playwright")},
        "modelscan": (modelscan.stdout.strip() or modelscan.stderr.strip()) if modelscan else "not installed",
    }


def timed(commands: dict[str, list[str]], runs: int, warmup: int = 1) -> dict:
    print(f"timing {', '.join(commands)} ({runs} rounds)", file=sys.stderr)
    measured = measure.measure(commands, runs, warmup)
    return {"load_before": measured["load_before"], "load_after": measured["load_after"],
            "rows": measure.summary(measured)}


def one_file(runs: int, slow: bool) -> dict:
    commands = {}
    for name in ("resnet50", "resnet50_noweights", "small"):
        commands[f"regaudit {name}"] = REGAUDIT + [str(CACHE / f"{name}.keras")]
        commands[f"floor {name}"] = FLOOR + [str(CACHE / f"{name}.keras")]
    commands["imports only"] = [PY, str(BENCH / "imports_only.py")]
    measured = {"fast": timed(commands, runs * 2)}
    if slow:
        slow_commands = {"load_model resnet50": LOAD_MODEL + [str(CACHE / "resnet50.keras")]}
        if MODELSCAN.exists():
            slow_commands["modelscan resnet50"] = [str(MODELSCAN), "-p", str(CACHE / "resnet50.keras")]
        measured["slow"] = timed(slow_commands, 3, warmup=0)
    return measured


def zoo(runs: int, big: bool, slow: bool) -> dict:
    folder = str(CACHE / "zoo1000")
    commands = {
        "floor zoo1000": FLOOR + [folder],
        "regaudit zoo1000": REGAUDIT + [folder],
        "regaudit zoo1000 --jobs 2": REGAUDIT + ["--jobs", "2", folder],
        "regaudit zoo1000 --jobs 0": REGAUDIT + ["--jobs", "0", folder],
        "regaudit zoo1000 --format json": REGAUDIT + ["--format", "json", folder],
        "regaudit zoo1000 --format sarif": REGAUDIT + ["--format", "sarif", folder],
        "regaudit zoo1000 --format html": REGAUDIT + ["--format", "html", folder],
    }
    measured = {"zoo1000": timed(commands, runs)}
    # --jobs 0 on a handful of files must not start workers: never slower than serial.
    few = [str(path) for path in sorted((CACHE / "zoo").glob("*.keras"))[:20]]
    measured["few"] = timed({"regaudit 20 files": REGAUDIT + few, "regaudit 20 files --jobs 0": REGAUDIT + ["-j", "0", *few],
                             "regaudit 20 files --jobs 2": REGAUDIT + ["-j", "2", *few]}, runs)
    if big:
        big_folder = str(CACHE / "zoo5000")
        measured["zoo5000"] = timed({"floor zoo5000": FLOOR + [big_folder], "regaudit zoo5000": REGAUDIT + [big_folder],
                                     "regaudit zoo5000 --jobs 2": REGAUDIT + ["--jobs", "2", big_folder],
                                     "regaudit zoo5000 --format json": REGAUDIT + ["--format", "json", big_folder]},
                                    max(3, runs // 3))
    if slow:
        # On the 60 distinct models the zoos are copies of: load_model takes seconds per file here,
        # and 1,000 copies of the same 60 files would only multiply that.
        distinct = str(CACHE / "zoo")
        slow_commands = {"load_model zoo (60 files)": LOAD_MODEL + [distinct],
                         "regaudit zoo (60 files)": REGAUDIT + [distinct], "floor zoo (60 files)": FLOOR + [distinct]}
        if MODELSCAN.exists():
            slow_commands["modelscan zoo (60 files)"] = [str(MODELSCAN), "-p", distinct]
        measured["slow"] = timed(slow_commands, 1, warmup=0)
    return measured


def parallel_output_identical() -> dict:
    """Every report format from --jobs 1, 2 and 0 on the 1,000 zoo, compared byte for byte."""
    folder = str(CACHE / "zoo1000")
    verdict = {}
    for format_ in ("text", "json", "sarif", "html"):
        outputs = {jobs: subprocess.run(REGAUDIT + ["--format", format_, "--jobs", jobs, folder], capture_output=True).stdout
                   for jobs in ("1", "2", "0")}
        verdict[format_] = len(set(outputs.values())) == 1 and bool(outputs["1"])
    return verdict


def growth(runs: int) -> dict:
    commands = {}
    counts = [count for count in LAYER_COUNTS if (CACHE / "layers" / f"{count}.keras").exists()]
    if counts != list(LAYER_COUNTS):
        print(f"WARNING: growth models missing, measuring {counts} only (run bench/make_models.py)", file=sys.stderr)
    for count in counts:
        path = str(CACHE / "layers" / f"{count}.keras")
        commands[f"regaudit {count}"] = REGAUDIT + [path]
        commands[f"floor {count}"] = FLOOR + [path]
    return {**timed(commands, runs), "counts": counts}


def html_report() -> dict:
    """Size of the HTML report for the 1,000 zoo, and how long headless Chromium takes to open it."""
    page = CACHE / "zoo1000.html"
    with open(page, "wb") as stream:
        subprocess.run(REGAUDIT + ["--format", "html", str(CACHE / "zoo1000")], stdout=stream)
    result = {"bytes": page.stat().st_size}
    try:
        import playwright  # noqa: F401  (the bench venv may lack it)
    except ImportError:
        result["open_seconds"] = None
        return result
    from html_report import opening_times  # beside this script

    times = opening_times(page, 5)
    result["open_seconds"] = sorted(times)[len(times) // 2]
    result["open_runs"] = times
    return result


if __name__ == "__main__":
    sys.exit(main())
