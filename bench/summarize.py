"""Turn hyperfine's JSON + the max-RSS list into the table bench/RESULTS.md wants.

    python bench/summarize.py bench/.cache/hyperfine.json bench/.cache/rss.tsv

Standard library only. Rows whose command was not run (e.g. no regaudit CLI yet)
show as "TBD"; ratios that need them do too.
"""
import json
import sys

# (label, numerator, denominator, goal test, goal text)
RATIOS = [
    ("regaudit / floor (resnet50)", "regaudit resnet50", "floor resnet50",
     lambda r: r <= 2, "<= 2"),
    ("load_model / regaudit (resnet50)", "load_model resnet50", "regaudit resnet50",
     lambda r: r >= 20, ">= 20"),
    ("regaudit resnet50 / noweights", "regaudit resnet50", "regaudit resnet50_noweights",
     lambda r: r <= 1.2, "~1 (weights cost nothing)"),
    ("floor resnet50 / noweights", "floor resnet50", "floor resnet50_noweights",
     None, "reference"),
    ("regaudit resnet50 / small", "regaudit resnet50", "regaudit small",
     None, "config size effect"),
    ("load_model / floor (resnet50)", "load_model resnet50", "floor resnet50",
     None, "reference"),
    ("imports only / floor", "imports only", "floor resnet50",
     None, "what argparse + zipfile + json cost before any work"),
]


def main(json_path, rss_path):
    with open(json_path) as f:
        results = {r["command"]: r for r in json.load(f)["results"]}
    rss = {}
    with open(rss_path) as f:
        for line in f:
            name, _, kb = line.rstrip("\n").partition("\t")
            rss[name] = int(kb) if kb.isdigit() else None

    print("| command | median (ms) | mean ± σ (ms) | min (ms) | runs | exit codes | max RSS (MB) |")
    print("|---|---:|---:|---:|---:|---|---:|")
    for name, r in results.items():
        codes = ",".join(str(c) for c in sorted(set(r.get("exit_codes") or [])))
        mb = f"{rss[name] / 1024:.0f}" if rss.get(name) else "?"
        print(f"| {name} | {r['median'] * 1e3:.1f} | {r['mean'] * 1e3:.1f} ± {r['stddev'] * 1e3:.1f} "
              f"| {r['min'] * 1e3:.1f} | {len(r['times'])} | {codes} | {mb} |")

    # Medians: on a shared VM a few slow runs move the mean by several milliseconds.
    print("\n| ratio (of medians) | value | goal | met |")
    print("|---|---:|---|---|")
    for label, num, den, ok, goal in RATIOS:
        if num in results and den in results:
            value = results[num]["median"] / results[den]["median"]
            met = "-" if ok is None else ("yes" if ok(value) else "NO")
            print(f"| {label} | {value:.2f} | {goal} | {met} |")
        else:
            print(f"| {label} | TBD | {goal} | TBD |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
