"""RA4xx: configs whose meaning depends on the Keras version (or runtime) that saved or loads them."""

from __future__ import annotations

from collections import Counter

from regaudit.checks import Hit, RuleContext, check
from regaudit.checks.keras_facts import (
    ACTIVITY_MEANING,
    KERAS3_TIME_DISTRIBUTED_BYPASS,
    MULTI_HEAD_ATTENTION_MEANING,
    TF_KERAS_DROPS,
    TFJS_REFUSES_ACTIVITY,
    Fact,
    KerasLine,
    KerasVersion,
    activity_applied,
    activity_fact,
    adds_no_penalty,
    is_builtin_layer,
    line_of,
    loading_line,
    saving_line,
)
from regaudit.checks.keras_facts import LOAD_MODEL_LINES, container_name_facts
from regaudit.describe import factor, keras_spelling, regularizer_label
from regaudit.loaders.regularizers import LEGACY_ARGUMENTS
from regaudit.outcomes import Severity
from regaudit.tree import Layer, LayerKind, ModelTree, Origin, Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator


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


def _activity_regularizers(tree: ModelTree, line: KerasLine | None) -> Iterator[tuple[Layer, Regularizer]]:
    """Activity regularizers that add a penalty in that line (RA407 reports the ones it ignores)."""
    return (
        (layer, r) for layer, r in tree.written_regularizers() if r.slot == "activity" and activity_applied(layer, r, line)
    )


