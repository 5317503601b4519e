#!/usr/bin/env bash
# Time `regaudit check` against a floor and against keras.load_model, on the same
# files, in one hyperfine run; then max RSS of each command once; then a ratio table.
#
#   bench/run.sh                        # uses $PYTHON (default python3) and `regaudit` on PATH
#   PYTHON=/work/venv/bin/python bench/run.sh
#   MIN_RUNS=10 WARMUP=2 bench/run.sh
#
# Needs: hyperfine, GNU time (/usr/bin/time), and keras in $PYTHON (to build the
# models and for the load_model route). Outputs go to bench/.cache/.
set -euo pipefail

cd "$(dirname "$0")/.."            # repo root: all paths below are relative to it
PYTHON=${PYTHON:-python3}
MIN_RUNS=${MIN_RUNS:-5}            # load_model takes seconds a run; fast commands get
WARMUP=${WARMUP:-1}                # many more runs anyway (hyperfine runs each >= 3 s)
OUT=bench/.cache
M=$OUT                             # where make_models.py puts the models

for tool in hyperfine /usr/bin/time; do
  command -v "$tool" >/dev/null || { echo "missing: $tool (apt-get install -y hyperfine time)" >&2; exit 2; }
done

# Without keras the load_model row would time a crash (hyperfine --ignore-failure
# would not stop), so check up front; find_spec is cheap, `import keras` is not.
"$PYTHON" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("keras") is None)' || {
  echo "$PYTHON has no keras: pip install -e \".[test]\" or set PYTHON=/path/to/venv/bin/python" >&2
  exit 2
}

# The regaudit CLI: $REGAUDIT, else on PATH, else next to $PYTHON (an unactivated venv).
if [[ -z ${REGAUDIT:-} ]]; then
  if command -v regaudit >/dev/null; then REGAUDIT=regaudit
  elif [[ -x "$(dirname "$(command -v "$PYTHON")")/regaudit" ]]; then
    REGAUDIT="$(dirname "$(command -v "$PYTHON")")/regaudit"
  fi
fi

# 1. Models (skipped when already there; `$PYTHON bench/make_models.py --force` to redo).
"$PYTHON" bench/make_models.py

# 2. Timing. name|command pairs; all in ONE hyperfine invocation so every command
#    sees the same machine state. --shell=none: no `sh -c` around each run (nothing
#    here needs a shell), so no shell start-up to subtract.
cmds=()
if [[ -n ${REGAUDIT:-} ]]; then
  for f in resnet50 resnet50_noweights small; do
    cmds+=("regaudit $f|$REGAUDIT check $M/$f.keras")
  done
else
  # Without the CLI, hyperfine would time a spawn failure; leave the rows out instead.
  echo "WARNING: regaudit CLI not found (PATH, \$REGAUDIT, next to $PYTHON): its rows are skipped" >&2
fi
for f in resnet50 resnet50_noweights small; do
  cmds+=("floor $f|$PYTHON bench/floor.py $M/$f.keras")
done
# Context, not a competitor: what any click-based CLI that reads a zip pays before doing anything.
cmds+=("imports only|$PYTHON bench/imports_only.py")
# Only the real file: keras refuses resnet50_noweights.keras (its weights are missing).
cmds+=("load_model resnet50|$PYTHON bench/load_model_walk.py $M/resnet50.keras")

args=()
for c in "${cmds[@]}"; do args+=(--command-name "${c%%|*}" "${c#*|}"); done
# --ignore-failure: regaudit exits 1 when it has findings (and these models have some).
hyperfine --shell=none --ignore-failure --warmup "$WARMUP" --min-runs "$MIN_RUNS" \
  --export-json "$OUT/hyperfine.json" --export-markdown "$OUT/hyperfine.md" \
  "${args[@]}"

# 3. Max RSS, one run each, with GNU time. Output of the command itself is discarded.
: > "$OUT/rss.tsv"
for c in "${cmds[@]}"; do
  name=${c%%|*}
  # shellcheck disable=SC2086  # the command is split into words on purpose
  /usr/bin/time -v -o "$OUT/time.txt" ${c#*|} >/dev/null 2>&1 || true
  kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$OUT/time.txt")
  printf '%s\t%s\n' "$name" "$kb" >> "$OUT/rss.tsv"
done

# 4. Ratio table (also written to bench/.cache/summary.md).
"$PYTHON" bench/summarize.py "$OUT/hyperfine.json" "$OUT/rss.tsv" | tee "$OUT/summary.md"
