"""RA3xx: regularizers that will not survive save and load."""

from __future__ import annotations

from typing import Iterator

from regaudit.checks import Hit, RuleContext, check
from regaudit.tree import ModelTree, Origin

_REGISTER_HINT = "@keras.saving.register_keras_serializable(package=...)"


@check("RA301")
def unregistered_custom_regularizer(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer in tree.regularized():
        if regularizer.origin is Origin.UNREGISTERED:
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
    for layer, regularizer in tree.regularized():
        if regularizer.origin is Origin.LAMBDA:
            yield Hit.on(
                layer,
                regularizer,
                "lambda regularizer: Keras 3 cannot deserialize it even with safe_mode=False, and the "
                "file carries its bytecode; use a built-in (keras.regularizers.L2(...)) or a named, "
                "registered regularizer class",
            )


@check("RA303")
def function_regularizer(tree: ModelTree, context: RuleContext) -> Iterator[Hit]:
    for layer, regularizer in tree.regularized():
        if regularizer.origin is Origin.FUNCTION:
            name = regularizer.class_name
            yield Hit.on(
                layer,
                regularizer,
                f"plain function {name} as regularizer: load_model fails without "
                f"custom_objects={{'{name}': {name}}}; register it with {_REGISTER_HINT} "
                "or use a regularizer class",
            )
