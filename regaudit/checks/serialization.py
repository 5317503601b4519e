"""RA3xx: regularizers that will not survive save and load."""

from __future__ import annotations

from regaudit.checks import Hit, RuleContext, check
from regaudit.checks.keras_facts import (
    KERAS3_REGISTERED_IN_MAIN,
    KERAS3_STRING,
    KERAS3_UNKNOWN_ARGUMENT,
    KERAS3_LAYER_UNREGISTERED,
    KerasLine,
    TF_KERAS_HDF5_FUNCTION,
    TF_KERAS_ZIP_FUNCTION,
    LoadFact,
    layer_load_fact,
    load_fact,
    loading_line,
    unknown_arguments,
)
from regaudit.describe import keras_spelling, regularizer_label
from regaudit.loaders.regularizers import BUILTIN_DEFAULTS
from regaudit.outcomes import Severity
from regaudit.tree import Layer, ModelTree, Origin, Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterator

_REGISTER_HINT = "@keras.saving.register_keras_serializable(package=...)"


def _with_origin(tree: ModelTree, origin: Origin) -> Iterator[tuple[Layer, Regularizer]]:
    return ((layer, r) for layer, r in tree.written_regularizers() if r.origin is origin)


@check("RA301")
def unregistered_custom_regularizer(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer in _with_origin(tree, Origin.UNREGISTERED):
        name = regularizer.class_name
        where = f" from module {regularizer.module}" if regularizer.module else ""
        yield Hit.on(
            layer,
            regularizer,
            f"custom regularizer class {name}{where} is not registered: load_model fails "
            f"without custom_objects={{'{name}': {name}}}; decorate the class with {_REGISTER_HINT} "
            "and import its module before loading",
        )


@check("RA302")
def lambda_regularizer(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer in _with_origin(tree, Origin.LAMBDA):
        yield Hit.on(
            layer,
            regularizer,
            "lambda regularizer: Keras 3 cannot deserialize it even with safe_mode=False, and the "
            "file carries its bytecode; use a built-in (keras.regularizers.L2(...)) or a named, "
            "registered regularizer class",
        )


def _load_facts(tree: ModelTree, context: RuleContext) -> Iterator[tuple[Layer, Regularizer, LoadFact | None]]:
    """Each regularizer as written, with the LoadFact that makes it fail in the loading line (or None)."""
    line = loading_line(tree, context.settings.target_keras)
    return iter(tree.view((_load_facts, line), _listed_load_facts, tree, line))


def _listed_load_facts(tree: ModelTree, line: KerasLine | None) -> list[tuple[Layer, Regularizer, LoadFact | None]]:
    # Four rules read this list: worked out once per tree.
    return [(layer, r, load_fact(tree, r, line)) for layer, r in tree.written_regularizers()]


@check("RA303")
def function_regularizer(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer, fact in _load_facts(tree, context):
        if fact in (TF_KERAS_HDF5_FUNCTION, TF_KERAS_ZIP_FUNCTION):  # registered functions too
            yield Hit.on(layer, regularizer, _fact_message(f"function {regularizer.class_name} as regularizer", fact, regularizer))
        elif fact is None and regularizer.origin is Origin.FUNCTION:
            name = regularizer.class_name
            yield Hit.on(
                layer,
                regularizer,
                f"plain function {name} as regularizer: load_model fails without "
                f"custom_objects={{'{name}': {name}}}; register it with {_REGISTER_HINT} "
                "or use a regularizer class",
            )


@check("RA304")
def registered_custom_regularizer(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    allowed = context.settings.allowed_packages
    for layer, regularizer, fact in _load_facts(tree, context):
        if regularizer.origin is not Origin.REGISTERED or fact is not None:  # a load failure: RA303, RA306 or RA307
            continue
        name = regularizer.registered_name or regularizer.class_name
        package = name.split(">")[0]
        if allowed is not None and package not in allowed:
            yield Hit.on(
                layer,
                regularizer,
                f"custom regularizer {name} is registered by package {package!r}, which is not in "
                f"allowed-packages ({', '.join(allowed) or 'none'}); replace it or allow the package",
                severity=Severity.ERROR,
            )
            continue
        where = f"module {regularizer.module}" if regularizer.module and regularizer.module != "builtins" else "the code"
        yield Hit.on(
            layer,
            regularizer,
            f"registered custom regularizer {name}: {where} that registers it must be imported "
            "wherever this model is loaded",
        )


@check("RA305")
def unknown_regularizer(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer in _with_origin(tree, Origin.UNKNOWN):
        yield Hit.on(
            layer,
            regularizer,
            f"regularizer entry cannot be interpreted ({regularizer.problem}); Keras will not "
            "load it either: save the model again or correct the entry",
        )


@check("RA306")
def regularizer_registered_in_main(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer, fact in _load_facts(tree, context):
        if fact is KERAS3_REGISTERED_IN_MAIN:
            name = regularizer.registered_name or regularizer.class_name
            yield Hit.on(layer, regularizer, _fact_message(f"custom regularizer {name}", fact, regularizer))


@check("RA307")
def regularizer_keras3_cannot_load(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer, fact in _load_facts(tree, context):
        if fact is KERAS3_STRING:
            yield Hit.on(layer, regularizer, _fact_message(f"the string regularizer {regularizer.identifier!r}", fact, regularizer))
        elif fact is KERAS3_UNKNOWN_ARGUMENT:
            arguments = ", ".join(unknown_arguments(regularizer))
            subject = f"{regularizer.class_name} with argument(s) {arguments} it does not take"
            yield Hit.on(layer, regularizer, _fact_message(subject, fact, regularizer))


@check("RA308")
def custom_layer_keras3_cannot_load(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    line = loading_line(tree, context.settings.target_keras)
    for layer in (tree.root, *tree.written_layers()):
        fact = layer_load_fact(tree, layer, line)
        if fact is None:
            continue
        name = layer.class_name
        where = f" from module {layer.module}" if layer.module else " defined in the training script"
        registration = "not registered" if fact is KERAS3_LAYER_UNREGISTERED else f"registered as {layer.registered_name}"
        yield Hit(layer.path or None, None, _load_message(f"custom layer class {name}{where}, {registration}", fact, name))


def _fact_message(subject: str, fact: LoadFact, regularizer: Regularizer) -> str:
    """The load failure of a regularizer entry; a built-in saved as a string is told how to write it."""
    fix = None
    if fact is KERAS3_STRING and regularizer.class_name in BUILTIN_DEFAULTS:  # "l1_l2": say what it meant
        fix = f"write {regularizer.argument}={keras_spelling(regularizer) or regularizer_label(regularizer)} in code and save again"
    return _load_message(subject, fact, regularizer.class_name or "it", fix)


def _load_message(subject: str, fact: LoadFact, name: str, fix: str | None = None) -> str:
    """`<subject>: in <line>, <what happens>; there, <what fixes it>`, the fix naming `name`."""
    fix = fix or fact.fix.replace("{NAME: NAME}", f"{{'{name}': {name}}}")
    return f"{subject}: in {fact.line.value}, {fact.what}; there, {fix}"
