"""Which stored variable is which weight, per layer class and Keras line: data established with
real Keras (regaudit/evidence/slot_tables.json, written by fixtures/establish_slots.py, whose
docstring says how), never guessed.

- Keras 3 stores a layer's variables by index under its group (`vars/0`, `cell/vars/2`); the
  table gives, per class, the relative path, Keras's name and the regularizer argument of each
  variable with every weight switched on. A weight switched off by `use_bias`, `center` or
  `scale` is absent and the later indices of its group close up (confirmed per class by the
  script). Any other difference between what is stored and what the table expects refuses the
  whole layer: its variables are reported unmapped.
- tf_keras, Keras 2 and TF.js store weights by name (`dense/kernel:0`); the table gives, per
  class, the regularizer argument of each variable name. Keras 1 names weights `<layer>_W`,
  `<layer>_b`, `<layer>_U` (keras/layers/core.py and recurrent.py, Keras 1.2), which
  W_regularizer, b_regularizer and U_regularizer cover.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

from regaudit._namedtuple import NamedTuple
from regaudit.tree import Layer, ModelTree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable

TABLE = Path(__file__).with_name("slot_tables.json")
SUFFIX = "_regularizer"
# Config flag -> the weight it switches off (Keras 3 and tf_keras alike).
SWITCHES = {"use_bias": "bias", "center": "beta", "scale": "gamma"}
# Keras 1 weight-name suffixes -> (Keras name of the weight, regularizer slot that covers it).
KERAS1_SUFFIXES = {"W": ("kernel", "kernel"), "b": ("bias", "bias"), "U": ("recurrent_kernel", "recurrent")}


class Variable(NamedTuple):
    name: str  # Keras's name: kernel, recurrent_kernel, moving_mean
    slot: str | None  # the regularizer slot covering it (kernel, recurrent, depthwise), None if none


@lru_cache(maxsize=1)
def tables() -> dict[str, Any]:
    return json.loads(TABLE.read_text(encoding="utf-8"))


def line_of(tree: ModelTree) -> str:
    """The Keras line whose formulas and storage apply: "keras3", "tf_keras" (Keras 2 too) or "keras1"."""
    version = tree.keras_version or ""
    if version[:1].isdigit():
        major = version.split(".")[0]
        return "keras3" if int(major) >= 3 else "keras1" if major == "1" else "tf_keras"
    return "keras3" if tree.format in ("keras-zip", "keras-dir") else "tf_keras"


def _slot(argument: str | None) -> str | None:
    return argument[: -len(SUFFIX)] if argument else None


def keras3_variables(layer: Layer, stored: Iterable[str]) -> tuple[dict[str, Variable], str | None]:
    """Stored relative path -> variable for one layer's group, or a refusal saying why not."""
    stored = set(stored)
    entry = tables()["keras3"]["classes"].get(layer.class_name)
    if entry is None:
        return {}, f"regaudit has not established where Keras 3 stores {layer.class_name}'s weights; not guessing"
    variables = list(entry["variables"])
    for flag, weight in SWITCHES.items():
        if layer.config.get(flag) is False:
            if flag not in entry.get("confirmed_switches", ()):
                return {}, f"{layer.class_name} with {flag}=False is not in the established table; not guessing"
            variables = [v for v in variables if v["name"] != weight]
    expected = {path: Variable(v["name"], _slot(v["regularizer"])) for path, v in zip(_closed_up(variables), variables)}
    if set(expected) != stored:
        return {}, (
            f"the file stores {len(stored)} variables for this {layer.class_name} where Keras 3 creates "
            f"{len(expected)} ({', '.join(v.name for v in expected.values())}); not guessing"
        )
    return expected, None


def _closed_up(variables: list[dict]) -> list[str]:
    counters: dict[str, int] = {}
    paths = []
    for variable in variables:
        group = variable["path"].rsplit("/", 1)[0]
        paths.append(f"{group}/{counters.get(group, 0)}")
        counters[group] = counters.get(group, 0) + 1
    return paths


def named_variable(tree: ModelTree, layer: Layer, stored_name: str) -> Variable | None:
    """The variable a stored weight name (last path component, `:0` removed) stands for."""
    line = line_of(tree)
    if line == "keras1":
        return _keras1_variable(layer, stored_name)
    names = _name_table(line).get(layer.class_name)
    if names is None or stored_name not in names:
        return None
    return Variable(stored_name, _slot(names[stored_name]))


def _keras1_variable(layer: Layer, stored_name: str) -> Variable | None:
    suffix = stored_name[len(layer.name) + 1 :] if stored_name.startswith(layer.name + "_") else stored_name
    known = KERAS1_SUFFIXES.get(suffix.split("_")[0])
    if known is None:
        return Variable(suffix, None) if suffix in ("gamma", "beta", "running_mean", "running_std") else None
    name, slot = known
    if layer.class_name == "Embedding" and suffix == "W":
        return Variable("embeddings", "embeddings")
    return Variable(name if suffix in KERAS1_SUFFIXES else suffix, slot)


@lru_cache(maxsize=None)
def _name_table(line: str) -> dict[str, dict[str, str | None]]:
    if line == "tf_keras":
        return {name: entry["variables"] for name, entry in tables()["tf_keras"]["classes"].items()}
    # Keras 3's legacy HDF5 writer names weights by variable name; a name several variables
    # share (a MultiHeadAttention's four kernels) maps only if they share a regularizer too.
    result: dict[str, dict[str, str | None]] = {}
    for class_name, entry in tables()["keras3"]["classes"].items():
        names: dict[str, str | None] = {}
        ambiguous = set()
        for variable in entry["variables"]:
            if variable["name"] in names and names[variable["name"]] != variable["regularizer"]:
                ambiguous.add(variable["name"])
            names[variable["name"]] = variable["regularizer"]
        result[class_name] = {name: argument for name, argument in names.items() if name not in ambiguous}
    return result
