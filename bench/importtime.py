"""What a one-file `regaudit check` imports beyond the floor, and what each module costs.

    python bench/importtime.py [--runs 9] [--source DIR] MODEL

Runs `regaudit check --no-respect-gitignore MODEL` (regaudit taken from --source, default this
checkout) and `bench/floor.py MODEL` under `python -X importtime`, each --runs times from a scratch
folder (no configuration file is found from there, as in bench.py), and keeps each module's
best self time. Prints every module the command imports and the floor does not, its self time in
µs, and the totals for regaudit's own modules and for the rest. The check runs through
`regaudit.cli.main` after a plain `import` of the text reporter: `-X importtime` lists no module
imported with `importlib.import_module`, which is how reporters are loaded. Byte-compile first
(`python -m compileall -q regaudit`, with PYTHONDONTWRITEBYTECODE unset), or every run compiles.
Standard library only.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
LINE = re.compile(r"import time:\s+(\d+) \|\s+\d+ \|\s*(\S+)")
CHECK = """import sys
import regaudit.reporters.text
from regaudit.cli import main
sys.argv = ["regaudit", "check", "--no-respect-gitignore", {model!r}]
main()
"""


def self_times(argv: list[str], env: dict[str, str], cwd: str) -> dict[str, int]:
    completed = subprocess.run([sys.executable, "-X", "importtime", *argv], capture_output=True, text=True,
                               env=env, cwd=cwd)
    return {match[2]: int(match[1]) for match in LINE.finditer(completed.stderr)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=9)
    parser.add_argument("--source", default=str(ROOT), help="checkout whose regaudit is measured")
    parser.add_argument("model")
    args = parser.parse_args()
    model = str(Path(args.model).resolve())
    env = {**os.environ, "PYTHONPATH": str(Path(args.source).resolve()), "NO_COLOR": "1"}
    best: dict[str, int] = {}
    with tempfile.TemporaryDirectory() as scratch:
        floor = set(self_times([str(ROOT / "bench" / "floor.py"), model], env, scratch))
        for _ in range(args.runs):
            for module, micros in self_times(["-c", CHECK.format(model=model)], env, scratch).items():
                best[module] = min(best.get(module, micros), micros)
    beyond = {module: micros for module, micros in best.items() if module not in floor}
    for module, micros in sorted(beyond.items(), key=lambda item: -item[1]):
        print(f"{micros:7d}  {module}")
    own = sum(micros for module, micros in beyond.items() if module.split(".")[0] == "regaudit")
    print(f"regaudit's modules: {own / 1000:.1f} ms; other modules the floor does not import: "
          f"{(sum(beyond.values()) - own) / 1000:.1f} ms (self times, best of {args.runs})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
