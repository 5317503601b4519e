"""RA0xx: how much of the model is regularized at all.

Like every rule, these count layers as written in the file (ModelTree.written_layers): a
Bidirectional wrapper's backward copy that mirrors its forward layer is one setting, so it is
neither counted nor reported twice.
"""

from __future__ import annotations

from collections import Counter, defaultdict

from regaudit.checks import Hit, RuleContext, check
from regaudit.checks.interactions import effective_weight_penalties
from regaudit.checks.keras_facts import (
    KerasLine,
    activity_applied,
    activity_fact,
    adds_no_penalty,
    has_internal_dropout,
    loading_line,
    regularizes_by_itself,
)
from regaudit.describe import factor, regularizer_label
from regaudit.tree import Layer, ModelTree, Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator

_LISTED_INERT = 3


@check("RA001")
def no_regularization(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    trainable = _trainable_weight_layers(tree)
    line = loading_line(tree, context.settings.target_keras)
    if not trainable or _is_regularized(tree, line):
        return
    classes = Counter(layer.class_name for layer in trainable)
    yield Hit(
        None,
        None,
        f"no regularization: {_layers(len(trainable))} with weights ({_tally(classes)}) and no effective "
        "weight or activity regularizer, Dropout or noise layer, RNN/attention dropout or optimizer "
        f"weight_decay{_inert_note(tree, line)}; if the model overfits, add e.g. "
        "kernel_regularizer=keras.regularizers.L2(1e-4) or Dropout layers",
    )


@check("RA002")
def partial_coverage(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    layers = _trainable_weight_layers(tree)
    # Only classes with a layer that has no weight regularizer can be reported: the others' peers
    # are not looked at.
    unregularized = {layer.class_name for layer in layers if not layer.weight_regularizers}
    peers: dict[str, list[Layer]] = defaultdict(list)
    covered: dict[str, list[Layer]] = defaultdict(list)
    for layer in layers:
        if layer.class_name not in unregularized:
            continue
        peers[layer.class_name].append(layer)
        # Only a penalty that regularizes is an example to follow: not all-zero factors (RA101),
        # not an L2 kernel penalty that a BatchNormalization cancels (RA201).
        if effective_weight_penalties(layer):
            covered[layer.class_name].append(layer)
    for layer in layers:
        like = covered[layer.class_name]
        # A bare output layer over regularized hidden layers is a common deliberate design. A layer
        # with an inert regularizer of its own is told why it is inert by RA005, RA101 or RA201.
        if like and not layer.weight_regularizers and not layer.is_model_output:
            name, total = layer.class_name, len(peers[layer.class_name])
            yield Hit(
                layer.path,
                None,
                f"{name} with no weight regularizer, unlike {len(like)} of the {total} trainable {name} "
                f"layers (e.g. {_example(like[0])}); regularize it the same way, or list it under "
                "per-layer-ignores if it is meant to stay unregularized",
            )


@check("RA003")
def regularizer_on_frozen_layer(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer in tree.written_layers():
        if layer.effectively_trainable:
            continue
        for regularizer in layer.weight_regularizers:
            if regularizer.slot in layer.absent_weights:  # RA005 reports these
                continue
            yield Hit.on(
                layer,
                regularizer,
                f"{_setting(regularizer)} {_frozen_reason(layer)}: Keras 3 skips the penalties of "
                "non-trainable weights and tf.keras adds them as a constant with no gradient, so it does "
                "nothing while frozen; remove it, or unfreeze the layer if it should train",
            )


@check("RA004")
def activity_regularizer_on_output(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    line = loading_line(tree, context.settings.target_keras)
    for layer, regularizer in tree.written_regularizers():
        # Only a penalty Keras adds: all-zero factors are RA101's, ignored ones RA407's.
        if regularizer.slot == "activity" and layer.is_model_output and activity_applied(layer, regularizer, line):
            yield Hit.on(
                layer,
                regularizer,
                f"{_setting(regularizer)} on a layer whose output is a model output: it penalizes the "
                "predictions themselves and pulls against the loss; move it to a hidden layer or remove it",
            )


@check("RA005")
def regularizer_on_missing_weight(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer in tree.written_layers():
        for regularizer in layer.regularizers:
            if regularizer.slot in layer.absent_weights:
                flag = layer.absent_weights[regularizer.slot]
                yield Hit.on(
                    layer,
                    regularizer,
                    f"{_setting(regularizer)}, but this {layer.class_name} has {flag}: false, so Keras never "
                    f"creates the {regularizer.slot} weight and the regularizer is never applied; remove "
                    f"{regularizer.argument}, or set {flag}: true if a {regularizer.slot} was meant",
                )


# --- which layers count ----------------------------------------------------------------------


def _trainable_weight_layers(tree: ModelTree) -> list[Layer]:
    return tree.view(_trainable_weight_layers, _list_trainable_weight_layers, tree)


def _list_trainable_weight_layers(tree: ModelTree) -> list[Layer]:
    return [layer for layer in tree.written_layers() if layer.weights and layer.effectively_trainable]


# --- RA001: what regularizes ---------------------------------------------------------------------


def _is_regularized(tree: ModelTree, line: KerasLine | None) -> bool:
    # The regularizers first: a model has few, and most models have one that adds a penalty.
    return (
        _has_weight_decay(tree)
        or any(_inert_reason(layer, regularizer, line) is None for layer, regularizer in tree.written_regularizers())
        or any(regularizes_by_itself(layer) or has_internal_dropout(layer) for layer in tree.written_layers())
    )


def _has_weight_decay(tree: ModelTree) -> bool:
    decay = tree.optimizer.weight_decay if tree.optimizer is not None else None
    return decay is not None and decay > 0


def _inert_reason(layer: Layer, regularizer: Regularizer, line: KerasLine | None) -> str | None:
    """Why a configured regularizer adds no penalty in the loading Keras line, or None when it does."""
    if adds_no_penalty(regularizer):
        return "all factors zero" if regularizer.is_noop else "the base class returns 0"
    if regularizer.slot == "activity" and (fact := activity_fact(layer, line)) is not None:
        return f"{fact.line.value} ignores it"
    if regularizer.slot in layer.absent_weights:
        return f"no {regularizer.slot} weight"
    if regularizer.is_weight_penalty and not layer.effectively_trainable:
        return "frozen"
    return None


def _inert_note(tree: ModelTree, line: KerasLine | None) -> str:
    inert = [
        f"{_setting(regularizer)} on {layer.path} ({reason})"
        for layer, regularizer in tree.written_regularizers()
        if (reason := _inert_reason(layer, regularizer, line)) is not None
    ]
    if not inert:
        return ""
    more = f" and {len(inert) - _LISTED_INERT} more" if len(inert) > _LISTED_INERT else ""
    return f" (the regularizers it has add no penalty: {', '.join(inert[:_LISTED_INERT])}{more})"


# --- message parts -------------------------------------------------------------------------------


def _setting(regularizer: Regularizer) -> str:
    """`kernel_regularizer=L2(l2=0.0001)`, or the ActivityRegularization layer's own penalty."""
    if regularizer.argument is None:
        l1, l2 = regularizer.factors.get("l1", 0.0), regularizer.factors.get("l2", 0.0)
        return f"ActivityRegularization(l1={factor(l1)}, l2={factor(l2)})"
    return f"{regularizer.argument}={regularizer_label(regularizer)}"


def _tally(counts: Counter[str]) -> str:
    return ", ".join(f"{count} {name}" for name, count in counts.items())


def _layers(count: int) -> str:
    return f"{count} trainable layer{'' if count == 1 else 's'}"


def _example(layer: Layer) -> str:
    return f"{layer.path} has {_setting(effective_weight_penalties(layer)[0])}"


def _frozen_reason(layer: Layer) -> str:
    """Where the `trainable: false` that freezes a not effectively trainable layer is."""
    frozen = layer
    while frozen.trainable and frozen.parent is not None:
        frozen = frozen.parent
    if frozen is layer:
        return "on a layer saved with trainable: false"
    where = frozen.path or f"the whole model {frozen.name}"
    return f"inside {where}, which is saved with trainable: false"

