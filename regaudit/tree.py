"""The normalized layer tree: the one structure every rule and every reporter reads.

Loaders are the only code that knows file formats and Keras dialects; they produce a
:class:`ModelTree`. Nothing here knows where a tree came from beyond the facts recorded on it.
"""

from __future__ import annotations

import math
from enum import Enum

from regaudit._namedtuple import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Iterator, Mapping

# The shared default for mapping fields. Typed read-only and never mutated; a plain dict (not a
# MappingProxyType) so that trees and settings pickle, for --jobs.
EMPTY: Mapping[str, Any] = {}


class Origin(str, Enum):
    """Where a regularizer's implementation comes from, which decides whether it reloads."""

    BUILTIN = "builtin"  # keras.regularizers L1, L2, L1L2, OrthogonalRegularizer
    REGISTERED = "registered"  # @register_keras_serializable: "package>Name"
    UNREGISTERED = "unregistered"  # custom class Keras cannot find without custom_objects
    FUNCTION = "function"  # a plain (unregistered) function
    LAMBDA = "lambda"  # a lambda: marshalled bytecode in the file
    LEGACY = "legacy"  # Keras 1 flat dict {"name": "WeightRegularizer", "l1": .., "l2": ..}
    UNKNOWN = "unknown"  # an entry regaudit cannot interpret


class LayerKind(str, Enum):
    MODEL = "model"  # Functional / Sequential / anything holding a `layers` list
    WRAPPER = "wrapper"  # TimeDistributed, Bidirectional and other wrappers
    RNN = "rnn"  # generic RNN holding a `cell`, StackedRNNCells holding `cells`
    LAYER = "layer"


class Regularizer(NamedTuple):
    """One regularized slot of one layer, normalized from any Keras serialization."""

    slot: str  # kernel, bias, activity, recurrent, depthwise, ... or a custom `foo`
    argument: str | None  # the config key as written (`W_regularizer`); None for ActivityRegularization
    class_name: str | None  # bare class or function name (`L2`, `ScaledL2`, `my_fn`, `<lambda>`)
    origin: Origin
    factors: Mapping[str, float] = EMPTY
    options: Mapping[str, Any] = EMPTY  # non-numeric settings (`mode`)
    module: str | None = None
    registered_name: str | None = None
    problem: str | None = None  # for UNKNOWN: why the entry could not be interpreted
    identifier: str | None = None  # the string as saved, for an entry saved as a bare string ("l1_l2")

    @property
    def is_weight_penalty(self) -> bool:
        return self.slot != "activity"

    @property
    def is_noop(self) -> bool:
        """All factors zero: the entry looks like regularization and does nothing."""
        factors = self.factors
        return bool(factors) and all(value == 0 for value in factors.values())

    @property
    def invalid_factors(self) -> dict[str, float]:
        return {
            name: value
            for name, value in self.factors.items()
            if math.isnan(value) or math.isinf(value) or value < 0
        }


def path_segment(name: str) -> str:
    """A layer name as one segment of a layer path: `/` inside a name is written `%2F` (and `%`
    itself `%25`), so that Caffe-ported names such as `conv1/7x7_s2` do not read as nesting.
    This form is what every report shows and what per-layer-ignores globs match."""
    return name.replace("%", "%25").replace("/", "%2F")


def join_path(parent: str, name: str) -> str:
    """The path of the layer `name` inside the layer at `parent` ("" for the root model)."""
    segment = path_segment(name)
    return f"{parent}/{segment}" if parent else segment


