"""TensorFlow SavedModel directories written by tf.keras (TF 2.0-2.15) and tf_keras.

What is read, and nothing else (`variables/` and `assets/` are never opened):

- `keras_metadata.pb` (tf.keras >= 2.5, tf_keras): a `SavedMetadata` message with one entry per
  saved Keras object: node id, node path (`root.layer_with_weights-0`, `root.encoder.dense`), an
  identifier (`_tf_keras_network`, `_tf_keras_layer`, ...) and a JSON metadata string that holds
  the object's class name and config.
- without it, `saved_model.pb`: TF 2.0-2.4 kept the same JSON in the object graph's user objects;
  node paths are derived from the graph as tf_keras does (`load.py` `_generate_object_paths`).

What tf_keras rebuilds on load (tf_keras 2.21 `saving/legacy/saved_model/load.py`,
`KerasObjectLoader`), and so what the tree follows:

- A Functional or Sequential model is rebuilt from its config's wiring, but each of its layers is
  revived from that layer's own metadata entry (`_revive_graph_network` defers the model;
  `_reconstruct_model` passes the revived layers as `created_layers`). Where an entry and the
  root config disagree, the entry wins, and the tree records the disagreement.
- Any other object revived from its config (a wrapper, an RNN, a registered subclassed model)
  recreates its sublayers itself; their own entries are then ignored.
- A subclassed model whose class cannot be revived is rebuilt from the entries of its tracked
  sublayers, which is where its layer list comes from here: the node paths give the nesting.
"""

from __future__ import annotations

from pathlib import Path

from regaudit._namedtuple import NamedTuple
from regaudit.loaders.keras_config import build_tree, layer_builder, optimizer_from
from regaudit.loaders.limits import MAX_NESTING, MiB, check_declared_size, check_json_values, parse_json, read_bounded
from regaudit.loaders.problems import Corrupt, NoArchitecture, OverLimits
from regaudit.tree import ConfigDisagreement, Layer, LayerKind, ModelTree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

KERAS_METADATA = "keras_metadata.pb"
SAVED_MODEL = "saved_model.pb"
FORMAT = "savedmodel"
# keras_metadata.pb repeats each layer's config in its own entry and in every model above it, so
# it is a few times larger than the model's config.json (tf_keras ResNet50: 0.4 MB, 178 entries).
MAX_KERAS_METADATA_BYTES = 128 * MiB
# saved_model.pb also holds the traced graph and functions: tens of MB for a large model.
MAX_SAVED_MODEL_BYTES = 256 * MiB
# A node path has a few components per level of nesting (`root.blocks.0.layer_with_weights-1`).
MAX_NODE_PATH_PARTS = 4 * MAX_NESTING

# tf_keras saving/legacy/saved_model/constants.py
_METRIC = "_tf_keras_metric"
_SUBCLASSED_MODEL = "_tf_keras_model"
_LAYER_IDENTIFIERS = frozenset(
    {
        "_tf_keras_input_layer",
        "_tf_keras_layer",
        "_tf_keras_rnn_layer",
        _SUBCLASSED_MODEL,
        "_tf_keras_network",
        "_tf_keras_sequential",
    }
)
_KERAS_IDENTIFIERS = _LAYER_IDENTIFIERS | {_METRIC}


class KerasObject(NamedTuple):
    """One entry of the Keras metadata: a layer or model, and its decoded JSON metadata."""

    node_id: int
    node_path: str  # "root", "root.layer_with_weights-0", "root.blocks.0"
    identifier: str  # "_tf_keras_layer", ...
    metadata: dict  # class_name, config, name, trainable, keras_version, training_config, ...


def load_saved_model(path: Path) -> ModelTree:
    """The layer tree of the Keras model in SavedModel directory `path`.

    Raises NoArchitecture (RA901, skipped) for a SavedModel with no Keras model in it, Corrupt
    (RA903) for metadata that does not decode, OverLimits (RA906) for oversize files or nesting.
    """
    return tree_from_objects(_keras_objects(path))


