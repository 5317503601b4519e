"""RA1xx: regularization factors that do nothing, break loading, or look wrong.

RA101-RA104 read factors only where Keras defines what they mean: the built-in classes and the
Keras 1 L1/L2 dicts. A custom class's numeric config values are recorded as factors too, but
what `strength=0` or `rate=-1` does is up to its own code, so those rules leave it alone.
"""

from __future__ import annotations

import math
from collections import defaultdict

from regaudit._namedtuple import NamedTuple
from regaudit.checks import Hit, RuleContext, check
from regaudit.checks.interactions import has_effective_kernel_penalty
from regaudit.checks.keras_facts import (
    BASE_REGULARIZER,
    KerasLine,
    activity_fact,
    adds_no_penalty,
    has_known_factors,
    loading_line,
)
from regaudit.config import Settings
from regaudit.describe import factor, regularizer_label
from regaudit.tree import Layer, ModelTree, Origin, Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Iterable, Iterator

# Keras 3 L1 and OrthogonalRegularizer store float32 and tf.keras casts to floatx, so 0.1 is
# saved as 0.10000000149011612: differences this small are rounding, not a different setting.
_RELATIVE_TOLERANCE = 1e-6
_NORMALIZATION_PARAMETERS = ("gamma", "beta")


class _Factor(NamedTuple):
    value: float
    layer: Layer
    regularizer: Regularizer


