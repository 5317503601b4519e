"""RA4xx: configs whose meaning depends on the Keras version that saved or loads them."""

from __future__ import annotations

from typing import Iterator

from regaudit.checks import Hit, RuleContext, check
from regaudit.describe import keras_spelling, regularizer_label
from regaudit.loaders.regularizers import LEGACY_ARGUMENTS
from regaudit.tree import ModelTree, Origin, Regularizer


@check("RA401")
def legacy_keras1_regularizer(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer in tree.regularized():
        legacy_argument = regularizer.argument in LEGACY_ARGUMENTS
        if not legacy_argument and regularizer.origin is not Origin.LEGACY:
            continue
        what = (
            f"Keras 1 argument {regularizer.argument}"
            if legacy_argument
            else f"Keras 1 regularizer {regularizer.class_name}"
        )
        yield Hit.on(layer, regularizer, f"{what}: Keras 2 and 3 cannot load it; {_replacement(regularizer)}")


def _replacement(regularizer: Regularizer) -> str:
    modern = f"{regularizer.slot}_regularizer"
    if regularizer.origin is not Origin.LEGACY:
        return f"rename it {modern}"
    spelling = keras_spelling(regularizer)
    if spelling is not None:
        return f"write {modern}={spelling}"
    if regularizer.is_noop:
        return f"drop it: its factors are all zero ({regularizer_label(regularizer)})"
    return f"write {modern}= with a Keras 2/3 equivalent of {regularizer_label(regularizer)}"
