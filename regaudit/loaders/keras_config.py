"""Build the normalized layer tree from a Keras model config of any dialect.

Keras 1 (list-shaped Sequential, `W_regularizer`, `bias` flags), Keras 2 / tf.keras / TF.js
(`{"class_name", "config"}` entries with list-shaped inbound nodes) and Keras 3 (`module` and
`registered_name` keys, `__keras_tensor__` inbound nodes) all become the same :class:`ModelTree`.
"""

from __future__ import annotations

import re

from regaudit._namedtuple import NamedTuple
from regaudit.loaders import regularizers
from regaudit.loaders.limits import LAYERS_VARIABLE, MAX_LAYERS, MAX_NESTING, raise_hint
from regaudit.loaders.problems import Corrupt, NoArchitecture, NotAModel, OverLimits
from regaudit.tree import EMPTY, Layer, LayerKind, ModelTree, Optimizer, join_path

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator, Mapping

_STRUCTURAL_KEYS = frozenset({"layers", "layer", "backward_layer", "cell", "cells"})

# Weight slots a layer creates, declared by `<slot>_initializer` keys in Keras 2/3 configs.
_INITIALIZED_SLOTS = frozenset(
    {"kernel", "bias", "recurrent", "depthwise", "pointwise", "embeddings", "gamma", "beta", "alpha"}
)
# Config flags that switch a weight off (the weight, and its regularizer, are then never created).
_SWITCHES = {"bias": ("use_bias", "bias"), "gamma": ("scale",), "beta": ("center",)}
# Keras 1 wrote a single `init`; what it initialized depends on the layer.
_KERAS1_INIT_SLOTS = {
    "Embedding": {"embeddings"},
    "PReLU": {"alpha"},
    "SeparableConvolution2D": {"depthwise", "pointwise", "bias"},
}
# Weights that built-in layers create whatever their config says: Keras fills a missing
# `*_initializer` key with the constructor's default, so a config without it still builds the
# weight (keras/src/layers/core/dense.py, convolutional/base_conv.py, core/embedding.py,
# rnn/{simple_rnn,lstm,gru}.py build(), Keras 3.15.1). Without this, deleting the initializer keys
# hid a layer from RA001/RA002 coverage and from [[require]] policies (RA501).
_BUILTIN_SLOTS = {
    **dict.fromkeys(
        ("Dense", "Conv1D", "Conv2D", "Conv3D", "Conv1DTranspose", "Conv2DTranspose", "Conv3DTranspose"),
        frozenset({"kernel", "bias"}),
    ),
    **dict.fromkeys(("DepthwiseConv1D", "DepthwiseConv2D"), frozenset({"depthwise", "bias"})),
    **dict.fromkeys(("SeparableConv1D", "SeparableConv2D"), frozenset({"depthwise", "pointwise", "bias"})),
    **dict.fromkeys(
        ("SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell"),
        frozenset({"kernel", "recurrent", "bias"}),
    ),
    "Embedding": frozenset({"embeddings"}),
}
# Keras 1 normalization layers wrote no initializer keys at all.
_NORMALIZATION_CLASSES = frozenset({"BatchNormalization", "LayerNormalization", "GroupNormalization"})
# Keys that differ between two serializations of one shared layer: each model that uses it writes
# its own connections.
_PER_MODEL_KEYS = frozenset({"inbound_nodes"})


def is_serialized_object(value: Any) -> bool:
    return isinstance(value, dict) and isinstance(value.get("class_name"), str) and "config" in value


