"""RA2xx: regularizers that interact badly with the rest of the model."""

from __future__ import annotations

import re

from regaudit.checks import Hit, RuleContext, check
from regaudit.checks.keras_facts import (
    active_weight_penalties,
    adds_no_penalty,
    feeds_batch_normalization,
    is_builtin_layer,
    is_dropout,
    l2_factor,
    strength,
)
from regaudit.describe import factor, regularizer_label
from regaudit.tree import Layer, LayerKind, ModelTree, Origin, Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterator

# Rank of the kernel (depthwise, pointwise) weights of the feed-forward convolutions, whose output
# is linear in the kernel, as is that of Dense and EinsumDense. Keras 1 built its 1D kernels as
# (length, 1, in, out).
_CONV_KERNEL_RANKS = {
    "Conv1D": 3, "Conv2D": 4, "Conv3D": 5,
    "Conv1DTranspose": 3, "Conv2DTranspose": 4, "Conv3DTranspose": 5,
    "DepthwiseConv1D": 3, "DepthwiseConv2D": 4,
    "SeparableConv1D": 3, "SeparableConv2D": 4,
    "Convolution1D": 4, "Convolution2D": 4, "Convolution3D": 5,
    "AtrousConvolution1D": 4, "AtrousConvolution2D": 4,
    "Deconvolution2D": 4, "Deconvolution3D": 5, "SeparableConvolution2D": 4,
}  # fmt: skip
# Rank of the kernel and recurrent kernel of the convolutional LSTMs.
_CONV_RNN_KERNEL_RANKS = {"ConvLSTM1D": 3, "ConvLSTM2D": 4, "ConvLSTM3D": 5}
_LINEAR_LAYERS = frozenset(_CONV_KERNEL_RANKS) | {"Dense", "EinsumDense"}
_RNN_LAYERS = frozenset({"SimpleRNN", "LSTM", "GRU", "SimpleRNNCell", "LSTMCell", "GRUCell"})
_GRU_LAYERS = frozenset({"GRU", "GRUCell"})
_ATTENTION_LAYERS = frozenset({"MultiHeadAttention", "GroupQueryAttention"})
_NORMALIZATION_PARAMETERS = frozenset({"gamma", "beta"})
_NORMALIZATION_WITH_PARAMETERS = frozenset(
    {"BatchNormalization", "SyncBatchNormalization", "LayerNormalization", "GroupNormalization"}
)

_KERNEL_LIKE_SLOTS = frozenset({"kernel", "depthwise", "pointwise"})
# f(a * x) == a * f(x) for a > 0: these keep BatchNormalization blind to the kernel's scale.
_HOMOGENEOUS_ACTIVATIONS = frozenset({"linear", "relu", "leaky_relu"})
# The weight LoRA replaces: the frozen base variable whose regularizer moves to the two factors.
_LORA_SLOTS = frozenset({"kernel", "embeddings"})
# What training code usually excludes from weight decay.
_USUALLY_UNDECAYED_SLOTS = frozenset({"bias"}) | _NORMALIZATION_PARAMETERS
# A pattern, compiled (and cached by `re`) when an EinsumDense is first met, not at import.
_EINSUM = (
    r"(?:\.\.\.)?[a-zA-Z]+(?:\.\.\.)?,(?P<weight>[a-zA-Z]+)"
    r"->(?:\.\.\.)?(?P<output>[a-zA-Z]+)(?P<right_ellipsis>\.\.\.)?"
)


