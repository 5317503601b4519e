"""The floor: the least work any config-reading linter must do.

    python bench/floor.py MODEL.keras|DIRECTORY ...

For each model (a directory stands for the .keras files in it, in sorted order): open the zip,
read config.json, parse it, walk every dict/list and count keys ending in "_regularizer" whose
value is not null. Print one line per model: the count and the path.
Deliberately imports nothing but the standard library's os, zipfile and json, so its time is
Python start-up + per model: unzip of one member + json.loads + one walk.
"""
import json
import os
import sys
import zipfile


def count(node):
    n = 0
    # Explicit stack instead of recursion: configs of deeply nested models
    # cannot hit the recursion limit.
    stack = [node]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            for key, value in node.items():
                if key.endswith("_regularizer") and value is not None:
                    n += 1
                stack.append(value)
        elif isinstance(node, list):
            stack.extend(node)
    return n


def models(arguments):
    """The model files named: a directory stands for its .keras files, in sorted order (also used
    by load_model_walk.py, so that both walk the same files in the same order)."""
    for given in arguments:
        if os.path.isdir(given):
            yield from (os.path.join(given, name) for name in sorted(os.listdir(given)) if name.endswith(".keras"))
        else:
            yield given


def main():
    lines = []
    for path in models(sys.argv[1:]):
        with zipfile.ZipFile(path) as zf:
            config = json.loads(zf.read("config.json"))
        lines.append(f"{count(config)} {path}\n")
    sys.stdout.write("".join(lines))


if __name__ == "__main__":
    main()
