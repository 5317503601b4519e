"""regaudit: a static regularization auditor for saved Keras models."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

__version__ = "0.1.0"

if TYPE_CHECKING:
    from regaudit.config import Settings
    from regaudit.outcomes import AuditResult


def audit(paths: Iterable[str], config: "Settings | None" = None) -> "AuditResult":
    """Audit model files and directories; the same result every reporter renders."""
    from regaudit.engine import audit as run

    return run(paths, config)
