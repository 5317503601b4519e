"""Write bench/RESULTS.md from the measurements bench/bench.py took (bench/.cache/results.json).

    python bench/report.py            # rewrite RESULTS.md from the last run's results.json

The hand-written reading of the numbers (profiles, why a goal is missed) is bench/NOTES.md,
included after the tables as it is. Sections that other benchmarks keep in RESULTS.md (their
headings say "separate from the runs above": bench/savedmodel.py, bench/weights.py) are carried
over from the current file unchanged, at the end.
"""
import json
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parent


def markdown(results: dict) -> str:
    out: list[str] = []
    add = out.append
    m = results["machine"]
    add("# Benchmark results\n")
    add(f"Produced by `RUNS={results.get('runs', 9)} bench/run.sh` (which runs `bench/make_models.py`, then "
        f"`bench/bench.py --runs {results.get('runs', 9)}`, `plot.py` and `report.py`) from {results['started']} to "
        f"{results['finished']}, at commit `{m['commit']}`. "
        "Every command is a fresh process; the figures are medians of paired, interleaved rounds "
        "(`bench/measure.py`): wall time, CPU time (user + system, workers included) and peak memory. "
        "See `bench/README.md` for what each command is.\n")
    add("## Machine\n")
    add("| | |\n|---|---|")
    add(f"| CPU | {m['cpu']}, {m['cpus']} cores |")
    add(f"| RAM | {m['memory_gib']} GiB |")
    add(f"| OS | {m['os']} |")
    add(f"| Python | {m['python']} |")
    add("| packages | " + ", ".join(f"{k} {v}" for k, v in m["packages"].items()) + f", modelscan: {m['modelscan']} |")
    add(f"| load average | {_loads(results)} |\n")
    add("The machine is shared (2 cores, several other processes at work during the run): wall times "
        "include waiting for a core, CPU times mostly do not. Where the two disagree, the CPU ratio is "
        "the better measure of the work done, and the wall ratio of `--jobs` needs idle cores.\n")

    add("## Against the goals\n")
    add("| goal | measured (wall) | measured (CPU) | target | met (wall / CPU) |\n|---|---:|---:|---|---|")
    for row in goals(results):
        add(row)
    add("")

    add("## One file\n")
    add(_table(results["one_file"]["fast"]))
    if "slow" in results["one_file"]:
        add(_table(results["one_file"]["slow"]))
    add("## Model zoo (1,000 and 5,000 small real `.keras` files)\n")
    add(_table(results["zoo"]["zoo1000"], per=1000))
    if "zoo5000" in results["zoo"]:
        add(_table(results["zoo"]["zoo5000"], per=5000))
    add(_table(results["zoo"]["few"], per=20))
    if "slow" in results["zoo"]:
        add(_table(results["zoo"]["slow"], per=60))
    identical = results["parallel_output_identical"]
    add("Output of `--jobs 1`, `--jobs 2` and `--jobs 0` on the 1,000 zoo, compared byte for byte: "
        + ", ".join(f"{fmt} {'identical' if same else '**differs**'}" for fmt, same in identical.items()) + ".\n")

    add("## Growth with the number of layers\n")
    add("![regaudit and the floor against the number of layers](growth.png)\n")
    add(_growth_table(results["growth"]))
    add("## Reports at scale\n")
    html = results["html"]
    opened = f"{html['open_seconds']:.2f} s" if html.get("open_seconds") is not None else "not measured (no playwright)"
    when = f" (measured {html['measured']} at commit `{html['commit']}`, load {html['load'][0]:.1f})" if "commit" in html else ""
    add(f"HTML report for the 1,000 zoo{when}: {html['bytes']:,} bytes; headless Chromium opens it (`goto`, until "
        f"`load`, median of 5) in {opened}.\n")
    notes = BENCH / "NOTES.md"
    if notes.exists():
        add(notes.read_text())
    return "\n".join(out).rstrip() + "\n"


