"""Which rules run and at what severity, from `select`, `extend-select`, `ignore` and `severity`.

As in ruff and flake8, the most specific selector wins: with `select = ["RA"]`,
`ignore = ["RA2"]` and `extend-select = ["RA201"]`, RA201 runs and the other RA2xx rules do not.
A rule name is as specific as its code; on a tie, ignore wins.
"""

from __future__ import annotations

from regaudit.catalog import Catalog
from regaudit.config import Settings
from regaudit.outcomes import Severity


class RuleSelection:
    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self._settings = settings
        self._catalog = catalog

    def enabled(self, code: str) -> bool:
        selected = self._specificity(code, self._settings.select + self._settings.extend_select)
        ignored = self._specificity(code, self._settings.ignore)
        return selected > ignored

    def severity(self, code: str, proposed: Severity) -> Severity:
        """The user's override for the code, if any, else what the rule proposed."""
        best, chosen = -1, proposed
        for selector, severity in self._settings.severity.items():
            specificity = self._specificity(code, (selector,))
            if specificity > best:
                best, chosen = specificity, severity
        return chosen

    def _specificity(self, code: str, selectors: tuple[str, ...] | list[str]) -> int:
        best = -1
        for selector in selectors:
            if code in self._catalog.codes_for(selector):
                best = max(best, len(selector) if selector.startswith("RA") else len(code))
        return best
