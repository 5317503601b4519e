"""RA5xx: team policies, off until configured with [[require]] and [[disallow]] tables."""

from __future__ import annotations

import math
from fnmatch import fnmatchcase

from regaudit.checks import Hit, RuleContext, check
from regaudit.config import Prohibition, Requirement
from regaudit.describe import factor, regularizer_label
from regaudit.tree import Layer, ModelTree, Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Iterator

_TOLERANCE = 1e-6  # float32 noise: 0.0010000000474974513 is within max = 0.001


@check("RA501")
def missing_required_regularizer(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for requirement in context.settings.require:
        for layer in tree.written_layers():
            if _required_of(layer, requirement):
                yield from _requirement_problems(layer, requirement)


@check("RA502")
def disallowed_regularizer(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for prohibition in context.settings.disallow:
        for layer, regularizer in tree.written_regularizers():
            if _prohibited(layer, regularizer, prohibition):
                yield Hit.on(
                    layer,
                    regularizer,
                    f"{regularizer_label(regularizer)} ({regularizer.origin.value}) on {layer.class_name} "
                    f"{regularizer.slot} is disallowed by policy {_describe_prohibition(prohibition)}",
                )


def _required_of(layer: Layer, requirement: Requirement) -> bool:
    # Frozen layers are exempt: Keras drops the penalty of non-trainable weights anyway (RA003).
    return (
        layer.effectively_trainable
        and requirement.slot in layer.weights
        and _any_match(layer.class_name, requirement.layers)
        and _any_match(layer.path, requirement.paths)
    )


def _requirement_problems(layer: Layer, requirement: Requirement) -> Iterator[Hit]:
    wanted = _describe_requirement(requirement)
    present = [r for r in layer.regularizers if r.slot == requirement.slot]
    if not present:
        yield Hit(layer.path, f"{requirement.slot}_regularizer",
                  f"{layer.class_name} {requirement.slot} has no regularizer; policy requires {wanted}")
    for regularizer in present:
        if requirement.regularizers and not _any_match(regularizer.class_name or "", requirement.regularizers):
            yield Hit.on(layer, regularizer, f"{regularizer_label(regularizer)} is not allowed here; policy requires {wanted}")
        elif out_of_bounds := _out_of_bounds(regularizer, requirement):
            yield Hit.on(layer, regularizer, f"{out_of_bounds}; policy requires {wanted}")


def _out_of_bounds(regularizer: Regularizer, requirement: Requirement) -> str | None:
    for name, value in regularizer.factors.items():
        if value == 0 or math.isnan(value):
            continue
        if requirement.min is not None and value < requirement.min * (1 - _TOLERANCE):
            return f"{name}={factor(value)} is below the required minimum {factor(requirement.min)}"
        if requirement.max is not None and value > requirement.max * (1 + _TOLERANCE):
            return f"{name}={factor(value)} is above the required maximum {factor(requirement.max)}"
    return None


def _prohibited(layer: Layer, regularizer: Regularizer, prohibition: Prohibition) -> bool:
    conditions = (
        (prohibition.regularizers, regularizer.class_name or ""),
        (prohibition.origins, regularizer.origin.value),
        (prohibition.slots, regularizer.slot),
        (prohibition.layers, layer.class_name),
    )
    return all(not patterns or _any_match(value, patterns) for patterns, value in conditions) and _any_match(
        layer.path, prohibition.paths
    )


def _any_match(value: str, patterns: Iterable[str]) -> bool:
    return any(fnmatchcase(value, pattern) for pattern in patterns)


def _describe_requirement(requirement: Requirement) -> str:
    kinds = " or ".join(requirement.regularizers) or "a regularizer"
    bounds = []
    if requirement.min is not None:
        bounds.append(f">= {factor(requirement.min)}")
    if requirement.max is not None:
        bounds.append(f"<= {factor(requirement.max)}")
    return f"{kinds}{' with factors ' + ' and '.join(bounds) if bounds else ''} on the {requirement.slot}"


def _describe_prohibition(prohibition: Prohibition) -> str:
    parts = [
        f"{label} {', '.join(values)}"
        for label, values in (("regularizers", prohibition.regularizers), ("origins", prohibition.origins),
                              ("slots", prohibition.slots), ("layers", prohibition.layers))
        if values
    ]
    return "(" + "; ".join(parts) + ")"
