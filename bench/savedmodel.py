"""What a SavedModel audit costs beyond the floor of reading its keras_metadata.pb.

    python bench/savedmodel.py [--runs 15] [--build]   # builds bench/.cache/savedmodel/ once (tf_keras)

Times, as fresh processes, on the same tf_keras ResNet50 (weights=None, L2(1e-4) on every
Conv2D/Dense kernel) saved as a SavedModel and as `.keras`:

- `floor`: Python start-up, read keras_metadata.pb, split it into entries with a minimal
  protobuf wire reader, json.loads every entry's metadata and count non-null `*_regularizer`
  keys: the least any reader of that file does (no protobuf package, no layer tree, no report);
- `regaudit savedmodel`: `regaudit check DIR` (text report);
- `regaudit .keras`: `regaudit check FILE.keras`, the same model, for comparison.

Prints medians and the differences in milliseconds. Needs tf_keras only to build the models.
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

CACHE = Path(__file__).resolve().parent / ".cache" / "savedmodel"
FLOOR = r'''
import json, sys
data = open(sys.argv[1], "rb").read()

def fields(buffer):
    position = 0
    while position < len(buffer):
        key, position = varint(buffer, position)
        if key & 7 == 2:
            length, position = varint(buffer, position)
            yield key >> 3, buffer[position:position + length]
            position += length
        else:
            _, position = varint(buffer, position)

def varint(buffer, position):
    value = shift = 0
    while True:
        byte = buffer[position]
        position += 1
        value |= (byte & 0x7F) << shift
        shift += 7
        if byte < 0x80:
            return value, position

def count(node):
    found, stack = 0, [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            found += sum(1 for key, value in node.items() if key.endswith("_regularizer") and value is not None)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found

print(sum(count(json.loads(text)) for number, entry in fields(data) if number == 1
          for field, text in fields(entry) if field == 5))
'''


def build() -> None:
    import os

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    import tf_keras

    model = tf_keras.applications.ResNet50(weights=None)
    regularized = tf_keras.models.clone_model(model, clone_function=_with_l2(tf_keras))
    CACHE.mkdir(parents=True, exist_ok=True)
    regularized.save(CACHE / "resnet50", save_format="tf", save_traces=False)
    regularized.save(CACHE / "resnet50.keras")


def _with_l2(tf_keras):
    def clone(layer):
        config = layer.get_config()
        if isinstance(layer, (tf_keras.layers.Conv2D, tf_keras.layers.Dense)):
            config["kernel_regularizer"] = tf_keras.regularizers.L2(1e-4)
        return layer.__class__.from_config(config)

    return clone


def median_ms(command: list[str], runs: int) -> float:
    subprocess.run(command, capture_output=True, check=False)  # warm-up: file cache, .pyc
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(command, capture_output=True, check=False)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--build", action="store_true", help="rebuild the models")
    arguments = parser.parse_args()
    runs = arguments.runs
    if arguments.build or not (CACHE / "resnet50" / "keras_metadata.pb").is_file():
        build()
    python = sys.executable
    metadata = CACHE / "resnet50" / "keras_metadata.pb"
    commands = {
        "floor": [python, "-c", FLOOR, str(metadata)],
        "regaudit savedmodel": [python, "-m", "regaudit", "check", str(CACHE / "resnet50")],
        "regaudit .keras": [python, "-m", "regaudit", "check", str(CACHE / "resnet50.keras")],
    }
    medians = {name: median_ms(command, runs) for name, command in commands.items()}
    print(json.dumps({
        "keras_metadata.pb bytes": metadata.stat().st_size,
        "median ms": {name: round(value, 1) for name, value in medians.items()},
        "savedmodel - floor (ms)": round(medians["regaudit savedmodel"] - medians["floor"], 1),
        "savedmodel - .keras (ms)": round(medians["regaudit savedmodel"] - medians["regaudit .keras"], 1),
        "runs": runs,
    }, indent=1))


if __name__ == "__main__":
    main()
