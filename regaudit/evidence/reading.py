"""Find an artifact's weights, map each stored variable to its layer and slot, and compute the
statistics and penalties. Called only through :func:`regaudit.evidence.collect`.
"""

from __future__ import annotations

import json
import re
import zipfile
from contextlib import ExitStack
from pathlib import Path

from regaudit._namedtuple import NamedTuple
from regaudit.evidence import Evidence, SlotEvidence, WeightStats
from regaudit.evidence import slots as slot_tables
from regaudit.evidence.penalties import Values, penalty
from regaudit.evidence.statistics import accumulate
from regaudit.evidence.stores import (
    Shards,
    Tensor,
    Unreadable,
    WeightsProblem,
    hdf5_tensor,
    inside,
    open_hdf5,
    open_member,
    tfjs_tensor,
    tfjs_width,
)
from regaudit.loaders.problems import ArtifactProblem
from regaudit.tree import Layer, LayerKind, ModelTree, Origin, Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

KERAS3_WEIGHTS = "model.weights.h5"
KERAS3_SHARD_INDEX = "model.weights.json"
MAX_SHARDS = 10_000
# Weight entries in a TF.js weightsManifest, all groups together (its shard paths are held to
# MAX_SHARDS): a real model lists one per variable, a 1,000-layer network a few thousand.
MAX_MANIFEST_WEIGHTS = 100_000
_MAX_INDEX_BYTES = 64 * 1024 * 1024
ACTIVITY_REASON = "activity regularizers act on layer outputs, which depend on the data; not computable from weights"
# Keras 3 adds only trainable variables' penalties (Layer._get_regularization_losses iterates
# trainable_weights); tf.keras adds a frozen layer's penalty as a constant (the cross-check tests both).
FROZEN_REASON = {
    "keras3": "the layer is frozen: Keras 3 adds this term to the loss only while the layer is trainable",
    "tf_keras": "the layer is frozen: tf.keras still adds this term to the loss, as a constant with no gradient",
    "keras1": "the layer is frozen: regaudit has not established whether Keras 1 adds this term to the loss",
}


class Located(NamedTuple):
    """One stored variable: the layer it belongs to, its Keras name and regularizer slot."""

    layer: str  # tree path ("" for variables no layer claims)
    name: str
    slot: str | None
    tensor: Tensor | Unreadable
    mapped: bool = True


class Reading(NamedTuple):
    source: str
    located: list[Located]
    refusals: dict[str, str]  # layer path -> why its variables were not mapped


def collect_evidence(path: Path, tree: ModelTree, near_zero: float) -> Evidence:
    try:
        with ExitStack() as stack:
            reading = _read(path, tree, stack)
            return _evidence(tree, reading, near_zero)
    except WeightsProblem as problem:
        return _without_weights(tree, str(problem))
    except MemoryError:
        return _without_weights(tree, "reading the weights ran out of memory; not read")
    except ArtifactProblem as problem:  # a limit from regaudit.loaders.limits
        return _without_weights(tree, problem.message)
    except (OSError, ValueError, KeyError, RuntimeError, TypeError, zipfile.BadZipFile) as error:
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return _without_weights(tree, f"the weights could not be read ({detail})")


# --- where the weights are -----------------------------------------------------------------------


def _read(path: Path, tree: ModelTree, stack: ExitStack) -> Reading:
    if tree.format == "keras-zip":
        return _keras3(tree, _archive_files(path, stack), f"{KERAS3_WEIGHTS} in the archive")
    if tree.format == "keras-dir":
        return _keras3(tree, _directory_files(path, stack), f"{KERAS3_WEIGHTS} in the directory")
    if tree.format == "hdf5":
        return _legacy(tree, open_hdf5(stack, str(path)), path.stat().st_size)
    if tree.format == "tfjs-layers":
        return _tfjs(tree, path)
    if tree.format == "savedmodel":
        raise WeightsProblem("SavedModel variables/ (a TensorFlow checkpoint) are not read by regaudit")
    raise WeightsProblem("this file holds a model config only, no weights")