class Layer:
    """A layer (or nested model, wrapper, RNN cell) at one place in the model.

    The builder fills in `kind`, `weights`, `absent_weights`, `inbound`, `outputs` and `children`
    as it reads the layer's config and its neighbours.
    """

    __slots__ = (
        "name", "class_name", "path", "trainable", "config", "module", "registered_name", "regularizers",
        "parent", "kind", "weights", "absent_weights", "inbound", "outputs", "children", "_consumer_index",
        "_output_names", "_weight_penalties",
    )

    def __init__(
        self,
        name: str,
        class_name: str,
        path: str,
        *,
        trainable: bool = True,
        config: Mapping[str, Any] = EMPTY,
        module: str | None = None,
        registered_name: str | None = None,
        regularizers: tuple[Regularizer, ...] = (),
        parent: "Layer | None" = None,
    ) -> None:
        self.name = name
        self.class_name = class_name
        self.path = path  # path_segment()s joined with "/" below the root model; "" for the root itself
        self.trainable = trainable  # the layer's own flag, as saved
        self.config = config
        self.module = module
        self.registered_name = registered_name
        self.regularizers = regularizers
        self.parent = parent
        self.kind = LayerKind.LAYER
        self.weights: frozenset[str] = frozenset()  # weight slots the layer creates
        # Slots the config switches off, with the flag that does it: {"bias": "use_bias"}.
        self.absent_weights: Mapping[str, str] = EMPTY
        self.inbound: tuple[str, ...] = ()  # names of sibling layers whose outputs feed this one
        self.outputs: tuple[str, ...] = ()  # for containers: names of the children that are outputs
        self.children: list["Layer"] = []
        self._consumer_index: dict[str, list["Layer"]] | None = None
        self._output_names: tuple[tuple[str, ...], frozenset[str]] | None = None
        self._weight_penalties: tuple[tuple[Regularizer, ...], tuple[Regularizer, ...]] | None = None

    def __repr__(self) -> str:
        return f"Layer({self.path or self.name!r}, {self.class_name})"

    @property
    def is_weight_bearing(self) -> bool:
        return bool(self.weights)

    @property
    def weight_regularizers(self) -> tuple[Regularizer, ...]:
        # Asked by many rules for every layer: kept, and recomputed only if `regularizers` is replaced.
        cached = self._weight_penalties
        if cached is None or cached[0] is not self.regularizers:
            cached = self._weight_penalties = (self.regularizers, tuple(r for r in self.regularizers if r.slot != "activity"))
        return cached[1]

    @property
    def is_covered(self) -> bool:
        """Weight-bearing, with a weight regularizer that adds a penalty: all-zero factors are not coverage.

        What adds a penalty is a Keras fact (regaudit/checks/keras_facts.py), shared with the rules so
        that the coverage line, the HTML and Markdown reports and RA001/RA002 agree.
        """
        from regaudit.checks.keras_facts import adds_no_penalty  # the facts import this module

        return self.is_weight_bearing and any(not adds_no_penalty(r) for r in self.weight_regularizers)

    @property
    def mirrors_forward_layer(self) -> bool:
        """True for the backward copy of a Bidirectional layer that repeats the forward one.

        Keras 1/2 and tf.keras save one `layer` and rebuild both copies from it (the builder gives
        both copies the same config object); Keras 3 saves `backward_layer` too, and with the same
        regularization when the user passed one layer. Either way the file holds one setting.
        """
        wrapper = self.parent
        if wrapper is None or wrapper.class_name != "Bidirectional" or len(wrapper.children) != 2:
            return False
        forward, backward = wrapper.children
        if self is not backward:
            return False
        return forward.config is backward.config or _regularization_signature(forward) == _regularization_signature(backward)

    @property
    def effectively_trainable(self) -> bool:
        """False when this layer or any container above it is frozen (Keras skips its penalties)."""
        layer: "Layer | None" = self
        while layer is not None:
            if not layer.trainable:
                return False
            layer = layer.parent
        return True

    @property
    def is_model_output(self) -> bool:
        """True for layers whose output is an output of the whole model."""
        layer = self
        while layer.parent is not None:
            if layer.name not in layer.parent._output_set():
                return False
            layer = layer.parent
        return True

    def _output_set(self) -> frozenset[str]:
        # A set, so that asking every child of a 100,000-output model stays linear.
        if self._output_names is None or self._output_names[0] is not self.outputs:
            self._output_names = (self.outputs, frozenset(self.outputs))
        return self._output_names[1]

    def walk(self) -> Iterator["Layer"]:
        """This layer's descendants, depth first, in config order."""
        pending = list(reversed(self.children))
        while pending:
            layer = pending.pop()
            yield layer
            pending.extend(reversed(layer.children))

    def successors(self) -> list["Layer"]:
        """Siblings in the same container that take this layer's output as an input."""
        return self.parent._consumers().get(self.name, []) if self.parent is not None else []

    def _consumers(self) -> dict[str, list["Layer"]]:
        # Built once per container, so that walking a graph stays linear in its size.
        if self._consumer_index is None:
            index: dict[str, list["Layer"]] = {}
            for child in self.children:
                for name in child.inbound:
                    index.setdefault(name, []).append(child)
            self._consumer_index = index
        return self._consumer_index


def _regularization_signature(layer: Layer) -> tuple:
    """What rules read of a layer and its sublayers; names and shared_object_ids differ between copies."""
    return tuple(
        (each.class_name, each.trainable, each.weights, each.absent_weights, each.regularizers)
        for each in (layer, *layer.walk())
    )


class Optimizer(NamedTuple):
    """The saved optimizer, when the model was compiled and saved with it."""

    class_name: str  # bare name: tf.keras "Custom>AdamW" becomes "AdamW"
    config: Mapping[str, Any] = EMPTY

    @property
    def weight_decay(self) -> float | None:
        # Keras 3 and tf.keras >= 2.11 write `weight_decay`; Hugging Face's AdamWeightDecay
        # `weight_decay_rate`. The legacy `decay` is learning-rate decay, not weight decay.
        for key in ("weight_decay", "weight_decay_rate"):
            value = self.config.get(key)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                return float(value)
        return None


