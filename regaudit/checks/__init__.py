"""Rule logic. Each check reads only the normalized tree (and its options from the settings) and
yields hits; the engine turns hits into findings with the name and severity from the catalog and
the user's configuration.

One module per rule family, the hundreds digit of the code: coverage (RA0xx), factors (RA1xx),
interactions (RA2xx), serialization (RA3xx), compatibility (RA4xx), policy (RA5xx), weight
evidence (RA6xx).
"""

from __future__ import annotations

from regaudit._namedtuple import NamedTuple
from regaudit.config import Settings
from regaudit.outcomes import Severity
from regaudit.tree import Layer, ModelTree, Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Iterable
    from regaudit.evidence import Evidence


class Hit(NamedTuple):
    layer: str | None  # layer path; None for a model-level finding
    argument: str | None
    message: str
    # A rule may raise one hit above its default severity (RA304 outside the allow-list).
    severity: Severity | None = None

    @classmethod
    def on(cls, layer: Layer, regularizer: Regularizer, message: str, severity: Severity | None = None) -> "Hit":
        return cls(layer.path, regularizer.argument, message, severity)


class RuleContext(NamedTuple):
    settings: Settings = Settings()
    # The artifact's weight evidence with --weights (None without): the RA6xx checks read it here
    # and never open files themselves.
    evidence: "Evidence | None" = None


if TYPE_CHECKING:
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
    # Importing a family module registers its checks.
    from regaudit.checks import (  # noqa: F401
        compatibility,
        coverage,
        factors,
        interactions,
        policy,
        serialization,
        weights,
    )

    return CHECKS
