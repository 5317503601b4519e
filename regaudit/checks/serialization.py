"""RA3xx: regularizers that will not survive save and load."""

from __future__ import annotations

from typing import Iterator

from regaudit.checks import Hit, RuleContext, check
from regaudit.outcomes import Severity
from regaudit.tree import Layer, ModelTree, Origin, Regularizer

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


@check("RA303")
def function_regularizer(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer in _with_origin(tree, Origin.FUNCTION):
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
    for layer, regularizer in _with_origin(tree, Origin.REGISTERED):
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
