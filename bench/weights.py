"""Benchmark `regaudit check --weights` on the ResNet50 .keras (bench/.cache/resnet50.keras,
built by bench/make_models.py) against its floor and against load_model + layer.losses.

    python bench/weights.py [--runs N]

Each command runs N times (default 5) in a fresh process; the table gives the median and
minimum wall time and the peak RSS of the child (os.wait4), and the goals: regaudit --weights
within 1.5x the floor (bench/weights_floor.py), peak memory within the largest single weight
tensor + 100 MB. The load average is printed before and after, since the machine is shared.
Prints a markdown section for bench/RESULTS.md.
"""

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODEL = HERE / ".cache" / "resnet50.keras"
MiB = 1024 * 1024


def run(command: list[str]) -> tuple[float, int, int]:
    """(seconds, peak RSS in bytes, exit code) of one fresh process."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                               env={**os.environ, "NO_COLOR": "1"})
    _, status, usage = os.wait4(process.pid, 0)
    return time.perf_counter() - start, usage.ru_maxrss * 1024, os.waitstatus_to_exitcode(status)


def largest_tensor(path: Path) -> int:
    import zipfile

    import h5py

    sizes = []
    with zipfile.ZipFile(path) as archive, archive.open("model.weights.h5") as member, h5py.File(member, "r") as file:
        file.visititems(lambda name, item: sizes.append(item.nbytes) if isinstance(item, h5py.Dataset) else None)
    return max(sizes)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--load-model-runs", type=int, default=2)
    arguments = parser.parse_args()
    python = sys.executable
    commands = {
        "regaudit check --weights": ([python, "-m", "regaudit", "check", "--weights", "--fail-on", "never", str(MODEL)],
                                     arguments.runs),
        "floor (h5py + numpy sums)": ([python, str(HERE / "weights_floor.py"), str(MODEL)], arguments.runs),
        "regaudit check (no --weights)": ([python, "-m", "regaudit", "check", "--fail-on", "never", str(MODEL)],
                                          arguments.runs),
        "load_model + layer.losses": ([python, str(HERE / "weights_load_model.py"), str(MODEL)],
                                      arguments.load_model_runs),
    }
    before = os.getloadavg()
    rows = {}
    for name, (command, runs) in commands.items():
        run(command)  # warm-up: page cache and byte-code
        samples = [run(command) for _ in range(runs)]
        rows[name] = samples
    after = os.getloadavg()
    largest = largest_tensor(MODEL)
    print(f"load average before {before[0]:.2f}, {before[1]:.2f}, {before[2]:.2f}; "
          f"after {after[0]:.2f}, {after[1]:.2f}, {after[2]:.2f}; {os.cpu_count()} CPUs\n")
    print("| command | median (s) | min (s) | runs | exit codes | peak RSS (MB) |")
    print("|---|---:|---:|---:|---|---:|")
    for name, samples in rows.items():
        times = [s[0] for s in samples]
        print(f"| {name} | {statistics.median(times):.3f} | {min(times):.3f} | {len(samples)} | "
              f"{sorted({s[2] for s in samples})} | {max(s[1] for s in samples) / MiB:.0f} |")
    weights = statistics.median(s[0] for s in rows["regaudit check --weights"])
    floor = statistics.median(s[0] for s in rows["floor (h5py + numpy sums)"])
    peak = max(s[1] for s in rows["regaudit check --weights"])
    print(f"\n| goal | value | limit | met |\n|---|---:|---:|---|")
    print(f"| --weights / floor (medians) | {weights / floor:.2f} | 1.5 | {'yes' if weights <= 1.5 * floor else 'no'} |")
    print(f"| --weights peak RSS | {peak / MiB:.0f} MB | largest tensor {largest / MiB:.1f} MB + 100 MB = "
          f"{(largest + 100 * MiB) / MiB:.0f} MB | {'yes' if peak <= largest + 100 * MiB else 'no'} |")


if __name__ == "__main__":
    main()