def _archive_files(path: Path, stack: ExitStack) -> list[tuple[Any, int]]:
    archive = stack.enter_context(zipfile.ZipFile(path))
    names = set(archive.namelist())
    if KERAS3_WEIGHTS in names:
        return [_member_hdf5(stack, path, archive, KERAS3_WEIGHTS)]
    if KERAS3_SHARD_INDEX in names:
        index = archive.read(KERAS3_SHARD_INDEX) if archive.getinfo(KERAS3_SHARD_INDEX).file_size < _MAX_INDEX_BYTES else b""
        return [_member_hdf5(stack, path, archive, name) for name in _shard_names(index, names.__contains__)]
    raise WeightsProblem(f"the archive holds no {KERAS3_WEIGHTS}: the model was saved without weights")


def _member_hdf5(stack: ExitStack, path: Path, archive: zipfile.ZipFile, name: str) -> tuple[Any, int]:
    view, size = open_member(stack, path, archive, archive.getinfo(name))
    return open_hdf5(stack, view), size


def _directory_files(path: Path, stack: ExitStack) -> list[tuple[Any, int]]:
    weights = path / KERAS3_WEIGHTS
    if weights.is_file():
        return [(open_hdf5(stack, str(weights)), weights.stat().st_size)]
    index = path / KERAS3_SHARD_INDEX
    if index.is_file() and index.stat().st_size < _MAX_INDEX_BYTES:
        names = _shard_names(index.read_bytes(), lambda name: inside(path, name) is not None and (path / name).is_file())
        return [(open_hdf5(stack, str(path / name)), (path / name).stat().st_size) for name in names]
    raise WeightsProblem(f"the directory holds no {KERAS3_WEIGHTS}: the model was saved without weights")


def _shard_names(index: bytes, exists: Any) -> list[str]:
    """Shard files named by a Keras sharded-weights index ({"weight_map": {group: file(s)}})."""
    try:
        weight_map = json.loads(index).get("weight_map")
    except (ValueError, AttributeError):
        weight_map = None
    if not isinstance(weight_map, dict):
        raise WeightsProblem(f"{KERAS3_SHARD_INDEX} is not a Keras sharded-weights index (no weight_map)")
    names: dict[str, None] = {}
    for files in weight_map.values():
        for name in files if isinstance(files, list) else [files]:
            if not isinstance(name, str) or "/" in name or "\\" in name or name.startswith("."):
                raise WeightsProblem(f"{KERAS3_SHARD_INDEX} names a shard outside its folder ({str(name)[:80]!r})")
            names[name] = None
    if len(names) > MAX_SHARDS:
        raise WeightsProblem(f"{KERAS3_SHARD_INDEX} names more than {MAX_SHARDS} shards; refusing it")
    missing = [name for name in names if not exists(name)]
    if missing:
        raise WeightsProblem(f"weight shard {missing[0]} named by {KERAS3_SHARD_INDEX} is missing")
    return list(names)


# --- Keras 3: variables stored by index ----------------------------------------------------------


class _Union:
    """The groups of one or more HDF5 files (the shards of one store) seen as one tree."""

    def __init__(self, files: list[tuple[Any, int]]) -> None:
        self.files = files

    def get(self, path: str) -> Iterator[tuple[Any, int]]:
        for file, size in self.files:
            item = file.get(path) if path else file
            if item is not None:
                yield item, size

    def keys(self, path: str) -> list[str]:
        import h5py

        keys: dict[str, None] = {}
        for group, _ in self.get(path):
            if isinstance(group, h5py.Group):
                keys.update(dict.fromkeys(group.keys()))
        return list(keys)

    def object_name(self, path: str) -> str | None:
        for group, _ in self.get(_join(path, "vars")):
            name = group.attrs.get("name")
            if isinstance(name, bytes):
                name = name.decode("utf-8", "replace")
            if isinstance(name, str):
                return name
        return None

    def datasets(self, path: str, skip: set[str]) -> dict[str, tuple[Any, int]]:
        """Datasets below `path` (relative names), not descending into the groups in `skip`."""
        import h5py

        found: dict[str, tuple[Any, int]] = {}
        pending = [path]
        while pending:
            current = pending.pop()
            for key in self.keys(current):
                full = _join(current, key)
                if full in skip:
                    continue
                for item, size in self.get(full):
                    if isinstance(item, h5py.Dataset):
                        found.setdefault(full[len(path) + 1 :] if path else full, (item, size))
                    elif isinstance(item, h5py.Group) and full not in pending:
                        pending.append(full)
        return found


