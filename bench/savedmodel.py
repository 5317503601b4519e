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
import os
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


IN_PROCESS = r'''
import json, sys, time
from pathlib import Path
started = time.perf_counter()
import google.protobuf.descriptor_pb2, google.protobuf.message_factory
protobuf_import = time.perf_counter() - started
from regaudit.loaders.keras_zip import load_archive
from regaudit.loaders.savedmodel import load_saved_model
floor = {}
exec(sys.argv[3], floor)  # the floor's functions, not its top-level run
directory, keras_file = Path(sys.argv[1]), Path(sys.argv[2])

def best_ms(function, runs=9):
    function()
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return round(min(times) * 1000, 2)

def floor_read():
    data = (directory / "keras_metadata.pb").read_bytes()
    return sum(floor["count"](json.loads(text)) for number, entry in floor["fields"](data) if number == 1
               for field, text in floor["fields"](entry) if field == 5)

print(json.dumps({
    "protobuf import (cold, ms)": round(protobuf_import * 1000, 1),
    "floor: read + split + json.loads + count (ms)": best_ms(floor_read),
    "regaudit load_saved_model (ms)": best_ms(lambda: load_saved_model(directory)),
    "regaudit load_archive, same model as .keras (ms)": best_ms(lambda: load_archive(keras_file)),
}))
'''


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
    floor_functions = FLOOR.split("print(", 1)[0].replace("data = open(sys.argv[1], \"rb\").read()", "")
    in_process = subprocess.run(
        [python, "-c", IN_PROCESS, str(CACHE / "resnet50"), str(CACHE / "resnet50.keras"), floor_functions],
        capture_output=True, text=True, check=True,
    ).stdout
    print(json.dumps({
        "keras_metadata.pb bytes": metadata.stat().st_size,
        "load average (1 min)": os.getloadavg()[0],
        "wall, fresh process, median ms": {name: round(value, 1) for name, value in medians.items()},
        "in process, best of 9": json.loads(in_process),
        "runs": runs,
    }, indent=1))


if __name__ == "__main__":
    main()
