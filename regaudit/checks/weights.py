"""Weight evidence (RA6xx): what the stored weights show. These checks run only with --weights;
they read the evidence the engine computed (``context.evidence``) and never open a file.
"""

from __future__ import annotations

import math

from regaudit.checks import Hit, RuleContext, check
from regaudit.tree import Layer, ModelTree, Origin, Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator

# Slots whose weights are comparable for sparsity: the matrices L1 is put on to prune.
_SPARSITY_SLOTS = ("kernel", "depthwise", "pointwise", "embeddings", "recurrent")


@check("RA601")
def nonfinite_weights(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    if context.evidence is None:
        return
    for path, weight in context.evidence.all_weights():
        if weight.nonfinite:
            yield Hit(
                path or None, None,
                f"{weight.name} holds {weight.nonfinite:,} NaN or infinite values of {weight.size:,}: training "
                "diverged or the file was damaged, and every prediction through this layer is non-finite",
            )


@check("RA602")
def collapsed_regularized_weight(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    evidence = context.evidence
    if evidence is None:
        return
    threshold = context.settings.collapse_rms
    for layer, regularizer in _penalized(tree):
        for weight in _slot_weights(evidence, layer, regularizer.slot):
            if weight.reason or weight.nonfinite or not weight.size:
                continue
            rms = math.sqrt(weight.sum_squares / weight.size)
            if weight.zero_fraction == 1.0:
                state = f"is entirely zero ({weight.size:,} values)"
            elif rms < threshold:
                state = f"has collapsed: its root mean square is {rms:.3g}, below collapse-rms {threshold:g}"
            else:
                continue
            yield Hit.on(layer, regularizer, f"the {regularizer.slot} weight {weight.name} {state}; the "
                                             f"{regularizer.class_name} penalty may have overwhelmed the loss")


@check("RA603")
def l1_without_sparsity(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    evidence = context.evidence
    if evidence is None:
        return
    reference = _unregularized_reference(tree, evidence)
    if reference is None:
        return
    reference_path, reference_weight, reference_fraction = reference
    threshold = context.settings.near_zero
    for layer, regularizer in _penalized(tree):
        if regularizer.slot not in _SPARSITY_SLOTS or not regularizer.factors.get("l1"):
            continue
        for weight in _slot_weights(evidence, layer, regularizer.slot):
            fraction = weight.near_zero_fraction
            if weight.reason or fraction is None or fraction > reference_fraction:
                continue
            yield Hit.on(
                layer, regularizer,
                f"L1 (l1={regularizer.factors['l1']:g}) left {_percent(fraction)} of {weight.name} at or below "
                f"|{threshold:g}|, no more than the unregularized {reference_path}'s {reference_weight} "
                f"({_percent(reference_fraction)}): the penalty bought no sparsity",
            )


def _penalized(tree: ModelTree) -> Iterator[tuple[Layer, Regularizer]]:
    for layer, regularizer in tree.regularized():
        if regularizer.is_weight_penalty and regularizer.origin in (Origin.BUILTIN, Origin.LEGACY):
            if layer.effectively_trainable:
                yield layer, regularizer


def _slot_weights(evidence, layer: Layer, slot: str):
    return [weight for weight in evidence.weights.get(layer.path, ()) if weight.slot == slot]


def _unregularized_reference(tree: ModelTree, evidence):
    """The sparsest matrix weight of a trainable layer that carries no weight regularizer."""
    best = None
    for layer in tree.layers():
        if not layer.effectively_trainable or layer.weight_regularizers:
            continue
        for weight in evidence.weights.get(layer.path, ()):
            if weight.slot not in _SPARSITY_SLOTS or weight.reason:
                continue
            fraction = weight.near_zero_fraction
            if fraction is not None and (best is None or fraction > best[2]):
                best = (layer.path, weight.name, fraction)
    return best


def _percent(fraction: float) -> str:
    return f"{fraction:.1%}"
