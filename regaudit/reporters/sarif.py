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

from regaudit import __version__
from regaudit.catalog import RuleDoc
from regaudit.outcomes import ArtifactResult, AuditResult, Finding, Severity, Status
from regaudit.reporters import _json_text as json_text
from regaudit.reporters._escape import json_for_logs
from regaudit.reporters._evidence import cited_evidence
from regaudit.reporters._paths import Located, artifact_file, placed_message

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

SCHEMA_URI = "https://json.schemastore.org/sarif-2.1.0.json"
INFORMATION_URI = "https://github.com/regaudit/regaudit"
SOURCE_ROOT = "%SRCROOT%"  # relative URIs are relative to the report root: --root or the git top level
LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "note"}
FULL_DESCRIPTION_LIMIT = 1024  # GitHub code scanning's limit for fullDescription.text
_HELP_SECTIONS = (("What it flags", "what"), ("Why it matters", "why"), ("How to fix", "fix"))


def render(result: AuditResult, context: Any, stream: TextIO) -> None:
    # ASCII-only JSON: valid whatever the stream's encoding, and whatever a model's names hold.
    # One write of the whole text, not one per token (as in the JSON report).
    stream.write(json_for_logs(json_text.dumps(document(result, context))) + "\n")


def document(result: AuditResult, context: Any) -> dict[str, Any]:
    described = context.catalog.rules.values()
    rules = [rule for rule in described if rule.is_check]
    # Defensive: a finding whose code is not a check still gets a descriptor, so ruleIndex holds.
    known = {rule.code for rule in rules}
    rules += [context.catalog.rule(code) for code in _finding_codes(result) if code not in known]
    notifications = [rule for rule in described if not rule.is_check]
    rule_index = {rule.code: index for index, rule in enumerate(rules)}
    notification_index = {rule.code: index for index, rule in enumerate(notifications)}
    return {
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
                        "notifications": [_descriptor(rule) for rule in notifications],
                    }
                },
                "invocations": [_invocation(result, context, notification_index)],
                "results": _results(result, context, rule_index),
            }
        ],
    }


def _finding_codes(result: AuditResult) -> list[str]:
    return sorted({finding.rule for artifact in result.artifacts for finding in artifact.findings})


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


def _results(result: AuditResult, context: Any, rule_index: dict[str, int]) -> list[dict[str, Any]]:
    results = []
    seen: Counter[str] = Counter()
    for artifact in result.artifacts:
        located = artifact_file(artifact, context.root)
        for finding in artifact.findings:
            identity = _identity(located, finding)
            seen[identity] += 1  # the same finding twice in one file stays two alerts
            entry = _result(finding, located, rule_index[finding.rule], identity, seen[identity])
            cited = cited_evidence(artifact.tree, artifact.evidence, finding)
            if cited is not None:  # --weights: the numbers an RA6xx finding rests on
                entry["properties"] = {"evidence": cited}
            results.append(entry)
    return results


def _result(finding: Finding, located: Located, rule_index: int, identity: str, occurrence: int) -> dict[str, Any]:
    location: dict[str, Any] = {
        "physicalLocation": {"artifactLocation": _artifact_location(located), "region": {"startLine": 1}},
    }
    if finding.layer:
        location["logicalLocations"] = [{"fullyQualifiedName": finding.layer, "kind": "member"}]
    return {
        "ruleId": finding.rule,
        "ruleIndex": rule_index,
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


def _invocation(result: AuditResult, context: Any, index: dict[str, int]) -> dict[str, Any]:
    return {
        "executionSuccessful": not result.with_status(Status.ERROR),
        "toolExecutionNotifications": [
            _artifact_notification(artifact, context, index) for artifact in result.artifacts if artifact.error
        ],
        "toolConfigurationNotifications": [
            _notification(finding.rule, LEVELS[finding.severity], f"{finding.rule} {placed_message(finding)}", index)
            for finding in result.configuration
        ],
    }


def _artifact_notification(artifact: ArtifactResult, context: Any, index: dict[str, int]) -> dict[str, Any]:
    assert artifact.error is not None
    code = artifact.error.code
    level = "warning" if artifact.status is Status.SKIPPED else "error"
    notification = _notification(code, level, f"{code} {artifact.error.message}", index)
    located = artifact_file(artifact, context.root)
    notification["locations"] = [{"physicalLocation": {"artifactLocation": _artifact_location(located)}}]
    return notification


def _notification(code: str, level: str, text: str, index: dict[str, int]) -> dict[str, Any]:
    descriptor: dict[str, Any] = {"id": code}
    if code in index:
        descriptor["index"] = index[code]
    return {"level": level, "message": {"text": text}, "descriptor": descriptor}