def build_tree(
    model: Any,
    *,
    format: str,
    keras_version: str | None = None,
    optimizer: Optimizer | None = None,
) -> ModelTree:
    if not is_serialized_object(model):
        raise NotAModel("not a Keras model config: expected an object with class_name and config")
    builder = _TreeBuilder(regularizers.TFJS_DEFAULTS if format == "tfjs-layers" else regularizers.BUILTIN_DEFAULTS)
    root = builder.build(model, parent=None, depth=0)
    if root.kind is LayerKind.MODEL and not root.children:
        raise _no_layers(root)
    if root.kind is LayerKind.LAYER and not root.children:
        raise NoArchitecture(
            f"the config describes a single {root.class_name!r} object with no layer list "
            "(a subclassed model, or one layer rather than a model), so its sublayers and their "
            "regularizers are not in the file; save a Functional or Sequential model to audit it"
        )
    return ModelTree(root=root, format=format, keras_version=keras_version, optimizer=optimizer)


def _no_layers(root: Layer) -> Exception:
    # Checked with keras 3.15.1 and tf_keras 2.21: model_from_json of an empty Sequential builds a
    # model with no layers in both; an empty Functional fails in Keras 3 ("`inputs` argument
    # cannot be empty").
    if _is_functional(root):
        return Corrupt(
            f"the {root.class_name} model's layer list is empty: Keras 3 refuses to load it (`inputs` "
            "argument cannot be empty), and no Keras builds a usable model from it; save the model again"
        )
    return NoArchitecture(
        f"the {root.class_name} model's layer list is empty: it holds no layers, so there is nothing to audit"
    )


def _is_functional(layer: Layer) -> bool:
    return layer.class_name in ("Functional", "Model") or "input_layers" in layer.config or "output_layers" in layer.config


def layer_builder() -> "_TreeBuilder":
    """A builder for loaders that assemble one tree from separately saved layer configs (SavedModel
    metadata entries, which tf.keras reads): `builder.build({"class_name", "config"}, parent, depth,
    name=...)` -> Layer."""
    return _TreeBuilder(regularizers.BUILTIN_DEFAULTS)


def model_from_layer_list(layers: list, name: str = "sequential") -> dict:
    """Keras 1 and Keras 2.0-2.2.2 saved a Sequential config as a bare list of layers."""
    return {"class_name": "Sequential", "config": {"name": name, "layers": layers}}


def optimizer_from(serialized: Any) -> Optimizer | None:
    """The optimizer from a serialized optimizer object, unwrapping loss scaling."""
    if not isinstance(serialized, dict):
        return None
    if isinstance(serialized.get("class_name"), str):
        class_name, config = serialized["class_name"], serialized.get("config")
    elif isinstance(serialized.get("name"), str):  # Keras 1: {"name": "SGD", "lr": ...}
        class_name, config = serialized["name"], serialized
    else:
        return None
    if not isinstance(config, dict):
        config = {}
    bare = class_name.split(">")[-1]  # tf.keras >= 2.11 saves "Custom>AdamW"
    if bare == "LossScaleOptimizer" and "inner_optimizer" in config:
        return optimizer_from(config["inner_optimizer"])
    return Optimizer(bare, config)


