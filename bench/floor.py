"""The floor: the least work any config-reading linter must do.

    python bench/floor.py MODEL.keras

Open the zip, read config.json, parse it, walk every dict/list and count keys
ending in "_regularizer" whose value is not null. Print the count.
Deliberately imports nothing but the standard library's zipfile and json, so its
time is Python start-up + unzip of one member + json.loads + one walk.
"""
import json
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


with zipfile.ZipFile(sys.argv[1]) as zf:
    config = json.loads(zf.read("config.json"))
print(count(config))