def goals(results: dict) -> list[str]:
    zoo = results["zoo"]["zoo1000"]["rows"]
    one = results["one_file"]["fast"]["rows"]
    rows = []

    def ratio(name: str, numerator: dict, denominator: dict, target: str, ok) -> None:
        wall = numerator["wall"] / denominator["wall"]
        cpu = numerator["cpu"] / denominator["cpu"]
        rows.append(f"| {name} | {wall:.2f} | {cpu:.2f} | {target} | {_yes(ok(wall))} / {_yes(ok(cpu))} |")

    ratio("zoo of 1,000: regaudit / floor, per file", zoo["regaudit zoo1000"], zoo["floor zoo1000"], "<= 1.5",
          lambda r: r <= 1.5)
    if "zoo5000" in results["zoo"]:
        big = results["zoo"]["zoo5000"]["rows"]
        ratio("zoo of 5,000: regaudit / floor, per file", big["regaudit zoo5000"], big["floor zoo5000"], "<= 1.5",
              lambda r: r <= 1.5)
        for fmt, suffix in (("text", ""), ("JSON", " --format json")):
            if f"regaudit zoo5000{suffix}" in big:
                growth = big[f"regaudit zoo5000{suffix}"]["maxrss_kb"] / zoo[f"regaudit zoo1000{suffix}"]["maxrss_kb"]
                rows.append(f"| peak memory, 5,000 / 1,000 files (regaudit, {fmt}) | {growth:.2f} | | flat (~1) | "
                            f"{_yes(growth <= 1.2)} |")
    ratio("zoo of 1,000 with `--jobs 2`: regaudit / floor, per file", zoo["regaudit zoo1000 --jobs 2"],
          zoo["floor zoo1000"], "<= 1.5", lambda r: r <= 1.5)
    sizes = [("1,000", zoo, "zoo1000")] + ([("5,000", results["zoo"]["zoo5000"]["rows"], "zoo5000")]
                                          if "regaudit zoo5000 --jobs 2" in results["zoo"].get("zoo5000", {}).get("rows", {}) else [])
    for size, rows_of, name in sizes:
        j1, j2 = rows_of[f"regaudit {name}"], rows_of[f"regaudit {name} --jobs 2"]
        rows.append(f"| zoo of {size}: `--jobs 1` / `--jobs 2` (wall) | {j1['wall'] / j2['wall']:.2f} | "
                    f"`--jobs 2` spends {j2['cpu'] / j1['cpu']:.2f}x the CPU of `--jobs 1` | >= 1.7, on idle cores | "
                    f"{_yes(j1['wall'] / j2['wall'] >= 1.7)} |")
    few = results["zoo"]["few"]["rows"]
    ratio("20 files: `--jobs 0` / serial", few["regaudit 20 files --jobs 0"], few["regaudit 20 files"], "<= 1 (+noise)",
          lambda r: r <= 1.05)
    ratio("one ResNet50 `.keras`: regaudit / floor", one["regaudit resnet50"], one["floor resnet50"], "<= 1.5",
          lambda r: r <= 1.5)
    growth_rows, counts = results["growth"]["rows"], results["growth"]["counts"]
    low, high = (10000, 50000) if 50000 in counts else (counts[-2], counts[-1])
    linear = growth_rows[f"regaudit {high}"]["cpu"] / growth_rows[f"regaudit {low}"]["cpu"]
    rows.append(f"| growth: regaudit CPU, {high:,} / {low:,} layers | | {linear:.2f} | ~{high / low:g} (linear) | "
                f"{_yes(linear <= high / low * 1.2)} |")
    ratio("zoo of 1,000: JSON / text", zoo["regaudit zoo1000 --format json"], zoo["regaudit zoo1000"], "<= 1.3",
          lambda r: r <= 1.3)
    ratio("zoo of 1,000: SARIF / text", zoo["regaudit zoo1000 --format sarif"], zoo["regaudit zoo1000"], "<= 1.3",
          lambda r: r <= 1.3)
    html = results["html"]
    rows.append(f"| HTML for 1,000 artifacts: size | {html['bytes'] / 1e6:.2f} MB = {html['bytes'] / 2**20:.2f} MiB | | "
                f"< 2 MB | {_yes(html['bytes'] < 2e6)} (decimal) / {_yes(html['bytes'] < 2 * 2**20)} (MiB) |")
    if html.get("open_seconds") is not None:
        rows.append(f"| HTML for 1,000 artifacts: opens in Chromium | {html['open_seconds']:.2f} s | | < 2 s | "
                    f"{_yes(html['open_seconds'] < 2)} |")
    return rows


def _yes(ok: bool) -> str:
    return "yes" if ok else "**no**"


def _loads(results: dict) -> str:
    groups = [results["one_file"]["fast"], results["zoo"]["zoo1000"], results["growth"]]
    return ", ".join(f"{g['load_before'][0]:.1f} → {g['load_after'][0]:.1f}" for g in groups) + \
        " (1-minute average before → after the one-file, zoo and growth groups)"


def _table(group: dict, per: int | None = None) -> str:
    head = "| command | wall median (ms) | wall min (ms) | CPU median (ms) |"
    line = "|---|---:|---:|---:|"
    if per:
        head += f" wall per file (ms) |"
        line += "---:|"
    head += " peak RSS (MB) | exit | runs |"
    line += "---:|---|---:|"
    rows = [head, line]
    for name, row in group["rows"].items():
        cells = f"| {name} | {row['wall'] * 1e3:.1f} | {row['wall_min'] * 1e3:.1f} | {row['cpu'] * 1e3:.1f} |"
        if per:
            cells += f" {row['wall'] * 1e3 / per:.3f} |"
        cells += f" {row['maxrss_kb'] / 1024:.1f} | {','.join(map(str, row['exits']))} | {row['runs']} |"
        rows.append(cells)
    return "\n".join(rows) + "\n"


def _growth_table(group: dict) -> str:
    rows = ["| layers | regaudit wall (ms) | regaudit CPU (ms) | floor wall (ms) | floor CPU (ms) | CPU ratio | "
            "regaudit CPU per layer above 10 layers (µs) |", "|---:|---:|---:|---:|---:|---:|---:|"]
    table = group["rows"]
    base = table["regaudit 10"]["cpu"]
    for n in group["counts"]:
        ours, floor = table[f"regaudit {n}"], table[f"floor {n}"]
        marginal = f"{(ours['cpu'] - base) / (n - 10) * 1e6:.1f}" if n > 10 else ""
        rows.append(f"| {n:,} | {ours['wall'] * 1e3:.1f} | {ours['cpu'] * 1e3:.1f} | {floor['wall'] * 1e3:.1f} | "
                    f"{floor['cpu'] * 1e3:.1f} | {ours['cpu'] / floor['cpu']:.2f} | {marginal} |")
    return "\n".join(rows) + "\n"


def kept_sections(previous: str) -> str:
    """The sections of other benchmarks in the previous RESULTS.md, as they are."""
    sections = previous.split("\n## ")
    kept = ["## " + section for section in sections[1:] if "separate from the runs above" in section.split("\n", 1)[0]]
    return "\n".join(section.rstrip() + "\n" for section in kept)


if __name__ == "__main__":
    data = json.loads((BENCH / ".cache" / "results.json").read_text())
    results = BENCH / "RESULTS.md"
    others = kept_sections(results.read_text()) if results.exists() else ""
    (BENCH / "RESULTS.md").write_text(markdown(data) + ("\n" + others if others else ""))
    sys.exit(0)
