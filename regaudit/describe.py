"""Short human spellings of tree facts, shared by rule messages and reporters."""

from __future__ import annotations

import json
import math

from regaudit.tree import Origin, Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


def factor(value: float) -> str:
    """`%.3g`, so float32 noise (0.009999999776482582) reads as the value that was meant (0.01)."""
    if math.isnan(value) or math.isinf(value):
        return str(value)
    return f"{value:.3g}"


def regularizer_label(regularizer: Regularizer) -> str:
    """`L2(l2=0.0001)`, `OrthogonalRegularizer(factor=0.01, mode=rows)`, `my_fn()`, `<lambda>`."""
    if regularizer.origin is Origin.UNKNOWN:
        return "(uninterpretable)"
    if regularizer.origin is Origin.LAMBDA:
        return "<lambda>"
    arguments = [f"{name}={factor(value)}" for name, value in regularizer.factors.items()]
    arguments += [f"{name}={option(value)}" for name, value in regularizer.options.items()]
    return f"{regularizer.class_name}({', '.join(arguments)})"


_OPTION_WIDTH = 40


def option(value: Any) -> str:
    """A non-numeric setting: strings bare (`rows`), flags as Python writes them, nested values as
    compact JSON cut to 40 characters, so that one huge object cannot flood a table."""
    if isinstance(value, str):
        return value
    if value is None or isinstance(value, bool):
        return repr(value)
    text = json.dumps(value, separators=(",", ":"), default=str)
    return text if len(text) <= _OPTION_WIDTH else text[: _OPTION_WIDTH - 1] + "…"


def keras_spelling(regularizer: Regularizer) -> str | None:
    """The Keras 2/3 constructor call for an L1/L2 penalty, or None if there is no plain equivalent."""
    if set(regularizer.factors) - {"l1", "l2"} or regularizer.options:
        return None
    l1 = regularizer.factors.get("l1", 0.0)
    l2 = regularizer.factors.get("l2", 0.0)
    if l1 and l2:
        return f"keras.regularizers.L1L2(l1={factor(l1)}, l2={factor(l2)})"
    if l1:
        return f"keras.regularizers.L1({factor(l1)})"
    if l2:
        return f"keras.regularizers.L2({factor(l2)})"
    return None
