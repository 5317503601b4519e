"""`--statistics`: how many findings each rule produced (most frequent first), how many inputs
were skipped or unreadable and why (per diagnostic code), and why the run fails.

Text, or JSON (`--format json --statistics`):
`{"findings": [{rule, name, severity, count}], "inputs": [{code, name, status, count}],
"failed": ["1 input could not be read"]}`.
"""

from __future__ import annotations

import json
from collections import Counter

from regaudit import reporters
from regaudit.outcomes import ArtifactResult, RunTotals, Status
from regaudit.reporters._summary import STATUS_WORDS, failure_reasons, verdict_line

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

# The formats --statistics can be printed in; any other is a usage error, never silently ignored.
STATISTICS_FORMATS = ("text", "concise", "json")


class Reporter(reporters.Reporter):
    """Counts per rule and per diagnostic code, kept as the artifacts go by; printed at the end."""

    def __init__(self, context: Any, stream: TextIO, as_json: bool = False) -> None:
        super().__init__(context, stream)
        self.as_json = as_json
        self.findings: Counter[tuple[str, str, str]] = Counter()
        self.inputs: Counter[tuple[str, str, str]] = Counter()

    def piece(self, artifact: ArtifactResult) -> None:
        return None  # counted from the findings, which every artifact keeps

    def artifact(self, artifact: ArtifactResult, piece: str | None = None) -> None:
        self.findings.update((finding.rule, finding.name, finding.severity.value) for finding in artifact.findings)
        if artifact.error is not None and artifact.status is not Status.OK:
            code = artifact.error.code
            self.inputs[(code, _name(self.context, code), STATUS_WORDS[artifact.status])] += 1

    def end(self, totals: RunTotals) -> None:
        self.findings.update((finding.rule, finding.name, finding.severity.value) for finding in totals.configuration)
        finding_rows = sorted(self.findings.items(), key=lambda item: (-item[1], item[0][0]))
        input_rows = sorted(self.inputs.items(), key=lambda item: (-item[1], item[0][0]))
        stream, context = self.stream, self.context
        if self.as_json:
            document = {
                "findings": [{"rule": rule, "name": name, "severity": severity, "count": count}
                             for (rule, name, severity), count in finding_rows],
                "inputs": [{"code": code, "name": name, "status": status, "count": count}
                           for (code, name, status), count in input_rows],
                "failed": failure_reasons(totals, context),
            }
            stream.write(json.dumps(document, indent=2) + "\n")
            return
        if not finding_rows:
            stream.write("no findings\n")
        for (rule, name, severity), count in finding_rows:
            stream.write(f"{count:>5}  {rule}  {severity:<10}  {name}\n")
        for (code, name, status), count in input_rows:
            stream.write(f"{count:>5}  {code}  {status:<10}  {name}\n")
        verdict = verdict_line(totals, context)
        if verdict:
            stream.write(verdict + "\n")


def _name(context: Any, code: str) -> str:
    described = context.catalog.get(code)
    return described.name if described is not None else ""