def _keras3(tree: ModelTree, files: list[tuple[Any, int]], source: str) -> Reading:
    store = _Union(files)
    groups = _keras3_groups(tree, store)
    located: list[Located] = []
    refusals: dict[str, str] = {}
    child_groups = set(groups.values())
    for layer in [tree.root, *tree.layers()]:
        group = groups.get(layer.path)
        if group is None:
            refusals[layer.path] = "its weights are not in the weights file"
            continue
        # Training state beside the model's own weights: the optimizer's slots, tf.keras's metrics.
        skip = (child_groups - {group}) | ({"optimizer", "metrics"} if layer is tree.root else set())
        stored = store.datasets(group, skip)
        if not stored:
            continue
        expected, refusal = slot_tables.keras3_variables(layer, stored.keys())
        if refusal is not None:
            refusals[layer.path] = refusal
        for relative, (dataset, size) in stored.items():
            variable = expected.get(relative)
            tensor = hdf5_tensor(dataset, size)
            if variable is None:
                located.append(Located(layer.path, relative, None, tensor, mapped=False))
            else:
                located.append(Located(layer.path, variable.name, variable.slot, tensor))
    return Reading(source, located, refusals)


def _keras3_groups(tree: ModelTree, store: _Union) -> dict[str, str]:
    """Tree layer path -> its HDF5 group. Keras >= 3.6 writes each layer's name on its `vars`
    group, which is matched first; files without those names (Keras 3.0-3.5, tf.keras 2.x
    `.keras`) are matched as Keras itself addresses them (saving_lib._save_container_state):
    a container's layers in order as `layers/<snake_case class>` with `_1`, `_2`... for repeats,
    a wrapper's layer as `layer`, Bidirectional's as `forward_layer` and `backward_layer`, an
    RNN's cell as `cell` and StackedRNNCells' as `cells/<snake_case class>`."""
    groups = {"": ""}
    pending: list[tuple[Layer, str]] = [(tree.root, "")]
    while pending:
        layer, group = pending.pop()
        # Each candidate's name is read once: a model of n layers costs n attribute reads, not n**2.
        by_name: dict[str, list[str]] = {}
        for candidate in _child_candidates(store, group, top=layer is tree.root):
            by_name.setdefault(store.object_name(candidate) or "", []).append(candidate)
        positions = _positional_groups(layer, group)
        for child, position in zip(layer.children, positions):
            matches = by_name.get(child.name)
            match = matches.pop(0) if matches else (position if not store.object_name(position) else None)
            if match is not None and any(True for _ in store.get(match)):
                groups[child.path] = match
                pending.append((child, match))
    return groups


def _positional_groups(layer: Layer, group: str) -> list[str]:
    if layer.class_name == "Bidirectional":
        return [_join(group, "forward_layer"), _join(group, "backward_layer")]
    if layer.kind is LayerKind.WRAPPER:
        return [_join(group, "layer")]
    if layer.kind is LayerKind.RNN and layer.class_name != "StackedRNNCells":
        return [_join(group, "cell")]
    folder = _join(group, "cells" if layer.class_name == "StackedRNNCells" else "layers")
    used: dict[str, int] = {}
    keys = []
    for child in layer.children:
        key = _snake_case(child.class_name)
        used[key] = used.get(key, -1) + 1
        keys.append(_join(folder, key if used[key] == 0 else f"{key}_{used[key]}"))
    return keys


def _snake_case(name: str) -> str:
    """keras.src.utils.naming.to_snake_case."""
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()


def _child_candidates(store: _Union, group: str, top: bool) -> list[str]:
    candidates = []
    for key in store.keys(group):
        if key == "vars" or (top and key in ("optimizer", "metrics")):
            continue
        path = _join(group, key)
        if key in ("layers", "cells"):
            candidates += [_join(path, inner) for inner in store.keys(path)]
        else:
            candidates.append(path)
    return candidates


def _join(group: str, key: str) -> str:
    return f"{group}/{key}" if group else key


# --- legacy HDF5 and TF.js: variables stored by name ---------------------------------------------


def _legacy(tree: ModelTree, file: Any, size: int) -> Reading:
    weights = file.get("model_weights")
    if weights is None:
        raise WeightsProblem("the HDF5 file holds no model_weights group: the model was saved without weights")
    located: list[Located] = []
    for layer_name in _text_list(weights.attrs.get("layer_names")):
        group = weights.get(layer_name)
        if group is None:
            continue
        for weight_name in _text_list(group.attrs.get("weight_names")):
            dataset = group.get(weight_name)
            tensor = hdf5_tensor(dataset, size) if dataset is not None else Unreadable((), "unknown", "listed but not stored")
            located.append(_by_name(tree, layer_name, weight_name, tensor))
    return Reading("model_weights in the HDF5 file", located, {})