def tree_from_objects(objects: list[KerasObject]) -> ModelTree:
    """The tree tf_keras would rebuild from these metadata entries (see the module docstring)."""
    root = next((entry for entry in objects if entry.node_path == "root"), None)
    if root is None:
        raise NoArchitecture(
            "TensorFlow SavedModel whose root object is not a Keras model (a tf.Module or another "
            "library's model holding Keras layers): there is no Keras model to audit"
        )
    class_name = root.metadata.get("class_name")
    if not isinstance(class_name, str):
        raise Corrupt(f"the root entry of the Keras metadata has no class_name; {_REWRITE}")
    reviver = _Reviver(_EntryIndex(objects))
    if _has_layer_list(root):
        tree = build_tree({"class_name": class_name, "config": root.metadata["config"]}, format=FORMAT)
        reviver.revive_layers_of(tree.root, root, depth=0)
    else:
        tree = ModelTree(root=_subclassed_root(root, reviver), format=FORMAT)
    tree.disagreements = tuple(reviver.disagreements)
    version = root.metadata.get("keras_version")
    training = root.metadata.get("training_config")
    tree.keras_version = version if isinstance(version, str) else None
    tree.optimizer = optimizer_from(training.get("optimizer_config")) if isinstance(training, dict) else None
    return tree


_REWRITE = "the SavedModel may be truncated or written by another tool; save it again with model.save"


# --- reading the metadata -------------------------------------------------------------------


def _keras_objects(path: Path) -> list[KerasObject]:
    from google.protobuf.message import DecodeError

    from regaudit.loaders.savedmodel_proto import message_classes

    messages = message_classes()
    source = path / KERAS_METADATA
    if not source.is_file():
        source = path / SAVED_MODEL
        if not source.is_file():
            raise NoArchitecture(
                "text-format SavedModel (saved_model.pbtxt) without keras_metadata.pb: regaudit "
                "reads the binary saved_model.pb, where TF 2.0-2.4 kept the Keras metadata"
            )
    try:
        if source.name == KERAS_METADATA:
            return _from_keras_metadata(source, messages)
        return _from_object_graph(source, messages)
    except DecodeError as error:
        raise Corrupt(f"{source.name} is not a valid protobuf message ({error}); {_REWRITE}") from None
    except RecursionError:
        raise OverLimits(f"{source.name} nests messages deeper than the decoder allows; refusing it") from None


def _read(path: Path, limit: int) -> bytes:
    check_declared_size(path.stat().st_size, limit, path.name)
    with open(path, "rb") as stream:
        return read_bounded(stream, limit, path.name)


def _from_keras_metadata(path: Path, messages: dict[str, Any]) -> list[KerasObject]:
    saved = messages["SavedMetadata"].FromString(_read(path, MAX_KERAS_METADATA_BYTES))
    # tf_keras keeps the last node of each node_id ({x.node_id: x for x in metadata.nodes} in
    # KerasObjectLoader.__init__, tf_keras/src/saving/legacy/saved_model/load.py, 2.21.0): an earlier
    # duplicate must not hide the entry that is loaded.
    loaded = {node.node_id: node for node in saved.nodes}.values()
    nodes = [node for node in loaded if node.identifier in _LAYER_IDENTIFIERS]
    check_json_values((node.metadata for node in nodes), KERAS_METADATA)
    return [_decoded(node.node_id, node.node_path, node.identifier, node.metadata, KERAS_METADATA) for node in nodes]


