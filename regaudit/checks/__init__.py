"""Rule logic. Each check reads only the normalized tree and yields hits; the engine turns hits
into findings with the name and severity from the catalog and the user's configuration.

One module per rule family (the hundreds digit of the code):
serialization (RA3xx), legacy (RA4xx).
"""

from __future__ import annotations

from typing import Any, Callable, Iterable, Mapping, NamedTuple

from regaudit.tree import EMPTY, Layer, ModelTree, Regularizer


class Hit(NamedTuple):
    layer: str | None  # layer path; None for a model-level finding
    argument: str | None
    message: str

    @classmethod
    def on(cls, layer: Layer, regularizer: Regularizer, message: str) -> "Hit":
        return cls(layer.path, regularizer.argument, message)


class RuleContext(NamedTuple):
    options: Mapping[str, Any] = EMPTY


Check = Callable[[ModelTree, RuleContext], Iterable[Hit]]
CHECKS: dict[str, Check] = {}


def check(code: str) -> Callable[[Check], Check]:
    """Bind a function to a catalog code."""

    def register(function: Check) -> Check:
        if code in CHECKS:
            raise ValueError(f"two checks claim {code}")
        CHECKS[code] = function
        return function

    return register


def all_checks() -> dict[str, Check]:
    from regaudit.checks import legacy, serialization  # noqa: F401  (importing registers them)

    return CHECKS