class _TreeBuilder:
    def __init__(self, regularizer_defaults: Mapping[str, Mapping[str, float]]) -> None:
        # The factors the runtime reading the config gives a built-in regularizer that omits one.
        self._regularizer_defaults = regularizer_defaults
        # Keras 3 marks an object serialized twice (a layer shared by two nested models) with the
        # same shared_object_id; the layer is audited once, where Keras first builds it.
        self._shared: dict[Any, dict] = {}
        self._built = 0

    def build(self, entry: dict, parent: Layer | None, depth: int, name: str | None = None) -> Layer:
        if depth > MAX_NESTING:
            raise OverLimits(f"layers are nested more than {MAX_NESTING} levels deep; refusing the config")
        self._built += depth > 0  # the layers below the root, as reports count them
        if self._built > MAX_LAYERS:
            raise OverLimits(f"the model has more than {MAX_LAYERS:,} layers; refusing it; {raise_hint(LAYERS_VARIABLE)}")
        class_name = entry["class_name"]
        config = entry.get("config")
        if isinstance(config, list):  # Keras 1 / early Keras 2 Sequential
            config = {"layers": config}
        if not isinstance(config, dict):
            config = {}
        name = name or _layer_name(entry, config)
        layout = _layout(class_name, config)
        module, registered_name = entry.get("module"), entry.get("registered_name")
        layer = Layer(
            name=name,
            class_name=class_name,
            path=_join(parent, name),
            trainable=config.get("trainable", True) is not False,
            config=config,
            module=module if isinstance(module, str) else None,
            registered_name=registered_name if isinstance(registered_name, str) else None,
            regularizers=regularizers.layer_regularizers(
                class_name, config, defaults=self._regularizer_defaults, arguments=layout.regularizer_arguments
            ),
            parent=parent,
        )
        layer.weights, layer.absent_weights = layout.weights, layout.absent_weights
        self._add_children(layer, entry, depth, layout.nested_keys)
        return layer

    def _add_children(self, layer: Layer, entry: dict, depth: int, nested_keys: tuple[str, ...]) -> None:
        config = layer.config
        if "layers" in config:
            if not isinstance(config["layers"], list):
                raise Corrupt(f"{_where(layer)}: `layers` is {regularizers.describe_value(config['layers'])}, not a list "
                              "of layers; Keras cannot build this model")
            layer.kind = LayerKind.MODEL
            entries = []
            # Built one by one, depth first in config order, as Keras deserializes them: which copy
            # of a shared layer comes first depends on the nested models built before it.
            for position, entry in enumerate(config["layers"]):
                if not is_serialized_object(entry):
                    raise Corrupt(f"{_where(layer)}: entry {position} of the layer list is {regularizers.describe_value(entry)}, "
                                  "not a layer (class_name and config); Keras cannot build this model")
                if self._repeats_shared_layer(entry):
                    continue
                entries.append(entry)
                layer.children.append(self.build(entry, layer, depth + 1))
            _connect(layer, entries)
        elif is_serialized_object(config.get("layer")):
            layer.kind = LayerKind.WRAPPER
            if layer.class_name == "Bidirectional":
                layer.children = self._bidirectional_children(layer, depth)
                layer.outputs = tuple(child.name for child in layer.children)
            else:
                layer.children = [self.build(config["layer"], layer, depth + 1)]
                layer.outputs = (layer.children[0].name,)
        elif is_serialized_object(config.get("cell")):
            layer.kind = LayerKind.RNN
            layer.children = [self.build(config["cell"], layer, depth + 1)]
        elif isinstance(config.get("cells"), list):
            layer.kind = LayerKind.RNN
            layer.children = [self.build(c, layer, depth + 1) for c in config["cells"] if is_serialized_object(c)]
        # Custom layers may keep sublayers under keys of their own choosing.
        layer.children.extend(self.build(e, layer, depth + 1) for e in _custom_sublayers(config, nested_keys))

    def _bidirectional_children(self, layer: Layer, depth: int) -> list[Layer]:
        # Keras 3 saves both copies already named (forward_lstm, and backward_lstm or the name of
        # an explicit backward layer). Keras 1/2 and tf.keras save the user's layer(s) unprefixed
        # and name the copies on load: "forward_" + name, "backward_" + name; without a saved
        # backward layer the backward copy is rebuilt from `layer`, regularizers included.
        forward = layer.config["layer"]
        forward_name = _layer_name(forward, _config_of(forward))
        unprefixed = forward_name.removeprefix("forward_")
        backward = layer.config.get("backward_layer")
        if is_serialized_object(backward):
            saved = _layer_name(backward, _config_of(backward))
            backward_name = saved if forward_name.startswith("forward_") else "backward_" + saved
        else:
            backward, backward_name = forward, "backward_" + unprefixed
        return [
            self.build(forward, layer, depth + 1, name="forward_" + unprefixed),
            self.build(backward, layer, depth + 1, name=backward_name),
        ]

    def _repeats_shared_layer(self, entry: dict) -> bool:
        """A second serialization of a layer already audited: same shared_object_id, same config.

        Keras 3 (keras/src/saving/serialization_lib.py, 3.15.1) returns the object first built
        under an id for every later entry with that id, inside saving_lib's ObjectSharingScope;
        outside it (model_from_json) it builds each entry. An entry whose content differs from the
        first is therefore audited too: a duplicate id never hides a layer.
        """
        if "shared_object_id" not in entry:
            return False
        shared_id = entry["shared_object_id"]
        if isinstance(shared_id, (dict, list)):
            raise Corrupt(
                f"layer {_layer_name(entry, _config_of(entry))!r} has a shared_object_id that is "
                f"{regularizers.describe_value(shared_id)}, not a number: Keras cannot look it up, so it cannot load the model"
            )
        if shared_id not in self._shared:
            self._shared[shared_id] = entry
            return False
        return _without_connections(self._shared[shared_id]) == _without_connections(entry)


