#!/usr/bin/env bash
# Every benchmark of issue 11 in one run, on inputs built here with real Keras; writes
# bench/RESULTS.md and bench/growth.png.
#
#   bench/run.sh                        # $PYTHON (default python3) must have the test extra (keras)
#   PYTHON=/work/venv/bin/python bench/run.sh
#   RUNS=5 bench/run.sh                 # rounds for the fast commands (default 9)
#   bench/run.sh --quick                # 3 rounds; no load_model, modelscan or 5,000-file zoo
#
# Steps: build the models (bench/make_models.py, kept in bench/.cache/ once built); byte-compile
# this checkout's regaudit (as an installed wheel is); make the bench environment
# bench/.cache/venv with modelscan and matplotlib (bench-only tools, never regaudit's
# dependencies); time everything (bench/bench.py); plot the growth curve (bench/plot.py).
set -euo pipefail

cd "$(dirname "$0")/.."            # repo root: all paths below are relative to it
PYTHON=${PYTHON:-python3}
RUNS=${RUNS:-9}
VENV=bench/.cache/venv

"$PYTHON" -c 'import importlib.util as u, sys; sys.exit(u.find_spec("keras") is None)' || {
  echo "$PYTHON has no keras: pip install -e \".[test]\" or set PYTHON=/path/to/venv/bin/python" >&2
  exit 2
}

# 1. Inputs, built with real Keras.
"$PYTHON" bench/make_models.py

# 2. Byte-code, so that a run does not compile regaudit's sources (PYTHONDONTWRITEBYTECODE may be set).
"$PYTHON" -m compileall -q regaudit

# 3. The bench environment: modelscan and matplotlib, kept out of regaudit's environment. It also
#    sees $PYTHON's packages (after its own), for the tensorflow and h5py modelscan's scanners need.
if [[ ! -x $VENV/bin/python ]]; then
  "$PYTHON" -m venv "$VENV"
  "$VENV/bin/pip" install -q modelscan matplotlib || echo "WARNING: could not install modelscan/matplotlib into $VENV" >&2
  "$PYTHON" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])' \
    > "$("$VENV/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')/zz-bench-keras.pth"
fi

# 4. Time everything; 5. plot.
"$PYTHON" bench/bench.py --runs "$RUNS" "$@"
"$VENV/bin/python" bench/plot.py || echo "WARNING: no plot (matplotlib missing in $VENV)" >&2
"$PYTHON" bench/report.py
echo "wrote bench/RESULTS.md"
