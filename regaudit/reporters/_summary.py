"""Wording shared by the reports people read (text, HTML, Markdown): the one-sentence summary,
finding counts, artifact status words, and the order in which a layer's regularized slots are
listed."""

from __future__ import annotations

from regaudit.outcomes import RunTotals, Severity, Status
from regaudit.tree import Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

STATUS_WORDS = {Status.OK: "audited", Status.SKIPPED: "skipped", Status.ERROR: "unreadable"}
NOTHING_AUDITED = "nothing was audited: no input held a model regaudit could read"
# Slots in reading order: weights first, bias after them, activity last.
_SLOT_ORDER = ("kernel", "depthwise", "pointwise", "embeddings", "recurrent", "alpha", "gamma", "beta", "bias")


def summary_parts(totals: RunTotals) -> tuple[str, str]:
    """("6 artifacts (4 audited, 1 skipped, 1 unreadable)", "10 findings (1 error, 4 warnings, 5 info)")."""
    statuses = ", ".join(
        f"{count} {word}" for status, word in STATUS_WORDS.items() if (count := totals.status_count(status))
    )
    return f"{plural(totals.artifacts, 'artifact')} ({statuses or 'none'})", counts(totals.severity_counts())


def counts(by_severity: dict[Severity, int]) -> str:
    total = sum(by_severity.values())
    if not total:
        return "no findings"
    detail = ", ".join(severity_count(count, severity) for severity, count in by_severity.items() if count)
    return f"{plural(total, 'finding')} ({detail})"


def severity_count(count: int, severity: Severity) -> str:
    """`1 error`, `3 warnings`, `2 info`."""
    return plural(count, severity.value) if severity is not Severity.INFO else f"{count} info"


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def slot_rank(regularizer: Regularizer) -> tuple[int, str]:
    if regularizer.slot == "activity":
        return (len(_SLOT_ORDER) + 1, "")
    if regularizer.slot in _SLOT_ORDER:
        return (_SLOT_ORDER.index(regularizer.slot), "")
    return (len(_SLOT_ORDER), regularizer.slot)


def failure_reasons(totals: RunTotals, context: Any) -> list[str]:
    """Why the run fails (empty when it passes), in the words of its last line:
    `1 input could not be read`, `2 findings at or above error`."""
    reasons = []
    unreadable = totals.status_count(Status.ERROR)
    if unreadable:
        reasons.append(f"{plural(unreadable, 'input')} could not be read")
    elif context.require_audit and not totals.status_count(Status.OK):
        reasons.append("nothing was audited")
    gate = None if context.exit_zero else context.fail_on
    failing = totals.failing(gate)
    if failing and gate is not None:
        reasons.append(f"{plural(failing, 'finding')} at or above {gate.value}")
    return reasons


def verdict_line(totals: RunTotals, context: Any) -> str | None:
    """`failed: 2 findings at or above error`, or None when the run passes."""
    reasons = failure_reasons(totals, context)
    return "failed: " + "; ".join(reasons) if reasons else None