@check("RA201")
def l2_before_batchnorm(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer in tree.written_layers():
        for regularizer in active_weight_penalties(layer):
            batch_norm = batch_norm_cancelling(layer, regularizer)
            if batch_norm is not None:
                yield Hit.on(
                    layer,
                    regularizer,
                    f"{regularizer_label(regularizer)} on the {regularizer.slot} weights feeds BatchNormalization "
                    f"{batch_norm.name}, which cancels their scale: the penalty does not regularize and only "
                    "raises the effective learning rate; drop it, or tune it as a learning-rate setting",
                )


def batch_norm_cancelling(layer: Layer, regularizer: Regularizer) -> Layer | None:
    """The BatchNormalization that makes this L2 kernel penalty meaningless (RA201), or None.

    Shared with the rules that would otherwise recommend the same penalty (RA002, RA105).
    """
    if regularizer.slot not in _KERNEL_LIKE_SLOTS or not l2_factor(regularizer) > 0:
        return None
    if not _output_is_linear_in_kernel(layer):
        return None
    return _scale_invariant_batch_norm(layer)


def effective_weight_penalties(layer: Layer) -> list[Regularizer]:
    """Weight penalties that regularize: computed by Keras (active_weight_penalties), with a
    non-zero factor, and not cancelled by a BatchNormalization (RA201)."""
    return [
        regularizer
        for regularizer in active_weight_penalties(layer)
        if not adds_no_penalty(regularizer) and batch_norm_cancelling(layer, regularizer) is None
    ]


def has_effective_kernel_penalty(layer: Layer) -> bool:
    """A kernel (depthwise, pointwise) penalty that regularizes (effective_weight_penalties)."""
    return any(r.slot in _KERNEL_LIKE_SLOTS for r in effective_weight_penalties(layer))


@check("RA202")
def double_weight_decay(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    decay = _weight_decay_label(tree)
    if decay is None:
        return
    penalized = dict.fromkeys(_written_layer(layer).path for layer in tree.written_layers() if _has_l2_weight_penalty(layer))
    if penalized:
        yield Hit(
            None,
            None,
            f"{decay} decays the weights, and L2 regularizers on {_layer_list(list(penalized))} "
            "decay them a second time through the loss; keep one: remove those regularizers, or set "
            "weight_decay=None",
        )


@check("RA203")
def weight_decay_scope_unknown(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    decay = _weight_decay_label(tree)
    if decay is not None:
        exposed = [layer.path for layer in tree.written_layers() if _has_usually_undecayed_weights(layer)]
        yield Hit(
            None,
            None,
            f"{decay} decays every trainable variable not excluded with exclude_from_weight_decay(), "
            f"and that list is not saved, so the file cannot tell {_decay_scope_question(exposed)}",
        )


@check("RA204")
def dropout_before_batchnorm(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer in tree.written_layers():
        if not _shifts_variance(layer):
            continue
        batch_norm = _training_batch_norm(_graph_node(layer))
        if batch_norm is not None:
            yield Hit(
                layer.path,
                None,
                f"{layer.class_name}{_rate_label(layer)} feeds BatchNormalization {batch_norm.name}, which learns "
                "its moving variance from dropout-inflated inputs and applies it to inputs without dropout at "
                "inference; move the dropout after the normalization",
            )


@check("RA205")
def orthogonal_on_non_rank2(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer in tree.written_regularizers():
        if not _is_orthogonal(regularizer) or regularizer.slot in layer.absent_weights:
            continue
        if not (layer.effectively_trainable or _penalizes_frozen_weights(tree)):
            continue
        wrong = sorted(rank for rank in _weight_ranks(layer, regularizer.slot) if rank != 2)
        if wrong:
            ranks = " and ".join(str(rank) for rank in wrong)
            yield Hit.on(
                layer,
                regularizer,
                f"OrthogonalRegularizer on the rank-{ranks} {regularizer.slot} weights of {layer.class_name}: "
                f"it only accepts rank-2 weights, so computing the loss raises \"Inputs to "
                f"OrthogonalRegularizer must have rank 2\"; remove {regularizer.argument} or use L2",
            )


@check("RA206")
def regularizer_under_lora(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer in tree.written_layers():
        rank = _lora_rank(layer)
        if rank is None:
            continue
        for regularizer in active_weight_penalties(layer):
            if regularizer.slot in _LORA_SLOTS:
                yield Hit.on(
                    layer,
                    regularizer,
                    f"lora_rank={rank}: Keras freezes the base {regularizer.slot} and gives "
                    f"{regularizer_label(regularizer)} to lora_{regularizer.slot}_a and lora_{regularizer.slot}_b "
                    f"instead, so it penalizes the low-rank update, not the {regularizer.slot} itself; drop "
                    f"{regularizer.argument} unless that is intended",
                )


# --- weights and penalties -----------------------------------------------------------------------


def _has_l2_weight_penalty(layer: Layer) -> bool:
    return any(l2_factor(regularizer) > 0 for regularizer in active_weight_penalties(layer))


def _has_usually_undecayed_weights(layer: Layer) -> bool:
    return layer.effectively_trainable and bool(layer.weights & _USUALLY_UNDECAYED_SLOTS)


def _is_orthogonal(regularizer: Regularizer) -> bool:
    return regularizer.origin is Origin.BUILTIN and regularizer.class_name == "OrthogonalRegularizer"


def _penalizes_frozen_weights(tree: ModelTree) -> bool:
    # Keras 3 computes weight penalties over trainable weights only (Layer._get_regularization_losses);
    # tf.keras and Keras 1/2 compute them for frozen layers too.
    return tree.keras_version is not None and tree.keras_version.split(".")[0] in ("1", "2")


def _lora_rank(layer: Layer) -> int | None:
    rank = layer.config.get("lora_rank")
    return rank if isinstance(rank, int) and not isinstance(rank, bool) and rank > 0 else None


# --- weight ranks (RA205) ----------------------------------------------------------------------


def _weight_ranks(layer: Layer, slot: str) -> frozenset[int]:
    """The ranks of the variables a slot's regularizer is applied to; empty where unknown."""
    if not is_builtin_layer(layer):
        return frozenset()
    name = layer.class_name
    if slot == "bias":
        return _bias_ranks(layer)
    if slot in _NORMALIZATION_PARAMETERS and name in _NORMALIZATION_WITH_PARAMETERS:
        axis = layer.config.get("axis")
        return frozenset({len(axis) if isinstance(axis, list) else 1})
    if name in _CONV_KERNEL_RANKS and slot in _KERNEL_LIKE_SLOTS:
        return frozenset({_CONV_KERNEL_RANKS[name]})
    if name in _CONV_RNN_KERNEL_RANKS and slot in ("kernel", "recurrent"):
        return frozenset({_CONV_RNN_KERNEL_RANKS[name]})
    if (name == "Dense" and slot == "kernel") or (name == "Embedding" and slot == "embeddings"):
        return frozenset({2})
    if name in _RNN_LAYERS and slot in ("kernel", "recurrent"):
        return frozenset({2})
    if name in _ATTENTION_LAYERS and slot == "kernel":
        return frozenset({3})  # query, key, value and output EinsumDense kernels
    if name == "EinsumDense" and slot == "kernel":
        equation = _einsum_equation(layer)
        return frozenset({len(equation["weight"])}) if equation else frozenset()
    return frozenset()


def _bias_ranks(layer: Layer) -> frozenset[int]:
    name = layer.class_name
    if name in _GRU_LAYERS:
        # reset_after=True keeps separate input and recurrent biases: shape (2, 3 * units).
        reset_after = layer.config.get("reset_after")
        return frozenset({2 if reset_after else 1}) if isinstance(reset_after, bool) else frozenset()
    if name == "EinsumDense":
        return _einsum_bias_ranks(layer)
    if name in _ATTENTION_LAYERS:
        # Query, key and value biases are (heads, head_dim); the output bias follows output_shape.
        return frozenset({2, _attention_output_rank(layer)})
    if name in _CONV_KERNEL_RANKS or name in _CONV_RNN_KERNEL_RANKS or name in _RNN_LAYERS or name == "Dense":
        return frozenset({1})
    return frozenset()


def _attention_output_rank(layer: Layer) -> int:
    output_shape = layer.config.get("output_shape")
    return len(output_shape) if isinstance(output_shape, list) and output_shape else 1


def _einsum_equation(layer: Layer) -> re.Match[str] | None:
    equation = layer.config.get("equation")
    return re.fullmatch(_EINSUM, equation.replace(" ", "")) if isinstance(equation, str) else None


def _einsum_bias_ranks(layer: Layer) -> frozenset[int]:
    # Keras' _analyze_split_string: the bias spans the output axes from the first biased one to
    # the last, plus one axis per input dimension an ellipsis on the right stands for (unknown).
    equation = _einsum_equation(layer)
    bias_axes = layer.config.get("bias_axes")
    if equation is None or equation["right_ellipsis"] or not isinstance(bias_axes, str) or not bias_axes:
        return frozenset()
    output = equation["output"]
    if any(axis not in output for axis in bias_axes):
        return frozenset()
    return frozenset({len(output) - min(output.index(axis) for axis in bias_axes)})


# --- the graph around BatchNormalization (RA201, RA204) ----------------------------------------


def _graph_node(layer: Layer) -> Layer:
    """The layer as the model graph sees it: a wrapped layer is connected through its wrapper."""
    while layer.parent is not None and layer.parent.kind is LayerKind.WRAPPER:
        layer = layer.parent
    return layer


def _training_batch_norm(node: Layer) -> Layer | None:
    # A frozen BatchNormalization runs in inference mode (Keras 3, tf.keras 2): fixed statistics.
    batch_norm = feeds_batch_normalization(node)
    return batch_norm if batch_norm is not None and batch_norm.effectively_trainable else None


def _scale_invariant_batch_norm(layer: Layer) -> Layer | None:
    """The BatchNormalization whose output does not change when the layer's kernel is scaled."""
    node = _graph_node(layer)
    batch_norm = _training_batch_norm(node)
    if batch_norm is None or node.name in batch_norm.inbound:
        return batch_norm
    between = [successor for successor in node.successors() if successor.name in batch_norm.inbound]
    return batch_norm if all(_is_homogeneous_activation_layer(a) for a in between) else None


def _output_is_linear_in_kernel(layer: Layer) -> bool:
    return (
        layer.class_name in _LINEAR_LAYERS
        and is_builtin_layer(layer)
        and _is_homogeneous(layer.config.get("activation", "linear"))
    )


def _is_homogeneous(activation: Any) -> bool:
    # A custom or serialized activation object is unknown, so not taken as homogeneous.
    return activation is None or (isinstance(activation, str) and activation in _HOMOGENEOUS_ACTIVATIONS)


def _is_homogeneous_activation_layer(layer: Layer) -> bool:
    if layer.class_name in ("LeakyReLU", "PReLU"):
        return True
    if layer.class_name == "ReLU":
        return layer.config.get("max_value") is None and not layer.config.get("threshold")
    return layer.class_name == "Activation" and _is_homogeneous(layer.config.get("activation"))


def _shifts_variance(layer: Layer) -> bool:
    # AlphaDropout keeps the mean and variance of its input by design, so BN sees no shift.
    if not is_dropout(layer) or layer.class_name == "AlphaDropout":
        return False
    rate = strength(layer)
    return rate is None or rate > 0


def _rate_label(layer: Layer) -> str:
    rate = strength(layer)
    return f"(rate={factor(rate)})" if rate is not None else ""


# --- optimizer and reporting (RA202, RA203) ----------------------------------------------------


def _weight_decay_label(tree: ModelTree) -> str | None:
    """`optimizer AdamW(weight_decay=0.004)` when the saved optimizer decays weights, else None."""
    optimizer = tree.optimizer
    decay = optimizer.weight_decay if optimizer is not None else None
    if optimizer is None or decay is None or not decay > 0:
        return None
    return f"optimizer {optimizer.class_name}(weight_decay={factor(decay)})"


def _written_layer(layer: Layer) -> Layer:
    # Bidirectional holds two copies of the one RNN the user wrote; count it once.
    parent = layer.parent
    return parent if parent is not None and parent.class_name == "Bidirectional" else layer


def _decay_scope_question(exposed: list[str]) -> str:
    if not exposed:
        return "which variables are decayed; check the exclusions in the training code"
    return (
        f"whether the biases and normalization parameters of {_layer_list(exposed)} "
        'are decayed; if they should not be, call exclude_from_weight_decay(var_names=["bias", "gamma", "beta"]) '
        "before training"
    )


def _layer_list(paths: list[str], shown: int = 3) -> str:
    """`2 layers (d1, d2)`, `5 layers (a, b, c and 2 more)`."""
    more = len(paths) - shown
    names = ", ".join(paths[:shown]) + (f" and {more} more" if more > 0 else "")
    return f"{len(paths)} layer{'' if len(paths) == 1 else 's'} ({names})"