class Coverage(NamedTuple):
    layers: int  # every layer below the root, containers included
    weight_bearing: int  # layers that create weights of their own
    covered: int  # weight-bearing layers with a weight regularizer that adds a penalty (Layer.is_covered)
    regularizers: int  # regularized slots, activity included


class ConfigDisagreement(NamedTuple):
    """SavedModel: a layer whose own metadata entry differs from its copy in the model config.

    tf_keras revives each layer of a Functional or Sequential model from the layer's own entry,
    so the tree holds that version; `in_model_config` is the copy Keras does not load.
    """

    path: str
    in_model_config: Layer


class ModelTree:
    """A whole model as read from one artifact."""

    __slots__ = (
        "root", "format", "keras_version", "optimizer", "container", "file_suffix", "disagreements", "_layers", "_written",
        "_written_regularizers", "_views",
    )

    def __init__(
        self, root: Layer, format: str, keras_version: str | None = None, optimizer: Optimizer | None = None
    ) -> None:
        self.root = root
        self.format = format  # keras-zip, keras-dir, hdf5, config-json, tfjs-layers, savedmodel
        self.keras_version = keras_version
        self.optimizer = optimizer
        # What the file is, by content (zip, hdf5, json, directory), and the extension of its name
        # (".keras", ".h5", "" for none): Keras picks its reader by name, regaudit by content.
        # None when the tree was not read from a file.
        self.container: str | None = None
        self.file_suffix: str | None = None
        self.disagreements: tuple[ConfigDisagreement, ...] = ()  # only SavedModels carry two configs
        self._layers: list[Layer] | None = None
        self._written: list[Layer] | None = None
        self._written_regularizers: list[tuple[Layer, Regularizer]] | None = None
        self._views: dict[Any, Any] | None = None

    def layers(self) -> Iterator[Layer]:
        """Every layer below the root as Keras builds them, depth first: what reports list."""
        if self._layers is None:
            self._layers = list(self.root.walk())
        return iter(self._layers)

    def release_config(self) -> None:
        """Drop every layer's raw config once the checks have read it.

        The raw config is most of what a tree holds (the whole parsed `config.json`); reporters
        and comparisons read only the normalized fields, which stay. Anything that needs a
        layer's config (checks, weight evidence) must run before this. Afterwards `layer.config`
        is empty and the tree is small to keep for the report and cheap to send from a worker.
        """
        for layer in (self.root, *self.layers()):
            layer.config = EMPTY
            layer._consumer_index = None
            layer._weight_penalties = None
        self._written_regularizers = self._views = None  # the rules' views: rebuilt if ever asked again

    def view(self, key: Any, compute: Callable[..., Any], *arguments: Any) -> Any:
        """`compute(*arguments)`, worked out once per tree: a view of the tree that several rules
        read (the Keras line that loads it, the layers with trainable weights, ...). `key` names
        the view and every setting it depends on; the tree must not change once views are taken.
        Views are dropped with the config (release_config)."""
        views = self._views
        if views is None:
            views = self._views = {}
        elif key in views:
            return views[key]
        value = views[key] = compute(*arguments)
        return value

    def regularized(self) -> Iterator[tuple[Layer, Regularizer]]:
        """Every regularized slot of every layer Keras builds, mirrored Bidirectional copies included."""
        for layer in self.layers():
            for regularizer in layer.regularizers:
                yield layer, regularizer

    def written_layers(self) -> Iterator[Layer]:
        """Every layer as written in the file, depth first: without the subtrees of mirrored
        Bidirectional backward copies (Layer.mirrors_forward_layer). Rules read these, so that a
        setting gets one finding however many copies Keras builds from it."""
        if self._written is None:
            written, pending = [], list(reversed(self.root.children))
            while pending:
                layer = pending.pop()
                if not layer.mirrors_forward_layer:
                    written.append(layer)
                    pending.extend(reversed(layer.children))
            self._written = written
        return iter(self._written)

    def written_regularizers(self) -> Iterator[tuple[Layer, Regularizer]]:
        """Every regularized slot as written in the file (see written_layers)."""
        # Most rules walk these: listed once per tree.
        if self._written_regularizers is None:
            self._written_regularizers = [
                (layer, regularizer) for layer in self.written_layers() for regularizer in layer.regularizers
            ]
        return iter(self._written_regularizers)

    def coverage(self) -> Coverage:
        layers = list(self.layers())
        bearing = [layer for layer in layers if layer.is_weight_bearing]
        return Coverage(
            layers=len(layers),
            weight_bearing=len(bearing),
            covered=sum(1 for layer in bearing if layer.is_covered),
            regularizers=sum(len(layer.regularizers) for layer in layers),
        )
