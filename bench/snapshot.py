"""Snapshot regaudit's reports on the fixtures and the corpus, to prove a speed change changed no byte.

    python bench/snapshot.py SOURCE_ROOT OUT_DIR [INPUT ...]
    diff -r BEFORE_DIR AFTER_DIR

Runs `regaudit check` from SOURCE_ROOT (a checkout: it goes first on PYTHONPATH) on each INPUT
(default: fixtures/models of this checkout and $REGAUDIT_CORPUS) as a directory walk and as
explicitly named files, in every report format that is compared, serially and with --jobs 2, and
writes each report and its exit code to OUT_DIR. Take one snapshot from the commit before the
change (e.g. `git archive BASE | tar -x -C /tmp/base`) and one after, then compare the folders.
"""
import os
import subprocess
import sys
from pathlib import Path

FORMATS = ("text", "json", "sarif", "html", "junit", "github", "markdown")
HERE = Path(__file__).resolve().parent.parent


def main(root: str, out: str, inputs: list[str]) -> int:
    inputs = inputs or [str(HERE / "fixtures" / "models"), os.environ.get("REGAUDIT_CORPUS", "/work/shared/corpus")]
    env = {**os.environ, "PYTHONPATH": str(Path(root).resolve()), "NO_COLOR": "1"}
    Path(out).mkdir(parents=True, exist_ok=True)
    for given in inputs:
        folder = Path(given).resolve()
        files = sorted(str(path) for path in folder.iterdir() if path.name != "MANIFEST.tsv")
        for format_ in FORMATS:
            for jobs in ("1", "2"):
                for how, paths in (("walk", [str(folder)]), ("named", files)):
                    name = f"{folder.name}.{how}.jobs{jobs}.{format_}"
                    command = [sys.executable, "-m", "regaudit", "check", "--format", format_, "--jobs", jobs, *paths]
                    # cwd is the inputs' parent, so relative report paths are the same for every run.
                    done = subprocess.run(command, cwd=folder.parent, env=env, capture_output=True)
                    (Path(out) / name).write_bytes(done.stdout)
                    (Path(out) / f"{name}.exit").write_text(f"{done.returncode}\n{done.stderr.decode(errors='replace')}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], sys.argv[3:]))
