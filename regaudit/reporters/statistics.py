"""`--statistics`: how many findings each rule produced, most frequent first."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any, TextIO

from regaudit.outcomes import AuditResult


def render(result: AuditResult, context: Any, stream: TextIO, as_json: bool = False) -> None:
    counts = Counter((finding.rule, finding.name, finding.severity.value) for finding in result.findings)
    rows = sorted(counts.items(), key=lambda item: (-item[1], item[0][0]))
    if as_json:
        document = [{"rule": rule, "name": name, "severity": severity, "count": count}
                    for (rule, name, severity), count in rows]
        stream.write(json.dumps(document, indent=2) + "\n")
        return
    if not rows:
        stream.write("no findings\n")
    for (rule, name, severity), count in rows:
        stream.write(f"{count:>5}  {rule}  {severity:<7}  {name}\n")
