"""Resolved settings for one run. Every default is written once, here."""

from __future__ import annotations

from dataclasses import dataclass

from regaudit.outcomes import Severity

FAIL_ON_CHOICES = ("error", "warning", "info", "never")


@dataclass(frozen=True)
class Settings:
    # Findings at or above this severity make `check` exit 1; None ("never") only reports them.
    fail_on: Severity | None = Severity.ERROR


def parse_fail_on(value: str) -> Severity | None:
    if value not in FAIL_ON_CHOICES:
        raise ValueError(f"fail-on must be one of {', '.join(FAIL_ON_CHOICES)}, not {value!r}")
    return None if value == "never" else Severity(value)
