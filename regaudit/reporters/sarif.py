"""SARIF 2.1.0, for GitHub code scanning and other SARIF viewers.

What GitHub's ingestion asks for ("SARIF support for code scanning" in GitHub's docs), and how a
model file meets it:

- Every result has a physical location (the model file relative to the report root; a keras-dir
  points at its config.json) with `region.startLine` 1, since a model has no meaningful lines,
  plus the layer path as a logical location. GitHub rejects a whole upload in which one result
  has no physical location or a region without a start line.
- A finding's stable identity (file, layer, rule and argument, plus an occurrence number) is
  `partialFingerprints["regaudit/v1"]`. `primaryLocationLineHash` is not set: upload-sarif
  computes it itself from line 1 of the file and, for a binary model file, warns once per
  result when a value it did not compute is present.
- Relative URIs are relative to the report root: the `--root` given, else the git top level
  found from the working directory, so that code scanning maps them onto the repository.
- `fullDescription` is cut to GitHub's 1024 characters; `help` carries the whole documentation.

Skipped and unreadable artifacts are `toolExecutionNotifications`. The run's configuration
findings (unused ignores, stale baseline entries) are `toolConfigurationNotifications`. Their
codes are described in `tool.driver.notifications`.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from regaudit import __version__, reporters
from regaudit.catalog import RuleDoc
from regaudit.outcomes import ArtifactResult, Finding, RunTotals, Severity, Status
from regaudit.reporters import _json_text as json_text
from regaudit.reporters._escape import json_for_logs
from regaudit.reporters._evidence import cited_evidence
from regaudit.reporters._paths import Located, artifact_file, placed_message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/regaudit/regaudit"
SOURCE_ROOT = "%SRCROOT%"  # relative URIs are relative to the report root: --root or the git top level
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
FULL_DESCRIPTION_LIMIT = 1024  # GitHub code scanning's limit for fullDescription.text
_HELP_SECTIONS = (("What it flags", "what"), ("Why it matters", "why"), ("How to fix", "fix"))


class Reporter(reporters.Reporter):
    """The document's per-artifact parts (its results and its execution notifications) are
    rendered as each artifact arrives and kept as compact strings, because the document lists the
    rules, then whether the run succeeded, before them; `end` puts them into the document, in
    the places and at the depth where `json.dumps(document, indent=2)` writes them. A result
    whose rule is not a check (which no audit makes; a hand-built result may) gets its
    `ruleIndex` only at the end, when the rules list is known."""

    in_workers = False  # the occurrence numbers of fingerprints count across the whole run

    def begin(self) -> None:
        described = self.context.catalog.rules.values()
        self.rules = [rule for rule in described if rule.is_check]
        self.notifications = [rule for rule in described if not rule.is_check]
        self.rule_index = {rule.code: index for index, rule in enumerate(self.rules)}
        self.notification_index = {rule.code: index for index, rule in enumerate(self.notifications)}
        self.results: list[str | tuple[dict[str, Any], str]] = []  # rendered, or (entry, rule) for later
        self.executed: list[str] = []  # the artifacts' toolExecutionNotifications, rendered
        self.seen: Counter[str] = Counter()  # occurrences of each finding identity, run-wide

    def artifact(self, artifact: ArtifactResult, piece: str | None = None) -> None:
        located = artifact_file(artifact, self.context.root)
        if artifact.error is not None:
            notification = _artifact_notification(artifact, located, self.notification_index)
            self.executed.append(_dumped(notification, _NOTIFICATION_DEPTH))
        for finding in artifact.findings:
            identity = _identity(located, finding)
            self.seen[identity] += 1  # the same finding twice in one file stays two alerts
            entry = _result(finding, located, identity, self.seen[identity])
            cited = cited_evidence(artifact.tree, artifact.evidence, finding)
            if cited is not None:  # --weights: the numbers an RA6xx finding rests on
                entry["properties"] = {"evidence": cited}
            index = self.rule_index.get(finding.rule)
            self.results.append(_dumped(_indexed(entry, index), _RESULT_DEPTH) if index is not None
                                else (entry, finding.rule))

    def end(self, totals: RunTotals) -> None:
        # Defensive: a finding whose code is not a check still gets a descriptor, so ruleIndex holds.
        extra = sorted({item[1] for item in self.results if isinstance(item, tuple)})
        rules = self.rules + [self.context.catalog.rule(code) for code in extra]
        rule_index = {rule.code: index for index, rule in enumerate(rules)}
        results = [item if isinstance(item, str) else _dumped(_indexed(item[0], rule_index[item[1]]), _RESULT_DEPTH)
                   for item in self.results]
        self.results = []
        skeleton = {
            "$schema": SCHEMA_URI,
            "version": "2.1.0",
            "runs": [
                {
                    "tool": {
                        "driver": {
                            "name": "regaudit",
                            "version": __version__,
                            "semanticVersion": __version__,
                            "informationUri": INFORMATION_URI,
                            "rules": [_descriptor(rule) for rule in rules],
                            "notifications": [_descriptor(rule) for rule in self.notifications],
                        }
                    },
                    "invocations": [_invocation(totals, self.notification_index)],
                    "results": [],
                }
            ],
        }
        # The empty lists are found by their keys, whose quotes no string in the document can hold.
        head, rest = _dumped(skeleton, 0).split('"toolExecutionNotifications": []', 1)
        middle, tail = rest.split('"results": []', 1)
        self.stream.write(head + '"toolExecutionNotifications": ')
        self._list(self.executed, _NOTIFICATION_DEPTH)
        self.stream.write(middle + '"results": ')
        self._list(results, _RESULT_DEPTH)
        self.stream.write(tail + "\n")

    def _list(self, items: list[str], depth: int) -> None:
        """Rendered `items` at `depth`, laid out as json.dumps lays out a list; written one by one,
        never joined into one more copy of the report."""
        if not items:
            self.stream.write("[]")
            return
        inner = "\n" + _INDENT * depth
        self.stream.write("[")
        for number, item in enumerate(items):
            self.stream.write(("," if number else "") + inner + item)
        self.stream.write("\n" + _INDENT * (depth - 1) + "]")


# Where the per-artifact parts sit in the document: runs[0].results[i], and
# runs[0].invocations[0].toolExecutionNotifications[i].
_RESULT_DEPTH = 4
_NOTIFICATION_DEPTH = 6


def _dumped(value: Any, depth: int) -> str:
    # ASCII-only JSON: valid whatever the stream's encoding, and whatever a model's names hold.
    return json_for_logs(json_text.dumps(value, depth))


_INDENT = "  "


def _indexed(entry: dict[str, Any], rule_index: int) -> dict[str, Any]:
    """The result with its ruleIndex, second among its keys as the SARIF report has always had it."""
    return {"ruleId": entry["ruleId"], "ruleIndex": rule_index, **entry}


def _descriptor(rule: RuleDoc) -> dict[str, Any]:
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": _clip(rule.what, FULL_DESCRIPTION_LIMIT)},
        "help": {"text": _help_text(rule), "markdown": _help_markdown(rule)},
        "defaultConfiguration": {"level": LEVELS[rule.severity]},
    }


def _help_text(rule: RuleDoc) -> str:
    sections = [f"{title}\n{getattr(rule, field)}" for title, field in _HELP_SECTIONS]
    if rule.references:
        sections.append("References\n" + "\n".join(f"- {reference}" for reference in rule.references))
    return "\n\n".join(sections)


def _help_markdown(rule: RuleDoc) -> str:
    # The catalog's texts are written as Markdown already (`code`, indented examples).
    sections = [f"**{title}**\n\n{getattr(rule, field)}" for title, field in _HELP_SECTIONS]
    if rule.references:
        sections.append("**References**\n\n" + "\n".join(f"- <{reference}>" for reference in rule.references))
    return "\n\n".join(sections)


def _clip(text: str, limit: int) -> str:
    """At most `limit` characters, cut at a word boundary and marked with an ellipsis."""
    if len(text) <= limit:
        return text
    head = text[: limit - 1]
    words = head.rsplit(None, 1)
    return (words[0] if len(words) == 2 else head).rstrip() + "…"


def _result(finding: Finding, located: Located, identity: str, occurrence: int) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": _artifact_location(located), "region": {"startLine": 1}},
    }
    if finding.layer:
        location["logicalLocations"] = [{"fullyQualifiedName": finding.layer, "kind": "member"}]
    return {
        "ruleId": finding.rule,
        "level": LEVELS[finding.severity],
        "message": {"text": placed_message(finding)},
        "locations": [location],
        "partialFingerprints": {
            "regaudit/v1": f"{identity}:{occurrence}",
        },
    }


def _identity(located: Located, finding: Finding) -> str:
    """What makes a finding the same one across runs: not its message, severity or position."""
    parts = (located.uri, finding.layer or "", finding.rule, finding.argument or "")
    return hashlib.sha256("\x1f".join(parts).encode("utf-8", "surrogatepass")).hexdigest()


def _artifact_location(located: Located) -> dict[str, str]:
    if located.relative:
        return {"uri": located.uri, "uriBaseId": SOURCE_ROOT}
    return {"uri": located.uri}


def _invocation(totals: RunTotals, index: dict[str, int]) -> dict[str, Any]:
    """The run's invocation, its artifacts' notifications left out (Reporter.end puts them in)."""
    return {
        "executionSuccessful": not totals.status_count(Status.ERROR),
        "toolExecutionNotifications": [],
        "toolConfigurationNotifications": [
            _notification(finding.rule, LEVELS[finding.severity], f"{finding.rule} {placed_message(finding)}", index)
            for finding in totals.configuration
        ],
    }


def _artifact_notification(artifact: ArtifactResult, located: Located, index: dict[str, int]) -> dict[str, Any]:
    assert artifact.error is not None
    code = artifact.error.code
    level = "warning" if artifact.status is Status.SKIPPED else "error"
    notification = _notification(code, level, f"{code} {artifact.error.message}", index)
    notification["locations"] = [{"physicalLocation": {"artifactLocation": _artifact_location(located)}}]
    return notification


def _notification(code: str, level: str, text: str, index: dict[str, int]) -> dict[str, Any]:
    descriptor: dict[str, Any] = {"id": code}
    if code in index:
        descriptor["index"] = index[code]
    return {"level": level, "message": {"text": text}, "descriptor": descriptor}