def _without_connections(entry: dict) -> dict:
    config = entry["config"]
    if isinstance(config, dict):
        config = {key: value for key, value in config.items() if key not in _PER_MODEL_KEYS}
    return {**{key: value for key, value in entry.items() if key not in _PER_MODEL_KEYS}, "config": config}


def _where(layer: Layer) -> str:
    return f"layer {layer.path!r}" if layer.path else f"the {layer.class_name} model"


def _connect(container: Layer, entries: list[dict]) -> None:
    """Record which sibling feeds which, and which children are the container's outputs."""
    children = container.children
    if any("inbound_nodes" in entry for entry in entries):
        for child, entry in zip(children, entries):
            child.inbound = tuple(dict.fromkeys(_tensor_sources(entry.get("inbound_nodes"))))
        declared = tuple(dict.fromkeys(_tensor_sources(container.config.get("output_layers"))))
        container.outputs = declared or ((children[-1].name,) if children else ())
    elif container.class_name == "Merge":  # Keras 1: parallel branches merged into one output
        container.outputs = tuple(child.name for child in children)
    else:  # Sequential: each layer feeds the next
        for previous, child in zip(children, children[1:]):
            child.inbound = (previous.name,)
        container.outputs = (children[-1].name,) if children else ()


def _tensor_sources(nodes: Any) -> Iterator[str]:
    """Names of the layers whose tensors appear in inbound nodes or output_layers, any dialect."""
    pending = [nodes]
    while pending:
        value = pending.pop()
        if isinstance(value, dict):
            history = value.get("config", {}).get("keras_history") if isinstance(value.get("config"), dict) else None
            if isinstance(history, list) and history and isinstance(history[0], str):
                yield history[0]  # Keras 3: {"class_name": "__keras_tensor__", "config": {"keras_history": [...]}}
            else:
                pending.extend(reversed(list(value.values())))
        elif isinstance(value, list):
            if _is_legacy_tensor_ref(value):
                yield value[0]  # Keras 1/2: [layer_name, node_index, tensor_index(, kwargs)]
            else:
                pending.extend(reversed(value))


def _is_legacy_tensor_ref(value: list) -> bool:
    return (
        3 <= len(value) <= 4
        and isinstance(value[0], str)
        and all(isinstance(index, int) and not isinstance(index, bool) for index in value[1:3])
    )


def _custom_sublayers(config: Mapping[str, Any], nested_keys: tuple[str, ...]) -> list[dict]:
    """Serialized layers a custom layer keeps under keys of its own choosing; `nested_keys` are
    the config's non-structural keys that hold an object or a list (_Layout.nested_keys)."""
    found = []
    for key in nested_keys:
        value = config[key]
        if isinstance(value, dict):
            if _looks_like_layer(value):
                found.append(value)
        else:
            for item in value:
                if isinstance(item, dict) and _looks_like_layer(item):
                    found.append(item)
    return found


_LAYER_KEY_SUFFIXES = ("_initializer", "_regularizer")


