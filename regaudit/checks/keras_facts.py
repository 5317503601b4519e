"""What Keras does, as far as regularization is concerned: facts written down once, as data, each
with its source (Keras line, version range, layer classes, what happens). Rules read these facts;
tests/test_keras_facts.py backs every one with real keras / tf_keras.
"""

from __future__ import annotations

import re
from enum import Enum

from regaudit._namedtuple import NamedTuple
from regaudit.loaders.regularizers import KERAS_MODULE_ROOTS
from regaudit.tree import Layer, ModelTree, Origin, Regularizer

# Keras 1 dicts whose l1/l2 mean what L1L2's do (Keras 1.2 made the 1.0 names aliases of
# L1L2Regularizer). Other Keras 1 names are custom classes or EigenvalueRegularizer's `k`.
KERAS1_L1L2_REGULARIZERS = frozenset({"WeightRegularizer", "ActivityRegularizer", "L1L2Regularizer"})
# The abstract base class: its __call__ returns 0.0 whatever the weights.
BASE_REGULARIZER = "Regularizer"

# Layers that regularize by themselves (keras.layers.regularization, Keras 1 names included).
DROPOUT_LAYERS = frozenset(
    {"Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "AlphaDropout", "GaussianDropout"}
)
NOISE_LAYERS = frozenset({"GaussianNoise"})
# Their strength: Dropout `rate` (Keras 1 `p`), GaussianNoise `stddev` (Keras 1 `sigma`).
_STRENGTH_ARGUMENTS = ("rate", "p", "stddev", "sigma")
# Config keys that switch on dropout inside a layer (RNNs, attention), as a rate in [0, 1).
DROPOUT_ARGUMENTS = ("dropout", "recurrent_dropout", "dropout_W", "dropout_U", "p")

BATCH_NORMALIZATION_LAYERS = frozenset({"BatchNormalization", "SyncBatchNormalization"})
# Layers that only apply an activation; "through an activation" in RA201/RA204 steps over them.
ACTIVATION_LAYERS = frozenset(
    {"Activation", "ReLU", "LeakyReLU", "PReLU", "ELU", "ThresholdedReLU", "Softmax"}
)


def has_known_factors(regularizer: Regularizer) -> bool:
    """Factors whose meaning Keras defines: built-ins and Keras 1 L1/L2 dicts, not custom classes."""
    if regularizer.origin is Origin.BUILTIN:
        return True
    return regularizer.origin is Origin.LEGACY and regularizer.class_name in KERAS1_L1L2_REGULARIZERS


def adds_no_penalty(regularizer: Regularizer) -> bool:
    """All factors zero, or the bare base class: configured, yet the loss never changes."""
    return has_known_factors(regularizer) and (regularizer.is_noop or regularizer.class_name == BASE_REGULARIZER)


def l2_factor(regularizer: Regularizer) -> float:
    """The L2 factor of an L2, L1L2 or Keras 1 L1/L2 regularizer; 0 for anything else."""
    if not has_known_factors(regularizer) or regularizer.class_name in ("L1", "OrthogonalRegularizer"):
        return 0.0
    return regularizer.factors.get("l2", 0.0)


def active_weight_penalties(layer: Layer) -> list[Regularizer]:
    """Weight penalties Keras computes: on weights that exist, of a layer that is trained."""
    if not layer.effectively_trainable:
        return []
    return [r for r in layer.weight_regularizers if r.slot not in layer.absent_weights]


def is_dropout(layer: Layer) -> bool:
    return layer.class_name in DROPOUT_LAYERS


def strength(layer: Layer) -> float | None:
    """The rate of a Dropout layer or the stddev of a noise layer, when saved as a number."""
    for key in _STRENGTH_ARGUMENTS:
        value = layer.config.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            return float(value)
    return None


def regularizes_by_itself(layer: Layer) -> bool:
    """A Dropout or noise layer, unless its strength is saved as zero (Keras then passes inputs through)."""
    return (layer.class_name in DROPOUT_LAYERS or layer.class_name in NOISE_LAYERS) and strength(layer) != 0


def has_internal_dropout(layer: Layer) -> bool:
    """Dropout configured inside the layer, e.g. LSTM(dropout=0.2) or MultiHeadAttention(dropout=0.1)."""
    if layer.class_name in DROPOUT_LAYERS:  # their `rate`/`p` is the layer itself, not internal dropout
        return False
    config = layer.config
    for key in DROPOUT_ARGUMENTS:  # asked of every layer: most configs have none of these keys
        if key in config and _positive(config[key]):
            return True
    return False


def feeds_batch_normalization(layer: Layer) -> Layer | None:
    """The BatchNormalization this layer's output reaches directly or through an activation layer."""
    for successor in layer.successors():
        if successor.class_name in BATCH_NORMALIZATION_LAYERS:
            return successor
        if successor.class_name in ACTIVATION_LAYERS:
            for after in successor.successors():
                if after.class_name in BATCH_NORMALIZATION_LAYERS:
                    return after
    return None


def _positive(value: object) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0


# --- Keras lines ---------------------------------------------------------------------------------


class KerasVersion(NamedTuple):
    """A `keras_version` as saved: `2.2.4-tf` is the Keras bundled with TensorFlow."""

    numbers: tuple[int, int, int]
    tf_keras: bool

    @classmethod
    def parse(cls, text: str | None) -> "KerasVersion | None":
        # Every rule that depends on the Keras line asks again for the same one or two strings
        # (the file's keras_version and --target-keras): parsed once, then looked up.
        try:
            return _PARSED_VERSIONS[text]
        except KeyError:
            pass
        match = re.match(r"\s*(\d+)\.(\d+)(?:\.(\d+))?(\S*)", text or "")
        if match is None:  # e.g. "tfjs-layers 4.22.0": no Keras version at all
            version = None
        else:
            major, minor, patch, suffix = match.groups()
            version = cls((int(major), int(minor), int(patch or 0)), suffix.startswith("-tf"))
        if len(_PARSED_VERSIONS) < _PARSED_VERSIONS_KEPT:  # the strings come from files: keep a few
            _PARSED_VERSIONS[text] = version
        return version


_PARSED_VERSIONS: dict[str | None, KerasVersion | None] = {}
_PARSED_VERSIONS_KEPT = 256


class KerasLine(str, Enum):
    """The Keras implementations whose behaviour differs; the value is how messages name them."""

    MULTI_BACKEND = "multi-backend Keras 1/2"
    TF_KERAS = "tf.keras/tf_keras 2.x"
    KERAS3 = "Keras 3"
    TFJS = "TensorFlow.js"


def line_of(version: KerasVersion | None) -> KerasLine | None:
    """The line a version belongs to: from 2.4 on, `keras` is tf.keras (and later tf_keras)."""
    if version is None:
        return None
    if version.numbers >= (3, 0, 0):
        return KerasLine.KERAS3
    if version.tf_keras or version.numbers >= (2, 4, 0):
        return KerasLine.TF_KERAS
    return KerasLine.MULTI_BACKEND


def saving_line(tree: ModelTree) -> KerasLine | None:
    """The line that wrote the file, from its recorded keras_version; None when none is recorded."""
    return line_of(KerasVersion.parse(tree.keras_version))


def loading_line(tree: ModelTree, target_keras: str | None) -> KerasLine | None:
    """The line that will load the file: TF.js for a model.json, else --target-keras when set,
    else the line that saved it."""
    if tree.format == "tfjs-layers":
        return KerasLine.TFJS
    target = line_of(KerasVersion.parse(target_keras))
    return target if target is not None else saving_line(tree)


# --- activity regularizers: what each line does with them ----------------------------------------


class Effect(str, Enum):
    KEPT = "kept"  # saved in the config and applied after loading
    DROPPED = "dropped"  # get_config() leaves it out: the saved file has lost it
    IGNORED = "ignored"  # accepted and saved, but no penalty is ever added
    DIFFERENT = "different"  # applied, to other tensors than in another line
    REFUSED = "refused"  # the runtime refuses to run the layer


class Fact(NamedTuple):
    """One thing a Keras line does with a layer class's activity_regularizer, and its source.

    Every fact has a test in tests/test_keras_facts.py that builds the case with real keras or
    tf_keras, saves, reloads, calls once and counts model.losses (TF.js facts cite its source).
    """

    line: KerasLine
    versions: str  # the range the fact holds for, and the version it was verified with
    classes: frozenset[str]  # built-in layer classes; empty means every class
    where: str  # "layer" for the layer's own argument, "inside TimeDistributed" for a wrapped layer
    effect: Effect
    what: str  # what Keras does, as a clause for messages
    source: str


# tf_keras Layer.get_config() leaves activity_regularizer out; only these classes write it
# themselves. Enumerated from every class in tf_keras.layers (tests/test_keras_facts.py).
TF_KERAS_CLASSES_KEEPING_ACTIVITY = frozenset({
    "Conv1D", "Conv1DTranspose", "Conv2D", "Conv2DTranspose", "Conv3D", "Conv3DTranspose",
    "ConvLSTM1D", "ConvLSTM2D", "ConvLSTM3D", "Convolution1D", "Convolution1DTranspose", "Convolution2D",
    "Convolution2DTranspose",
    "Convolution3D", "Convolution3DTranspose", "Dense", "DepthwiseConv1D", "DepthwiseConv2D", "Embedding",
    "GRU", "LSTM", "MultiHeadAttention", "SeparableConv1D", "SeparableConv2D", "SeparableConvolution1D",
    "SeparableConvolution2D", "SimpleRNN",
})  # fmt: skip
# The built-in classes that accept activity_regularizer in tf_keras 2.21 and drop it on save.
TF_KERAS_CLASSES_DROPPING_ACTIVITY = frozenset({
    "Activation", "Add", "AdditiveAttention", "AlphaDropout", "Attention", "Average",
    "AveragePooling1D", "AveragePooling2D", "AveragePooling3D", "AvgPool1D", "AvgPool2D", "AvgPool3D",
    "BatchNormalization", "Bidirectional", "CategoryEncoding", "CenterCrop", "Concatenate",
    "Cropping1D", "Cropping2D", "Cropping3D", "Discretization", "Dropout", "ELU", "EinsumDense",
    "Flatten", "GRUCell", "GaussianDropout", "GaussianNoise", "GlobalAveragePooling1D",
    "GlobalAveragePooling2D", "GlobalAveragePooling3D", "GlobalAvgPool1D", "GlobalAvgPool2D",
    "GlobalAvgPool3D", "GlobalMaxPool1D", "GlobalMaxPool2D", "GlobalMaxPool3D", "GlobalMaxPooling1D",
    "GlobalMaxPooling2D", "GlobalMaxPooling3D", "GroupNormalization", "HashedCrossing", "Hashing",
    "IntegerLookup", "LSTMCell", "Lambda", "LayerNormalization", "LeakyReLU", "Masking", "MaxPool1D",
    "MaxPool2D", "MaxPool3D", "MaxPooling1D", "MaxPooling2D", "MaxPooling3D", "Maximum", "Minimum",
    "Multiply", "Normalization", "PReLU", "Permute", "RNN", "RandomBrightness", "RandomContrast",
    "RandomCrop", "RandomFlip", "RandomHeight", "RandomRotation", "RandomTranslation", "RandomWidth",
    "RandomZoom", "ReLU", "RepeatVector", "Rescaling", "Reshape", "Resizing", "SimpleRNNCell", "Softmax",
    "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D", "StackedRNNCells", "StringLookup",
    "Subtract", "TextVectorization", "ThresholdedReLU", "TimeDistributed", "UnitNormalization",
    "UpSampling1D", "UpSampling2D", "UpSampling3D", "ZeroPadding1D", "ZeroPadding2D", "ZeroPadding3D",
})  # fmt: skip
# Keras 3.4+ Layer.get_config() writes activity_regularizer for every class; these override it.
KERAS3_CLASSES_DROPPING_ACTIVITY = frozenset({"SimpleRNN", "HashedCrossing", "InputLayer"})

TF_KERAS_DROPS = Fact(
    KerasLine.TF_KERAS, "tf.keras 2.x and tf_keras (verified 2.21.0)", TF_KERAS_CLASSES_DROPPING_ACTIVITY,
    "layer", Effect.DROPPED,
    "applies the activity regularizer in memory but leaves it out of the saved config",
    "tf_keras/src/engine/base_layer.py Layer.get_config; each class's own get_config",
)
KERAS3_3_0_TO_3_3_DROPS = Fact(
    KerasLine.KERAS3, "3.0.0 to 3.3.3", frozenset(), "layer", Effect.DROPPED,
    "left activity_regularizer out of every layer config (RA403)",
    "keras-team/keras#19820, fixed by keras-team/keras@230777a in 3.4.0",
)
KERAS3_TIME_DISTRIBUTED_BYPASS = Fact(
    KerasLine.KERAS3, "3.0 and later (verified 3.15.1)", frozenset(), "inside TimeDistributed", Effect.IGNORED,
    "TimeDistributed calls the wrapped layer's call() directly, bypassing the __call__ that adds "
    "its activity penalty",
    "keras/src/layers/rnn/time_distributed.py TimeDistributed.call",
)
KERAS3_SIMPLE_RNN_IGNORES = Fact(
    KerasLine.KERAS3, "3.0 and later (verified 3.15.1)", frozenset({"SimpleRNN"}), "layer", Effect.IGNORED,
    "SimpleRNN accepts activity_regularizer but neither passes it on nor saves it",
    "keras/src/layers/rnn/simple_rnn.py SimpleRNN.__init__ and get_config",
)
TF_KERAS_EINSUM_DENSE_IGNORES = Fact(
    KerasLine.TF_KERAS, "tf.keras 2.x and tf_keras (verified 2.21.0)", frozenset({"EinsumDense"}), "layer",
    Effect.IGNORED, "EinsumDense accepts activity_regularizer but adds no penalty (and does not save it)",
    "tf_keras/src/layers/core/einsum_dense.py EinsumDense",
)
ACTIVITY_IGNORED = (KERAS3_TIME_DISTRIBUTED_BYPASS, KERAS3_SIMPLE_RNN_IGNORES, TF_KERAS_EINSUM_DENSE_IGNORES)

# MultiHeadAttention's activity_regularizer: tf_keras applies it once, to the attention output (its
# EinsumDense sublayers ignore theirs); Keras 3 gives it to the query, key, value and output
# projections (4 penalties) and not to the output of the layer itself.
ACTIVITY_MEANING = {
    KerasLine.TF_KERAS: "one penalty, on the attention output",
    KerasLine.KERAS3: "four penalties, on the query, key, value and output projections",
}
MULTI_HEAD_ATTENTION_MEANING = Fact(
    KerasLine.KERAS3, "Keras 3 (verified 3.15.1) against tf_keras (verified 2.21.0)",
    frozenset({"MultiHeadAttention"}), "layer", Effect.DIFFERENT,
    "tf_keras adds " + ACTIVITY_MEANING[KerasLine.TF_KERAS] + "; Keras 3 adds "
    + ACTIVITY_MEANING[KerasLine.KERAS3],
    "keras/src/layers/attention/multi_head_attention.py and tf_keras/src/layers/attention/"
    "multi_head_attention.py _get_common_kwargs_for_sublayer",
)

TFJS_REFUSES_ACTIVITY = Fact(
    KerasLine.TFJS, "tfjs-layers 1.x to 4.22.0", frozenset(), "layer", Effect.REFUSED,
    "tfjs-layers throws \"Layer invocation in the presence of activity regularizer(s) is not "
    "supported yet\" when the layer runs",
    "tensorflow/tfjs tfjs-layers/src/engine/topology.ts Layer.apply (v4.22.0)",
)
# tfjs-layers L1L2's constructor: `this.l1 = args == null || args.l1 == null ? 0.01 : args.l1`
# (tensorflow/tfjs tfjs-layers/src/regularizers.ts, v4.22.0), where Python's L1L2 defaults to 0.
TFJS_L1L2_DEFAULT = 0.01


def activity_fact(layer: Layer, line: KerasLine | None) -> Fact | None:
    """The fact saying the line adds no penalty for this layer's activity_regularizer, if one does."""
    if line is None or not is_builtin_layer(layer):
        return None
    for fact in ACTIVITY_IGNORED:
        if fact.line is not line:
            continue
        if fact.where == "inside TimeDistributed":
            wrapper = layer.parent
            if wrapper is not None and wrapper.class_name == "TimeDistributed" and is_builtin_layer(wrapper):
                return fact
        elif layer.class_name in fact.classes:
            return fact
    return None


def activity_applied(layer: Layer, regularizer: Regularizer, line: KerasLine | None) -> bool:
    """False where the loading line adds no penalty for an activity regularizer (all-zero factors,
    an IGNORED fact, or TF.js, which refuses the layer); True for weight penalties and wherever the
    line is unknown."""
    if regularizer.slot != "activity":
        return True
    if line is KerasLine.TFJS and regularizer.argument is not None:  # refused outright (RA405)
        return False
    return not adds_no_penalty(regularizer) and activity_fact(layer, line) is None


def is_builtin_layer(layer: Layer) -> bool:
    """A Keras layer class, not a custom one that shares its name (registered `pkg>Name`, own module)."""
    if layer.registered_name is not None and ">" in layer.registered_name:
        return False
    return layer.module is None or in_keras_module(layer)


def in_keras_module(layer: Layer) -> bool:
    """The layer's saved `module` is one of Keras's own (keras, tf_keras, tensorflow)."""
    return layer.module is not None and layer.module.split(".")[0] in KERAS_MODULE_ROOTS


# --- Which Keras line loads which container under which file name (RA406) -------------------------
# Keras picks its reader from the file name, regaudit from the content. Each row is one container
# (by content) under a set of names, with the Keras lines whose load_model refuses it there and
# those that load it; a TensorFlow SavedModel directory is refused by Keras 3 under any name.
#
# Multi-backend Keras 1 and 2 (keras/models.py load_model, 1.2.2 and 2.3.1: h5py.File), tf.keras
# and tf_keras (tf_keras/src/saving/legacy/save.py load_model, 2.21.0) open any file that is not
# a .keras zip with h5py; Keras 3 reads a zip only under .keras and HDF5 only under .h5/.hdf5
# (keras/src/saving/saving_api.py load_model, 3.0.0 to 3.15.1).
KERAS_2_AND_EARLIER = (KerasLine.MULTI_BACKEND, KerasLine.TF_KERAS)
LOAD_MODEL_LINES = (*KERAS_2_AND_EARLIER, KerasLine.KERAS3)
LOAD_MODEL_NAMES = frozenset({".keras", ".h5", ".hdf5"})


class ContainerNameFact(NamedTuple):
    """A container under some file names, and what each Keras line's load_model does with it."""

    container: str  # by content, as loaders record it on the tree: zip, hdf5, json, directory
    names: frozenset[str] | None  # file-name extensions ("" for none) it applies to; None: any
    except_names: frozenset[str]  # ... except these
    refused_by: tuple[KerasLine, ...]  # lines whose load_model refuses it under these names
    accepted_by: tuple[KerasLine, ...]  # lines whose load_model reads it
    refusal: str  # what the refusing load_model does, in a clause
    fix: str
    source: str
    # False where the container is a normal deployment format for the lines that accept it (a
    # SavedModel served by TF Serving): then only a --target-keras that refuses it is told.
    warn_without_target: bool = True

    def applies(self, container: str | None, suffix: str | None) -> bool:
        if container != self.container or suffix is None:
            return False
        return (self.names is None or suffix in self.names) and suffix not in self.except_names

    @property
    def any_name(self) -> bool:
        """Refused whatever it is called: the container itself, not its name, is the problem."""
        return self.names is None and not self.except_names


CONTAINER_NAME_FACTS = (
    ContainerNameFact(
        container="hdf5",
        names=None,
        except_names=frozenset({".h5", ".hdf5"}),
        refused_by=(KerasLine.KERAS3,),
        accepted_by=KERAS_2_AND_EARLIER,
        refusal="Keras 3's load_model reads HDF5 only from a .h5 or .hdf5 name (under .keras it wants a zip: "
        "\"File not found ... accessible `.keras` zip file\"; under any other name: \"File format not "
        "supported\"), while Keras 1/2, tf.keras and tf_keras open it by content",
        fix="rename it to .h5 (tf.keras up to 2.12 wrote HDF5 when asked for .keras)",
        source="keras/src/saving/saving_api.py load_model (Keras 3.15.1); tf_keras/src/saving/legacy/save.py "
        "load_model (tf_keras 2.21.0); checked by tests/test_keras_names.py with both",
    ),
    ContainerNameFact(
        container="zip",
        names=None,
        except_names=frozenset({".keras"}),
        refused_by=LOAD_MODEL_LINES,
        accepted_by=(),
        refusal="load_model reads a Keras archive only under a .keras name (`str(filepath).endswith(\".keras\") "
        "and zipfile.is_zipfile(...)` in Keras 3 and tf_keras; Keras 1/2 and tf.keras before 2.12 read no "
        "zip archives at all)",
        fix="rename it to .keras",
        source="keras/src/saving/saving_api.py load_model (Keras 3.15.1); tf_keras/src/saving/saving_api.py "
        "load_model (tf_keras 2.21.0); checked by tests/test_keras_names.py",
    ),
    ContainerNameFact(
        container="json",
        names=LOAD_MODEL_NAMES,
        except_names=frozenset(),
        refused_by=LOAD_MODEL_LINES,
        accepted_by=(),
        refusal="load_model reads no JSON under any name (Keras 3: not a zip nor HDF5; tf_keras: h5py cannot "
        "open it); a config is read with model_from_json, whatever the file is called",
        fix="rename it to .json and read it with model_from_json",
        source="keras/src/saving/saving_api.py load_model (Keras 3.15.1); tf_keras/src/saving/legacy/save.py "
        "load_model (tf_keras 2.21.0)",
    ),
    ContainerNameFact(
        container="savedmodel",
        names=None,
        except_names=frozenset(),
        refused_by=(KerasLine.MULTI_BACKEND, KerasLine.KERAS3),
        accepted_by=(KerasLine.TF_KERAS,),
        refusal="Keras 3's load_model reads no TensorFlow SavedModel (\"File format not supported ... the legacy "
        "SavedModel format is not supported by `load_model()` in Keras 3\"), and multi-backend Keras opens "
        "model files with h5py; only tf.keras and tf_keras rebuild the Keras model from its metadata",
        fix="load it with tf_keras.models.load_model and save it as .keras for Keras 3 (for inference only, "
        "Keras 3 can wrap it in keras.layers.TFSMLayer(path, call_endpoint=\"serving_default\"))",
        source="keras/src/saving/saving_api.py load_model (Keras 3.15.1); tf_keras/src/saving/legacy/save.py "
        "load_model (tf_keras 2.21.0); checked by tests/test_keras_crosscheck.py with both",
        warn_without_target=False,
    ),
)


def container_name_facts(container: str | None, suffix: str | None) -> list[ContainerNameFact]:
    """The rows about this container under this file-name extension (none: every line loads it)."""
    return [fact for fact in CONTAINER_NAME_FACTS if fact.applies(container, suffix)]


# --- loadability of regularizers per Keras line ---------------------------------------------------


class LoadFact(NamedTuple):
    """What one Keras line does when it loads one form of regularizer entry, and what fixes it there.

    Backed by tests/test_keras_facts.py (real tf_keras 2.21.0 / keras 3.15.1: save, load in a
    process where the object is not registered, call once, count model.losses)."""

    line: KerasLine
    versions: str
    form: str  # the entry, as it appears in the file
    what: str  # what load_model does, as a clause for messages
    fix: str  # what fixes it in that line
    source: str


TF_KERAS_HDF5_FUNCTION = LoadFact(
    KerasLine.TF_KERAS, "tf_keras 2.13 and later (verified 2.21.0)",
    'a function entry {"class_name": "function", ...} in an HDF5 file',
    "tf_keras's HDF5 loader cannot rebuild a function regularizer at all: load_model fails with "
    "\"Unknown regularizer: 'function'\", with custom_objects or with the registering module imported alike",
    "save the model as .keras instead, which tf_keras rebuilds given custom_objects or the registration, "
    "or make the penalty a registered keras.regularizers.Regularizer subclass",
    "tf_keras/src/saving/legacy/serialization.py class_and_config_for_serialized_keras_object",
)
TF_KERAS_ZIP_FUNCTION = LoadFact(
    KerasLine.TF_KERAS, "tf_keras 2.13 and later (verified 2.21.0)",
    "an unregistered function in a .keras file",
    "tf_keras's load_model succeeds without custom_objects but leaves the regularizer as the string of "
    "its name, and the first call fails with \"'str' object is not callable\"",
    "pass custom_objects={NAME: NAME} to load_model, or register the function with "
    "@keras.saving.register_keras_serializable(package=...)",
    "tf_keras/src/saving/serialization_lib.py deserialize_keras_object (module 'builtins')",
)
KERAS3_REGISTERED_IN_MAIN = LoadFact(
    KerasLine.KERAS3, "3.0 and later (verified 3.15.1)",
    'a registered class saved with "module": null (defined and registered in the training script)',
    "only a process that ran the registration can load it: a fresh process fails with \"could not be "
    "deserialized properly\", and importing a module cannot help since the class lives in __main__",
    "move the class into an importable module, register it there, and import that module before load_model",
    "keras/src/saving/serialization_lib.py serialize_keras_object (module None for __main__)",
)
KERAS3_LAYER_UNREGISTERED = LoadFact(
    KerasLine.KERAS3, "3.0 and later (verified 3.15.1)",
    'a layer entry whose "module" is not a Keras module (or null) and whose registered_name names no '
    "package: a custom layer class that was never registered",
    "load_model imports only Keras's own modules to find a class, so it fails with \"could not "
    "be deserialized properly\" unless custom_objects names the class",
    "register the class with @keras.saving.register_keras_serializable(package=...) in an importable "
    "module and import it before load_model, or pass custom_objects={NAME: NAME}",
    "keras/src/saving/serialization_lib.py _retrieve_class_or_fn",
)
KERAS3_STRING = LoadFact(
    KerasLine.KERAS3, "3.0 and later (verified 3.15.1)",
    "a regularizer saved as a string other than a Keras 3 built-in name",
    "Keras 3 resolves a string regularizer only among its built-ins (regularizers.ALL_OBJECTS_DICT), so "
    "load_model fails (\"Could not interpret regularizer identifier\"), with custom_objects or a "
    "registration alike",
    "save it again from code as an object: a built-in (keras.regularizers.L1L2(...)) or a registered class",
    "keras/src/regularizers/__init__.py get and ALL_OBJECTS_DICT",
)
KERAS3_UNKNOWN_ARGUMENT = LoadFact(
    KerasLine.KERAS3, "3.0 and later (verified 3.15.1)",
    "a built-in regularizer whose config has an argument its constructor does not take",
    "Keras 3 rebuilds a built-in with cls(**config), so load_model fails with a TypeError on the argument",
    "remove the argument from the config, or save the model again from code",
    "keras/src/regularizers/regularizers.py L1, L2, L1L2, OrthogonalRegularizer __init__",
)
# The strings Keras 3 resolves (regularizers.ALL_OBJECTS_DICT: class names and their snake_case),
# and the arguments each built-in takes. "l1_l2" is tf.keras's, not Keras 3's.
KERAS3_STRING_IDENTIFIERS = frozenset(
    {"L1", "L2", "L1L2", "OrthogonalRegularizer", "Regularizer", "l1", "l2", "l1l2", "orthogonal_regularizer", "regularizer"}
)
KERAS3_BUILTIN_ARGUMENTS = {
    "L1": frozenset({"l1"}),
    "L2": frozenset({"l2"}),
    "L1L2": frozenset({"l1", "l2"}),
    "OrthogonalRegularizer": frozenset({"factor", "mode"}),
    "Regularizer": frozenset(),
}


# Beyond Keras 3's arguments, tf_keras's L1 and L2 take only `l`, an alias of l1/l2; its L1L2 and
# OrthogonalRegularizer take nothing more (tf_keras/regularizers.py, verified 2.21.0: anything else
# is a TypeError in from_config).
TF_KERAS_EXTRA_ARGUMENTS = {"L1": frozenset({"l"}), "L2": frozenset({"l"})}


def load_fact(tree: ModelTree, regularizer: Regularizer, line: KerasLine | None) -> LoadFact | None:
    """The LoadFact that makes this regularizer fail in the loading line, if any. With no line
    known (a to_json() file without keras_version, no --target-keras), only what fails in every
    line counts."""
    if line is None and unknown_in_every_line(regularizer):
        return KERAS3_UNKNOWN_ARGUMENT
    if line is KerasLine.KERAS3:
        if regularizer.identifier is not None and regularizer.identifier not in KERAS3_STRING_IDENTIFIERS:
            return KERAS3_STRING
        if unknown_arguments(regularizer):
            return KERAS3_UNKNOWN_ARGUMENT
        if (
            regularizer.origin is Origin.REGISTERED
            and regularizer.identifier is None
            and regularizer.module is None
            and saving_line(tree) is KerasLine.KERAS3  # Keras 3 always writes `module`: null is __main__
        ):
            return KERAS3_REGISTERED_IN_MAIN
    if line is KerasLine.TF_KERAS and regularizer.module == "builtins":  # a function entry
        if tree.format == "hdf5":
            return TF_KERAS_HDF5_FUNCTION
        if tree.format in ("keras-zip", "keras-dir") and regularizer.origin is Origin.FUNCTION:
            return TF_KERAS_ZIP_FUNCTION
    return None


def layer_load_fact(tree: ModelTree, layer: Layer, line: KerasLine | None) -> LoadFact | None:
    """The LoadFact that makes this layer's own class fail to load in the loading line, if any.

    Only Keras 3-form entries (they carry registered_name) are judged: for the older forms, telling
    a custom class from a built-in would need every line's list of layer classes. With no line
    known, only an unregistered class saved with "module": null counts: no line can import it.
    """
    if not isinstance(layer.registered_name, str) or in_keras_module(layer):
        return None
    unregistered = ">" not in layer.registered_name
    if line is None and unregistered and layer.module is None:
        return KERAS3_LAYER_UNREGISTERED
    if line is not KerasLine.KERAS3:
        return None
    if unregistered:
        return KERAS3_LAYER_UNREGISTERED
    if layer.module is None and saving_line(tree) is KerasLine.KERAS3:  # Keras 3 writes null for __main__
        return KERAS3_REGISTERED_IN_MAIN
    return None


def unknown_in_every_line(regularizer: Regularizer) -> list[str]:
    """Config keys of a built-in that neither the Keras 3 nor the tf_keras constructor takes."""
    extra = TF_KERAS_EXTRA_ARGUMENTS.get(regularizer.class_name or "", frozenset())
    return [key for key in unknown_arguments(regularizer) if key not in extra]


def unknown_arguments(regularizer: Regularizer) -> list[str]:
    """Config keys of a built-in that its Keras 3 constructor does not take."""
    accepted = KERAS3_BUILTIN_ARGUMENTS.get(regularizer.class_name or "")
    if regularizer.origin is not Origin.BUILTIN or accepted is None or regularizer.identifier is not None:
        return []
    # Missing factors were filled with the constructor's defaults, all of them accepted keys.
    return [key for key in (*regularizer.factors, *regularizer.options) if key not in accepted]