def _from_object_graph(path: Path, messages: dict[str, Any]) -> list[KerasObject]:
    saved = messages["SavedModel"].FromString(_read(path, MAX_SAVED_MODEL_BYTES))
    if not saved.meta_graphs:
        raise Corrupt(f"saved_model.pb holds no meta graph; {_REWRITE}")
    graph = saved.meta_graphs[0].object_graph_def.nodes
    keras_nodes = [
        (node_id, node.user_object) for node_id, node in enumerate(graph)
        if node.user_object.identifier in _KERAS_IDENTIFIERS
    ]
    if not keras_nodes:
        raise NoArchitecture(
            "TensorFlow SavedModel without Keras metadata (no keras_metadata.pb, no Keras object in "
            "saved_model.pb): a tf.Module or another library's model, with no Keras layers to audit"
        )
    if not any(user.metadata for _, user in keras_nodes):
        raise NoArchitecture(
            "Keras model exported with tf.saved_model.save: TF >= 2.5 keeps the layer configs in "
            "keras_metadata.pb, which this SavedModel lacks, so there is no layer config to audit; "
            "export it with model.save(path) to keep them"
        )
    check_json_values((user.metadata for _, user in keras_nodes), SAVED_MODEL)
    paths = _node_paths(graph)
    return [
        _decoded(node_id, paths.get(node_id, ""), user.identifier, user.metadata, SAVED_MODEL)
        for node_id, user in keras_nodes
        if user.identifier in _LAYER_IDENTIFIERS
    ]


def _node_paths(graph: Any) -> dict[int, str]:
    """tf_keras `_generate_object_paths`: depth first from the root, the first path found wins."""
    paths = {0: "root"}
    pending = [0]
    while pending:
        node_id = pending.pop()
        for child in graph[node_id].children:
            if child.node_id in paths or not 0 <= child.node_id < len(graph):
                continue
            paths[child.node_id] = f"{paths[node_id]}.{child.local_name}"
            if paths[child.node_id].count(".") > MAX_NODE_PATH_PARTS:
                raise OverLimits(f"saved_model.pb nests objects more than {MAX_NODE_PATH_PARTS} levels deep; refusing it")
            pending.append(child.node_id)
    return paths


def _decoded(node_id: int, node_path: str, identifier: str, metadata: str, source: str) -> KerasObject:
    where = f"{source} entry {node_path or node_id}"
    if node_path.count(".") > MAX_NODE_PATH_PARTS:
        raise OverLimits(f"{where}: node path nested more than {MAX_NODE_PATH_PARTS} levels deep; refusing it")
    decoded = parse_json(metadata, where) if metadata else {}
    if not isinstance(decoded, dict):
        raise Corrupt(f"{where}: metadata is not a JSON object; {_REWRITE}")
    return KerasObject(node_id, node_path, identifier, decoded)


# --- building the tree ----------------------------------------------------------------------


class _EntryIndex:
    """Entries by node path, and each entry's nearest ancestor entry (node paths nest with '.')."""

    def __init__(self, objects: list[KerasObject]) -> None:
        ordered = sorted(objects, key=lambda entry: entry.node_id)
        self._by_path = {entry.node_path: entry for entry in ordered}
        self._children: dict[str, list[KerasObject]] = {}
        self._named: dict[tuple[str, str | None], KerasObject] = {}
        for entry in ordered:
            parent = self._parent_path(entry.node_path)
            if parent is not None:
                self._children.setdefault(parent, []).append(entry)
                self._named.setdefault((parent, _entry_name(entry)), entry)

    def _parent_path(self, node_path: str) -> str | None:
        prefix = node_path
        while "." in prefix:
            prefix = prefix.rsplit(".", 1)[0]
            if prefix in self._by_path:
                return prefix
        return None

    def children(self, entry: KerasObject) -> list[KerasObject]:
        return self._children.get(entry.node_path, [])

    def child_named(self, entry: KerasObject, name: str) -> KerasObject | None:
        return self._named.get((entry.node_path, name))


def _entry_name(entry: KerasObject) -> str | None:
    name = entry.metadata.get("name")
    return name if isinstance(name, str) and name else None


def _has_layer_list(entry: KerasObject) -> bool:
    config = entry.metadata.get("config")
    return isinstance(config, dict) and isinstance(config.get("layers"), list)


