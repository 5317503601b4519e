"""RA4xx: configs whose meaning depends on the Keras version (or runtime) that saved or loads them."""


import re
from typing import Iterator, NamedTuple

from regaudit.checks import Hit, RuleContext, check
from regaudit.describe import keras_spelling, regularizer_label
from regaudit.loaders.regularizers import LEGACY_ARGUMENTS
from regaudit.tree import Layer, LayerKind, ModelTree, Origin, Regularizer


@check("RA401")
def legacy_keras1_regularizer(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer in tree.written_regularizers():
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


class KerasVersion(NamedTuple):
    numbers: tuple[int, int, int]
    tf_keras: bool  # "2.2.4-tf": the Keras bundled with TensorFlow, not multi-backend Keras

    @classmethod
    def parse(cls, text: str | None) -> "KerasVersion | None":
        match = re.match(r"\s*(\d+)\.(\d+)(?:\.(\d+))?(\S*)", text or "")
        if match is None:  # e.g. "tfjs-layers 4.22.0": no Keras version at all
            return None
        major, minor, patch, suffix = match.groups()
        return cls((int(major), int(minor), int(patch or 0)), suffix.startswith("-tf"))


# How the penalty of an activity regularizer is scaled, by the Keras that trains the model.
_SUMMED = "summed over the batch"
_BATCH_MEAN = "divided by the batch size"


def activity_scaling(version: KerasVersion) -> str:
    """From the tagged Keras sources: 1.0.0-1.0.6 took the batch mean (K.mean(..., axis=0)), 1.0.7 to
    multi-backend 2.3 summed, tf.keras divides, Keras 3.0-3.13 sums, 3.14 divides again (keras#22021)."""
    numbers = version.numbers
    if numbers >= (3, 14, 0):
        return _BATCH_MEAN
    if numbers >= (3, 0, 0):
        return _SUMMED
    if version.tf_keras or numbers >= (2, 4, 0):  # from 2.4, keras is tf.keras
        return _BATCH_MEAN
    if numbers >= (1, 0, 7):
        return _SUMMED
    return _BATCH_MEAN


def _activity_regularizers(tree: ModelTree) -> Iterator[tuple[Layer, Regularizer]]:
    return ((layer, r) for layer, r in tree.written_regularizers() if r.slot == "activity" and not r.is_noop)


@check("RA402")
def activity_semantics_version_drift(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    saved = KerasVersion.parse(tree.keras_version)
    target = KerasVersion.parse(context.settings.target_keras)
    if saved is None or target is None:
        return
    before, after = activity_scaling(saved), activity_scaling(target)
    if before == after:
        return
    for layer, regularizer in _activity_regularizers(tree):
        yield Hit.on(
            layer,
            regularizer,
            f"activity penalty was {before} in Keras {tree.keras_version}, which saved the model, and is "
            f"{after} in Keras {context.settings.target_keras}: the same factor "
            f"({regularizer_label(regularizer)}) gives a different strength; retune it for the target",
        )


@check("RA403")
def activity_regularizers_possibly_dropped(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    saved = KerasVersion.parse(tree.keras_version)
    if saved is not None and (3, 0, 0) <= saved.numbers < (3, 4, 0):
        yield Hit(
            None,
            None,
            f"saved by Keras {tree.keras_version}, which left activity_regularizer out of layer "
            "configs (keras#19820, fixed in 3.4.0): activity regularizers the model had may be "
            "missing from this file; save it again with Keras 3.4 or later",
        )


@check("RA404")
def activity_regularizer_before_2_1_4(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    saved = KerasVersion.parse(tree.keras_version)
    if saved is None or saved.tf_keras or not (2, 0, 3) <= saved.numbers < (2, 1, 4):
        return
    for layer, regularizer in _activity_regularizers(tree):
        nested_in = _enclosing_model(layer)
        if nested_in is not None:
            yield Hit.on(
                layer,
                regularizer,
                f"Keras {tree.keras_version} computed this activity penalty on the layer's input, not its "
                f"output, whenever the nested model {nested_in.path} ran inside the model (keras#9267, fixed "
                "in 2.1.4): the factor was tuned for another quantity; check it before retraining",
            )


def _enclosing_model(layer: Layer) -> Layer | None:
    """The nearest model nested inside the root that contains the layer, if any."""
    container = layer.parent
    while container is not None and container.parent is not None:
        if container.kind is LayerKind.MODEL:
            return container
        container = container.parent
    return None


@check("RA405")
def tfjs_unsupported_regularizer(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    if tree.format != "tfjs-layers":
        return
    for layer, regularizer in tree.written_regularizers():
        if regularizer.class_name != "L1L2" and regularizer.argument is not None:
            yield Hit.on(
                layer,
                regularizer,
                f"TensorFlow.js knows only the L1L2 regularizer, so loading this model.json fails "
                f"with \"Unknown regularizer: {regularizer.class_name}\"; use L1L2 before converting",
            )