@check("RA402")
def activity_semantics_version_drift(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    saved = KerasVersion.parse(tree.keras_version)
    target = KerasVersion.parse(context.settings.target_keras)
    if saved is None or target is None:
        return
    before, after = activity_scaling(saved), activity_scaling(target)
    if before == after:
        return
    for layer, regularizer in _activity_regularizers(tree, line_of(target)):
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
    for layer, regularizer in _activity_regularizers(tree, line_of(saved)):
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
        if regularizer.argument is None:  # an ActivityRegularization layer: a layer class question
            continue
        if regularizer.slot == "activity":
            yield Hit.on(layer, regularizer, _tfjs_activity_message(layer, regularizer))
        elif regularizer.class_name != "L1L2":
            yield Hit.on(
                layer,
                regularizer,
                f"TensorFlow.js knows only the L1L2 regularizer, so loading this model.json fails "
                f"with \"Unknown regularizer: {regularizer.class_name}\"; write {regularizer.argument}="
                f"{keras_spelling_l1l2(regularizer)} in the Python model before converting, or remove it",
            )


def _tfjs_activity_message(layer: Layer, regularizer: Regularizer) -> str:
    fact = TFJS_REFUSES_ACTIVITY
    return (
        f"{_setting_label(regularizer)}: {fact.what}, whatever the regularizer class, so this model "
        f"cannot run in {fact.line.value}; remove {regularizer.argument} from {layer.class_name} "
        f"{layer.name} before converting (activity penalties play no part in inference)"
    )


def _setting_label(regularizer: Regularizer) -> str:
    if regularizer.argument is None:
        return f"ActivityRegularization({regularizer_label(regularizer)})"
    return f"{regularizer.argument}={regularizer_label(regularizer)}"


def keras_spelling_l1l2(regularizer: Regularizer) -> str:
    """`keras.regularizers.L1L2(l1=0, l2=0.01)`, the one class TF.js reads, with this one's factors."""
    l1, l2 = regularizer.factors.get("l1", 0.0), regularizer.factors.get("l2", 0.0)
    if regularizer.class_name in ("L1", "L2", "L1L2") and regularizer.origin is Origin.BUILTIN:
        return f"keras.regularizers.L1L2(l1={factor(l1)}, l2={factor(l2)})"
    return "keras.regularizers.L1L2(l1=..., l2=...)"


# --- activity regularizers the loading Keras ignores, loses or reads differently ------------------


@check("RA407")
def activity_regularizer_ignored(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    line = loading_line(tree, context.settings.target_keras)
    for layer, regularizer in tree.written_regularizers():
        if regularizer.slot != "activity" or adds_no_penalty(regularizer):
            continue
        fact = activity_fact(layer, line)
        if fact is not None:
            yield Hit.on(
                layer,
                regularizer,
                f"{_setting_label(regularizer)} adds no penalty in {fact.line.value}: {fact.what}, so "
                f"{_who_loads(tree, context, fact.line)} trains without it; {_ignored_fix(layer, fact)}",
            )


def _ignored_fix(layer: Layer, fact: Fact) -> str:
    if fact is KERAS3_TIME_DISTRIBUTED_BYPASS:
        wrapper = layer.parent.name if layer.parent is not None else "the wrapper"
        return (
            f"move activity_regularizer to the TimeDistributed layer {wrapper} itself, which Keras 3 "
            "applies to the whole output, or add an ActivityRegularization layer after it"
        )
    return (
        f"remove activity_regularizer from {layer.class_name} {layer.name} and add an "
        "ActivityRegularization layer after it, which every Keras line applies"
    )


def _who_loads(tree: ModelTree, context: RuleContext, line: KerasLine) -> str:
    if context.settings.target_keras and line_of(KerasVersion.parse(context.settings.target_keras)) is line:
        return f"the target Keras {context.settings.target_keras}"
    return f"Keras {tree.keras_version}, which saved this file,"


@check("RA408")
def activity_regularizers_dropped_on_save(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    if saving_line(tree) is not TF_KERAS_DROPS.line or tree.format == "tfjs-layers":
        return
    # Only where the file shows that its author uses activity regularizers at all: every tf.keras
    # model has a Dropout or Flatten, and a finding on each would say nothing.
    if not any(r.slot == "activity" and r.argument is not None for _, r in tree.written_regularizers()):
        return
    at_risk = Counter(
        layer.class_name
        for layer in tree.written_layers()
        if layer.class_name in TF_KERAS_DROPS.classes and is_builtin_layer(layer)
    )
    if at_risk:
        classes = ", ".join(f"{name} ({count})" for name, count in sorted(at_risk.items()))
        yield Hit(
            None,
            None,
            f"saved by Keras {tree.keras_version} ({TF_KERAS_DROPS.line.value}), which "
            f"{TF_KERAS_DROPS.what} for {len(TF_KERAS_DROPS.classes)} layer classes, including the "
            f"layers of class {classes} here: an activity regularizer set on any of them is missing from this file "
            "and from the model it reloads; put such penalties in ActivityRegularization layers, or save "
            "with Keras 3.4 or later",
        )


@check("RA409")
def activity_meaning_changes(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    saved, target = saving_line(tree), line_of(KerasVersion.parse(context.settings.target_keras))
    fact = MULTI_HEAD_ATTENTION_MEANING
    if saved == target or saved not in ACTIVITY_MEANING or target not in ACTIVITY_MEANING:
        return
    for layer, regularizer in _activity_regularizers(tree, target):
        if layer.class_name in fact.classes and is_builtin_layer(layer):
            yield Hit.on(
                layer,
                regularizer,
                f"{_setting_label(regularizer)} on {layer.class_name} {layer.name} means {ACTIVITY_MEANING[saved]} "
                f"in {saved.value}, which saved the model, and {ACTIVITY_MEANING[target]} in {target.value} "
                f"{context.settings.target_keras}: the same factor regularizes other tensors; retune it, or "
                "replace it with an ActivityRegularization layer after the attention, which means the same "
                "in both",
            )


_HOLDS = {
    "zip": "a Keras zip archive",
    "hdf5": "a legacy HDF5 model",
    "json": "a model config JSON",
    "savedmodel": "a TensorFlow SavedModel",
}


@check("RA406")
def refused_under_this_name(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    facts = container_name_facts(tree.container, tree.file_suffix)
    if not facts:
        return
    target = line_of(KerasVersion.parse(context.settings.target_keras))
    for fact in facts:
        if target is not None and target not in fact.refused_by:
            continue  # the Keras the model is headed for loads it
        if target is None and not fact.warn_without_target:
            continue
        if fact.any_name:
            name = under = ""
        else:
            name = f" named {tree.file_suffix}" if tree.file_suffix else " named without an extension"
            under = " under this name"
        holds = _HOLDS.get(fact.container, fact.container)
        if target is not None:
            who = f"the target, Keras {context.settings.target_keras} ({target.value}), refuses"
        elif set(fact.refused_by) >= set(LOAD_MODEL_LINES):
            who = "every Keras line refuses"
        else:
            who = " and ".join(line.value for line in fact.refused_by) + (" refuses" if len(fact.refused_by) == 1 else " refuse")
        accepted = f" ({' and '.join(line.value for line in fact.accepted_by)} load it)" if fact.accepted_by else ""
        yield Hit(
            None,
            None,
            f"{holds}{name}: {who} to load it{under}{accepted}: {fact.refusal}. Audited by its "
            f"content; {fact.fix}",
            Severity.ERROR if target is not None else None,
        )


@check("RA420")
def savedmodel_layer_entry_disagrees(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    # Source: tf_keras 2.21 saving/legacy/saved_model/load.py: KerasObjectLoader revives each layer
    # of a Functional or Sequential model from its own entry, and the model config only wires them.
    if not tree.disagreements:  # only SavedModels carry two configs
        return
    loaded = {layer.path: layer for layer in tree.layers()}
    for disagreement in tree.disagreements:
        layer = loaded.get(disagreement.path)
        if layer is None:
            continue
        changes = "; ".join(_saved_differences(disagreement.in_model_config, layer)) or "its class or nesting"
        yield Hit(
            disagreement.path,
            None,
            f"the SavedModel holds two configs of this layer that disagree ({changes}); tf_keras "
            "loads the layer from its own metadata entry, so this report shows that one; save the "
            "model again so that both agree, and check which one you meant",
        )


def _saved_differences(in_model_config: Layer, loaded: Layer) -> Iterator[str]:
    before = {item.path: item for item in (in_model_config, *in_model_config.walk())}
    for item in (loaded, *loaded.walk()):
        saved = before.get(item.path)
        if saved is None:
            continue
        where = item.path.removeprefix(loaded.path).lstrip("/")
        prefix = f"{where}: " if where else ""
        if saved.trainable != item.trainable:
            yield f"{prefix}trainable {saved.trainable} in the model config, {item.trainable} in the entry"
        slots = {r.slot: r for r in saved.regularizers} | {r.slot: r for r in item.regularizers}
        for slot in slots:
            old = next((r for r in saved.regularizers if r.slot == slot), None)
            new = next((r for r in item.regularizers if r.slot == slot), None)
            if old != new:
                yield (
                    f"{prefix}{slot} regularizer {regularizer_label(old) if old else 'none'} in the model "
                    f"config, {regularizer_label(new) if new else 'none'} in the entry"
                )