def _tfjs(tree: ModelTree, path: Path) -> Reading:
    from regaudit.loaders.limits import MAX_CONFIG_BYTES, check_declared_size, read_bounded

    size = path.stat().st_size
    check_declared_size(size, MAX_CONFIG_BYTES, path.name)
    with open(path, "rb") as stream:
        # Bounded by the file's own size: reading up to the limit would reserve the whole limit.
        document = json.loads(read_bounded(stream, size, path.name))
    manifest = document.get("weightsManifest") if isinstance(document, dict) else None
    if not isinstance(manifest, list):
        raise WeightsProblem("model.json has no weightsManifest: the weights were not exported")
    for key, limit in (("paths", MAX_SHARDS), ("weights", MAX_MANIFEST_WEIGHTS)):
        # Each shard path costs a resolution and a stat, each weight a statistics record.
        listed = sum(len(group[key]) for group in manifest if isinstance(group, dict) and isinstance(group.get(key), list))
        if listed > limit:
            raise WeightsProblem(f"weightsManifest lists {listed:,} {key}, more than {limit:,}; refusing it")
    located: list[Located] = []
    for number, group in enumerate(manifest):
        located += _tfjs_group(tree, path.parent, number, group)
    return Reading("the binary shards named in weightsManifest", located, {})


def _tfjs_group(tree: ModelTree, folder: Path, number: int, group: Any) -> list[Located]:
    if not isinstance(group, dict) or not isinstance(group.get("paths"), list) or not isinstance(group.get("weights"), list):
        raise WeightsProblem(f"weightsManifest group {number + 1} lacks paths or weights")
    files = [inside(folder, name) for name in group["paths"]]
    if any(file is None for file in files):
        raise WeightsProblem(f"weightsManifest group {number + 1} names a shard outside the model's folder")
    missing = [name for name, file in zip(group["paths"], files) if not file.is_file()]  # type: ignore[union-attr]
    if missing:
        raise WeightsProblem(f"weight shard {missing[0]} named by weightsManifest is missing")
    entries = []
    declared = 0
    for entry in group["weights"]:
        shape = entry.get("shape") if isinstance(entry, dict) else None
        width = tfjs_width(entry.get("dtype"), entry.get("quantization")) if isinstance(entry, dict) else None
        if not isinstance(entry.get("name") if isinstance(entry, dict) else None, str) or width is None or not (
            isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0 for n in shape)
        ):
            raise WeightsProblem(f"weightsManifest group {number + 1} has an entry with no name, a bad shape or an "
                                 "unsupported dtype")
        count = 1
        for n in shape:
            count *= n
        entries.append((entry, tuple(shape), declared))
        declared += count * width
    shards = Shards(files)  # type: ignore[arg-type]
    if shards.total != declared:
        raise WeightsProblem(f"weightsManifest group {number + 1} declares {declared:,} bytes of weights but its "
                             f"shards hold {shards.total:,}: truncated, or the shapes or dtypes lie")
    return [
        _by_name(tree, entry["name"].split("/")[0], entry["name"],
                 tfjs_tensor(shards, offset, shape, entry["dtype"], entry.get("quantization")))
        for entry, shape, offset in entries
    ]


def _by_name(tree: ModelTree, group: str, weight_name: str, tensor: Tensor | Unreadable) -> Located:
    """Map a stored weight name (`inner/dense/kernel:0`, `lstm/lstm_cell/kernel`, `dense_1_W:0`)."""
    top = next((layer for layer in tree.root.children if layer.name == group), None)
    if top is None:
        return Located("", weight_name, None, tensor, mapped=False)
    parts = weight_name.split(":")[0].split("/")
    layer = top
    for part in parts[:-1]:
        deeper = next((d for d in layer.walk() if d.name == part), None)
        if deeper is not None:
            layer = deeper
    # tf.keras names a TimeDistributed's weights after the wrapper alone (time_distributed/kernel:0).
    while layer.kind is LayerKind.WRAPPER and len(layer.children) == 1:
        layer = layer.children[0]
    variable = slot_tables.named_variable(tree, layer, parts[-1])
    if variable is None:
        return Located(layer.path, weight_name, None, tensor, mapped=False)
    return Located(layer.path, variable.name, variable.slot, tensor)