def _looks_like_layer(value: Any) -> bool:
    # Initializers, constraints and dtype policies are serialized objects too, but only layers
    # carry a name together with a trainable flag, a layer list, initializers or regularizers.
    if not isinstance(value, dict) or not isinstance(value.get("class_name"), str):
        return False
    config = value.get("config")
    if not isinstance(config, dict) or not isinstance(config.get("name"), str):
        return False
    if "trainable" in config or "layers" in config:
        return True
    for key in config:
        if key.endswith(_LAYER_KEY_SUFFIXES):
            return True
    return False


class _Layout(NamedTuple):
    """What a layer config's class, keys, value types and switch flags decide."""

    weights: frozenset[str]  # Layer.weights
    absent_weights: Mapping[str, str]  # Layer.absent_weights
    regularizer_arguments: tuple[str, ...]  # the `*_regularizer` keys, in config order
    nested_keys: tuple[str, ...]  # keys outside _STRUCTURAL_KEYS holding an object or a list


def _layout(class_name: str, config: Mapping[str, Any]) -> _Layout:
    # A model repeats a few shapes of layer config, and reading one key by key cost more than the
    # rest of building its layer: each shape is worked out once (a bounded number of them, since
    # the keys come from the file).
    key = (
        class_name,
        tuple(config),
        tuple(map(type, config.values())),
        tuple([config.get(flag) is False for flag in _SWITCH_FLAGS]),
    )
    layout = _LAYOUTS.get(key)
    if layout is None:
        layout = _Layout(
            *_weight_slots(class_name, config),
            tuple(key for key in config if key.endswith(regularizers.SUFFIX)),
            tuple(key for key, value in config.items() if key not in _STRUCTURAL_KEYS and isinstance(value, (dict, list))),
        )
        if len(_LAYOUTS) < _LAYOUTS_KEPT:
            _LAYOUTS[key] = layout
    return layout


def _weight_slots(class_name: str, config: Mapping[str, Any]) -> tuple[frozenset[str], Mapping[str, str]]:
    declared = {
        key[: -len("_initializer")]
        for key in config
        if key.endswith("_initializer") and key[: -len("_initializer")] in _INITIALIZED_SLOTS
    }
    declared |= _BUILTIN_SLOTS.get(class_name, frozenset())
    if "init" in config:  # Keras 1
        declared |= _KERAS1_INIT_SLOTS.get(class_name, {"kernel", "bias"})
    if "inner_init" in config:  # Keras 1 recurrent layers always had a bias
        declared |= {"recurrent", "bias"}
    if class_name in _NORMALIZATION_CLASSES:
        declared |= {"gamma", "beta"}
    switched_off = {
        slot: flag for slot, flags in _SWITCHES.items() for flag in flags if config.get(flag) is False
    }
    slots = frozenset(declared - set(switched_off))
    # A handful of distinct slot sets covers every layer: share them, since every tree is kept
    # until the report is written.
    return _SLOT_SETS.setdefault(slots, slots), switched_off or EMPTY


_SLOT_SETS: dict[frozenset[str], frozenset[str]] = {}
_SWITCH_FLAGS = tuple(flag for flags in _SWITCHES.values() for flag in flags)
_LAYOUTS: dict[tuple, _Layout] = {}
_LAYOUTS_KEPT = 4096


def _layer_name(entry: dict, config: Mapping[str, Any]) -> str:
    for candidate in (config.get("name"), entry.get("name")):
        if isinstance(candidate, str) and candidate:
            return candidate
    return _snake_case(entry["class_name"])


def _config_of(entry: dict) -> Mapping[str, Any]:
    return entry["config"] if isinstance(entry["config"], dict) else {}


def _join(parent: Layer | None, name: str) -> str:
    return "" if parent is None else join_path(parent.path, name)


def _snake_case(name: str) -> str:
    name = re.sub(r"\W+", "", name)
    name = re.sub("(.)([A-Z][a-z]+)", r"\1_\2", name)
    return re.sub("([a-z])([A-Z])", r"\1_\2", name).lower()