class _Reviver:
    """Builds layers from their own entries, as tf_keras revives them, and notes disagreements."""

    def __init__(self, entries: _EntryIndex) -> None:
        self._entries = entries
        self._builder = layer_builder()
        self.disagreements: list[ConfigDisagreement] = []

    def revive_layers_of(self, model: Layer, entry: KerasObject, depth: int) -> None:
        """Replace each layer of graph network `model` by the one its entry revives, if it differs."""
        if depth > MAX_NESTING:
            raise OverLimits(f"layers are nested more than {MAX_NESTING} levels deep; refusing the SavedModel")
        for index, child in enumerate(model.children):
            child_entry = self._entries.child_named(entry, child.name)
            if child_entry is None:
                continue
            if child.kind is LayerKind.MODEL and _has_layer_list(child_entry):
                self.revive_layers_of(child, child_entry, depth + 1)
                continue
            revived = self._from_config(child_entry, model, depth + 1, child.name)
            if revived is not None and _signature(revived) != _signature(child):
                revived.inbound = child.inbound
                model.children[index] = revived
                self.disagreements.append(ConfigDisagreement(child.path, child))
                child = revived
            self._add_tracked_sublayers(child, child_entry, depth + 1)

    def tracked_sublayers(self, entry: KerasObject, parent: Layer, depth: int) -> Iterator[Layer]:
        """A subclassed model's layers: the entries whose node paths lie below its own."""
        if depth > MAX_NESTING:
            raise OverLimits(f"layers are nested more than {MAX_NESTING} levels deep; refusing the SavedModel")
        for child_entry in self._entries.children(entry):
            name = _entry_name(child_entry) or child_entry.node_path.rsplit(".", 1)[-1]
            layer = self._from_config(child_entry, parent, depth, name) or self._placeholder(child_entry, parent, depth, name)
            if layer.kind is LayerKind.MODEL and _has_layer_list(child_entry):
                self.revive_layers_of(layer, child_entry, depth)
            self._add_tracked_sublayers(layer, child_entry, depth)
            yield layer

    def _add_tracked_sublayers(self, layer: Layer, entry: KerasObject, depth: int) -> None:
        # tf_keras revives a subclassed model it cannot rebuild from its config from the entries
        # of its tracked layers; other layers recreate their sublayers from their own config.
        if entry.identifier == _SUBCLASSED_MODEL and not layer.children:
            layer.kind = LayerKind.MODEL
            layer.children = list(self.tracked_sublayers(entry, layer, depth + 1))

    def _from_config(self, entry: KerasObject, parent: Layer, depth: int, name: str) -> Layer | None:
        class_name, config = entry.metadata.get("class_name"), entry.metadata.get("config")
        if not isinstance(class_name, str) or not isinstance(config, dict):
            return None
        layer = self._builder.build({"class_name": class_name, "config": config}, parent, depth, name=name)
        _take_trainable_flag(layer, entry)
        return layer

    def _placeholder(self, entry: KerasObject, parent: Layer, depth: int, name: str) -> Layer:
        # A layer saved without a config (get_config not implemented): shown, with nothing known.
        class_name = entry.metadata.get("class_name")
        layer = self._builder.build(
            {"class_name": class_name if isinstance(class_name, str) else "Layer", "config": {}}, parent, depth, name=name
        )
        _take_trainable_flag(layer, entry)
        return layer


def _take_trainable_flag(layer: Layer, entry: KerasObject) -> None:
    # tf_keras sets `trainable` from the entry's metadata, over the config's.
    trainable = entry.metadata.get("trainable")
    if isinstance(trainable, bool):
        layer.trainable = trainable


def _signature(layer: Layer) -> list[tuple]:
    return [(item.path, item.class_name, item.trainable, item.regularizers) for item in (layer, *layer.walk())]


def _subclassed_root(root: KerasObject, reviver: _Reviver) -> Layer:
    layer = Layer(name=_entry_name(root) or "model", class_name=root.metadata["class_name"], path="")
    _take_trainable_flag(layer, root)
    layer.kind = LayerKind.MODEL
    layer.children = list(reviver.tracked_sublayers(root, layer, depth=1))
    if not layer.children:
        raise NoArchitecture(
            f"subclassed Keras model {layer.class_name!r} with no tracked layers in its SavedModel "
            "metadata: there is no layer to audit"
        )
    return layer