def _text_list(value: Any) -> list[str]:
    if value is None:
        return []
    items = value.tolist() if hasattr(value, "tolist") else value
    if not isinstance(items, list):
        items = [items]
    return [item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item) for item in items]


def evidence_from_values(tree: ModelTree, values: Any, near_zero: float) -> Evidence:
    import numpy

    layers = {layer.path: layer for layer in tree.layers()}
    located = []
    for path, weights in values.items():
        for name, value in weights.items():
            array = numpy.asarray(value, dtype=numpy.float32)
            tensor = Tensor(array.shape, str(array.dtype), lambda array=array: iter([array]), lambda array=array: array)
            variable = slot_tables.named_variable(tree, layers[path], name) if path in layers else None
            located.append(Located(path, name, variable.slot if variable else None, tensor, variable is not None))
    return _evidence(tree, Reading("values given in memory", located, {}), near_zero)


# --- statistics and penalties --------------------------------------------------------------------


def _evidence(tree: ModelTree, reading: Reading, near_zero: float) -> Evidence:
    line = slot_tables.line_of(tree)
    weights: dict[str, list[WeightStats]] = {}
    values: dict[tuple[str, str], list[tuple[WeightStats, Tensor | Unreadable]]] = {}
    for item in reading.located:
        stats = _statistics(item, near_zero)
        weights.setdefault(item.layer, []).append(stats)
        if item.slot is not None:
            values.setdefault((item.layer, item.slot), []).append((stats, item.tensor))
    slots = {
        (layer.path, regularizer.slot): _slot(layer, regularizer, values.get((layer.path, regularizer.slot), []),
                                              reading.refusals.get(layer.path), line)
        for layer, regularizer in tree.regularized()
    }
    return Evidence({path: tuple(items) for path, items in weights.items()}, slots, None, reading.source)


def _statistics(item: Located, near_zero: float) -> WeightStats:
    tensor = item.tensor
    if isinstance(tensor, Unreadable):
        nan = float("nan")
        return WeightStats(item.name, tensor.shape, tensor.dtype, nan, nan, nan, nan, 0, item.slot, item.mapped, tensor.reason)
    try:
        total = accumulate(tensor.blocks(), near_zero)
    except (OSError, ValueError, RuntimeError, TypeError, KeyError) as error:
        nan = float("nan")
        detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return WeightStats(item.name, tensor.shape, tensor.dtype, nan, nan, nan, nan, 0, item.slot, item.mapped,
                           f"its values could not be read ({detail}): truncated or corrupt")
    return WeightStats(
        item.name, tensor.shape, tensor.dtype, total.sum_abs, total.sum_squares, total.max_abs,
        total.zero_fraction, total.nonfinite, item.slot, item.mapped, None, total.near_zero_fraction,
    )


def _slot(
    layer: Layer, regularizer: Regularizer, found: list[tuple[WeightStats, Tensor | Unreadable]],
    refusal: str | None, line: str,
) -> SlotEvidence:
    if not regularizer.is_weight_penalty:
        return SlotEvidence(None, ACTIVITY_REASON)
    if regularizer.origin not in (Origin.BUILTIN, Origin.LEGACY):
        return SlotEvidence(None, f"{regularizer.origin.value} regularizer: regaudit never runs custom code, so its "
                                  "penalty is not computed")
    if not found:
        return SlotEvidence(None, refusal or f"no stored weight maps to the {regularizer.slot} slot")
    unreadable = next((stats.reason for stats, _ in found if stats.reason), None)
    if unreadable is not None:
        return SlotEvidence(None, f"the {regularizer.slot} weight was not read: {unreadable}")
    total = 0.0
    for stats, tensor in found:
        assert isinstance(tensor, Tensor)
        term = penalty(regularizer, Values(stats.sum_abs, stats.sum_squares, stats.shape, tensor.load), line)
        if term.penalty is None:
            return SlotEvidence(None, term.reason)
        total += term.penalty
    if not layer.effectively_trainable:
        return SlotEvidence(total, FROZEN_REASON[line], counted=line != "keras3")
    return SlotEvidence(total)


def _without_weights(tree: ModelTree, problem: str) -> Evidence:
    reason = f"weights not read: {problem}"
    slots = {(layer.path, r.slot): SlotEvidence(None, reason) for layer, r in tree.regularized()}
    return Evidence({}, slots, problem, None)