@check("RA101")
def noop_regularizer(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer in _with_known_factors(tree):
        if adds_no_penalty(regularizer):
            yield Hit.on(layer, regularizer, _noop_message(layer, regularizer))


@check("RA102")
def invalid_factor(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer in _with_known_factors(tree):
        invalid = regularizer.invalid_factors
        if invalid:
            yield Hit.on(layer, regularizer, _invalid_message(layer, regularizer, invalid))


@check("RA103")
def factor_out_of_range(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer in _applied_with_known_factors(tree, context):
        problems = _range_problems(regularizer, context.settings)
        if problems:
            yield Hit.on(
                layer,
                regularizer,
                f"{_kind(layer, regularizer)} has {'; '.join(problems)}. Check the value for a typo, "
                "or move that bound in the configuration if it is deliberate",
            )


@check("RA104")
def inconsistent_factors(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    ratio = context.settings.inconsistency_ratio
    hits = []
    for (layer_class, slot, name), factors in _like_factors(tree, context).items():
        smallest = min(factors, key=lambda f: f.value)
        largest = max(factors, key=lambda f: f.value)
        if _clearly_greater(largest.value / smallest.value, ratio):
            what = f"the {slot} {name} factor on {layer_class} layers"
            message = _inconsistency_message(what, smallest, largest, len(factors), ratio)
            hits.append((largest.layer, Hit.on(largest.layer, largest.regularizer, message)))
    if not hits:
        return
    positions = {layer: index for index, layer in enumerate(tree.written_layers())}
    for _, hit in sorted(hits, key=lambda pair: positions[pair[0]]):
        yield hit


@check("RA105")
def bias_regularized(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer in _active_penalties(tree, ("bias",)):
        yield Hit.on(
            layer,
            regularizer,
            f"{_describe(layer, regularizer)} penalizes the bias of {layer.class_name} {layer.name}: biases add "
            f"almost no capacity, so the penalty mostly risks underfitting; {_bias_advice(layer, regularizer)}",
        )


@check("RA106")
def norm_params_regularized(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer in _active_penalties(tree, _NORMALIZATION_PARAMETERS):
        if _is_normalization(layer):
            yield Hit.on(layer, regularizer, _normalization_message(layer, regularizer))


# --- which regularizers, which factors ----------------------------------------------------------


def _with_known_factors(tree: ModelTree) -> Iterator[tuple[Layer, Regularizer]]:
    return iter(tree.view(_with_known_factors, _list_with_known_factors, tree))


def _list_with_known_factors(tree: ModelTree) -> list[tuple[Layer, Regularizer]]:
    return [(layer, r) for layer, r in tree.written_regularizers() if has_known_factors(r)]


def _applied_with_known_factors(tree: ModelTree, context: RuleContext) -> Iterator[tuple[Layer, Regularizer]]:
    """As _with_known_factors, without activity regularizers the loading Keras ignores (RA407):
    their factor's size has no effect to warn about."""
    line = loading_line(tree, context.settings.target_keras)
    return iter(tree.view((_applied_with_known_factors, line), _list_applied_with_known_factors, tree, line))


def _list_applied_with_known_factors(tree: ModelTree, line: KerasLine | None) -> list[tuple[Layer, Regularizer]]:
    return [(layer, r) for layer, r in _with_known_factors(tree) if r.slot != "activity" or activity_fact(layer, line) is None]


def _effective_factors(regularizer: Regularizer) -> dict[str, float]:
    """Factors that add a penalty: zeros are RA101's business, invalid values RA102's."""
    invalid = regularizer.invalid_factors
    return {name: value for name, value in regularizer.factors.items() if value != 0 and name not in invalid}


def _clearly_greater(value: float, bound: float) -> bool:
    return value > bound * (1 + _RELATIVE_TOLERANCE)


def _active_penalties(tree: ModelTree, slots: Iterable[str]) -> Iterator[tuple[Layer, Regularizer]]:
    """Regularizers on these slots that penalize a weight the layer creates and trains.

    A frozen layer's penalties never move its weights, and a switched-off weight (use_bias=False,
    scale=False) has none: other rules report those settings as inert.
    """
    for layer, regularizer in tree.written_regularizers():
        if (
            regularizer.slot in slots
            and regularizer.slot not in layer.absent_weights
            and layer.effectively_trainable
            and regularizer.origin is not Origin.UNKNOWN
            and not adds_no_penalty(regularizer)
        ):
            yield layer, regularizer


def _like_factors(tree: ModelTree, context: RuleContext) -> dict[tuple[str, str, str], list[_Factor]]:
    """Penalty factors of trained weights, by layer class, slot and factor name, in tree order.

    Grouped by factor name rather than regularizer class: l2 means the same in L2, L1L2 and the
    Keras 1 dicts, so L2(1e-4) on one Conv2D kernel and L1L2(l2=1e-2) on another disagree.
    """
    groups: dict[tuple[str, str, str], list[_Factor]] = defaultdict(list)
    for layer, regularizer in _applied_with_known_factors(tree, context):
        if layer.effectively_trainable:
            for name, value in _effective_factors(regularizer).items():
                groups[(layer.class_name, regularizer.slot, name)].append(_Factor(value, layer, regularizer))
    return groups


def _bias_advice(layer: Layer, regularizer: Regularizer) -> str:
    # Advise keeping a kernel penalty only where one regularizes (not where RA201 says it does not).
    if has_effective_kernel_penalty(layer):
        return f"remove {regularizer.argument} and keep the kernel penalty, unless it is deliberate"
    return (
        f"remove {regularizer.argument}, unless it is deliberate, and penalize the kernel instead "
        "if the layer needs regularizing"
    )


def _is_normalization(layer: Layer) -> bool:
    # Keras's BatchNormalization, LayerNormalization, GroupNormalization (Keras 1's too) and the
    # add-on InstanceNormalization all name their scale gamma and their shift beta.
    return layer.class_name.split(">")[-1].endswith("Normalization")


# --- messages ------------------------------------------------------------------------------------


def _describe(layer: Layer, regularizer: Regularizer) -> str:
    """`L2(l2=0.01)`, `Keras 1 WeightRegularizer(l1=0, l2=0)`, `ActivityRegularization(l1=0.1, l2=0)`."""
    return _subject(layer, regularizer, regularizer_label)


def _kind(layer: Layer, regularizer: Regularizer) -> str:
    """`L2`, `Keras 1 WeightRegularizer`, `ActivityRegularization`: for messages that quote one factor."""
    return _subject(layer, regularizer, lambda r: r.class_name or "")


def _subject(layer: Layer, regularizer: Regularizer, spell: Callable[[Regularizer], str]) -> str:
    if regularizer.argument is None:  # the ActivityRegularization layer's own l1/l2
        return spell(regularizer._replace(class_name=layer.class_name))
    if regularizer.origin is Origin.LEGACY:
        return f"Keras 1 {spell(regularizer)}"
    return spell(regularizer)


def _noop_message(layer: Layer, regularizer: Regularizer) -> str:
    if regularizer.class_name == BASE_REGULARIZER:
        return (
            "the base class keras.regularizers.Regularizer adds no penalty (it returns 0); "
            "use L1, L2 or L1L2 with a factor, or remove the regularizer"
        )
    defaults = ""
    if regularizer.class_name == "L1L2" and regularizer.argument is not None:
        defaults = " (Keras 3's L1L2(), l1_l2() and 'l1l2' default to zeros; tf.keras's l1_l2() meant 0.01 each)"
    return (
        f"{_describe(layer, regularizer)} adds no penalty: every factor is zero{defaults}; "
        "set the factor you meant, e.g. L2(1e-4), or remove the regularizer"
    )


def _invalid_message(layer: Layer, regularizer: Regularizer, invalid: dict[str, float]) -> str:
    values = ", ".join(f"{name}={factor(value)}" for name, value in invalid.items())
    if all(math.isfinite(value) for value in invalid.values()):
        consequence = (
            "a negative factor: Keras 3 refuses to load the model, and Keras 1/2 and tf.keras turn the "
            "penalty into a reward for large weights"
        )
    else:
        consequence = (
            "a NaN or infinite factor: Keras 3 and tf.keras refuse to load the model, and Keras 1/2 "
            "train on a NaN or infinite loss"
        )
    return f"{_kind(layer, regularizer)} has {values}, {consequence}; set a factor >= 0 or remove the regularizer"


def _range_problems(regularizer: Regularizer, settings: Settings) -> list[str]:
    problems = []
    for name, value in _effective_factors(regularizer).items():
        if _clearly_greater(value, settings.max_factor):
            problems.append(
                f"{name}={factor(value)}, above max-factor {settings.max_factor:g}, "
                "strong enough to dominate the loss and stall learning"
            )
        elif _clearly_greater(settings.min_factor, value):
            problems.append(
                f"{name}={factor(value)}, below min-factor {settings.min_factor:g}, too weak to change training"
            )
    return problems


def _inconsistency_message(what: str, smallest: _Factor, largest: _Factor, count: int, ratio: float) -> str:
    return (
        f"{what} ranges from {factor(smallest.value)} ({smallest.layer.path}) to {factor(largest.value)} "
        f"({largest.layer.path}), {_times(largest.value / smallest.value)} across {count} layers, beyond "
        f"inconsistency-ratio {ratio:g}; use one value unless the difference is deliberate"
    )


def _times(ratio: float) -> str:
    return f"{ratio:.0f}x" if ratio >= 100 else f"{ratio:.3g}x"


def _normalization_message(layer: Layer, regularizer: Regularizer) -> str:
    where = f"{_describe(layer, regularizer)} on the {regularizer.slot} of {layer.class_name} {layer.name}"
    if _prunes_channels(regularizer):
        return (
            f"{where}: L1 on normalization scales is the network-slimming channel-pruning trick; if that "
            f"is the intent, ignore RA106 for this layer (per-layer-ignores), otherwise remove {regularizer.argument}"
        )
    return (
        f"{where}: normalization scales and shifts are a few per-channel parameters that add little "
        "capacity, and the penalty only shrinks a scale or shift the next layer can undo; remove "
        f"{regularizer.argument}, as common practice exempts them"
    )


def _prunes_channels(regularizer: Regularizer) -> bool:
    """L1 on gamma: network slimming drives channel scales to zero to prune those channels."""
    return regularizer.slot == "gamma" and has_known_factors(regularizer) and regularizer.factors.get("l1", 0) > 0
