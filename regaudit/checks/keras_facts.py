"""What Keras layer classes do, as far as regularization is concerned. Shared by several rules."""

from __future__ import annotations

from regaudit.tree import Layer, Origin, Regularizer

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
    return layer.class_name in DROPOUT_LAYERS | NOISE_LAYERS and strength(layer) != 0


def has_internal_dropout(layer: Layer) -> bool:
    """Dropout configured inside the layer, e.g. LSTM(dropout=0.2) or MultiHeadAttention(dropout=0.1)."""
    if layer.class_name in DROPOUT_LAYERS:  # their `rate`/`p` is the layer itself, not internal dropout
        return False
    return any(_positive(layer.config.get(key)) for key in DROPOUT_ARGUMENTS)


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
