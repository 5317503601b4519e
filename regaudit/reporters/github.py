"""GitHub Actions workflow commands: one `::error`, `::warning` or `::notice` line per finding, which
the runner turns into annotations on the run and on the pull request's files.

    ::error file=models/a.keras,title=RA301 unregistered-custom-regularizer::d kernel_regularizer: ...

- The level follows each finding's severity (error, warning, notice), not the gate: findings below
  --fail-on are printed too, and the gate decides only the exit code.
- Skipped artifacts are warnings, unreadable ones errors, on the artifact's file (a keras-dir's
  config.json). Configuration findings carry no file.
- GitHub shows at most 10 annotations of each level per step and 50 per job; the rest are only in
  the log. Use SARIF for large reports.

Untrusted text is escaped as @actions/core escapes it (packages/core/src/command.ts in
actions/toolkit): `%`, CR and LF in the message become %25, %0D and %0A, so a name cannot end the
line and start a command of its own; property values also escape `:` and `,`.
"""

from __future__ import annotations

from typing import Any, TextIO

from regaudit.outcomes import ArtifactResult, AuditResult, Finding, Severity, Status
from regaudit.reporters._paths import artifact_file, placed_message

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


def render(result: AuditResult, context: Any, stream: TextIO) -> None:
    for artifact in result.artifacts:
        file = artifact_file(artifact, context.root).path
        if artifact.error is not None:
            stream.write(_diagnostic(artifact, file, context) + "\n")
        for finding in artifact.findings:
            stream.write(_command(LEVELS[finding.severity], _title(finding), placed_message(finding), file) + "\n")
    for finding in result.configuration:
        stream.write(_command(LEVELS[finding.severity], _title(finding), placed_message(finding)) + "\n")


def _title(finding: Finding) -> str:
    return f"{finding.rule} {finding.name}"


def _diagnostic(artifact: ArtifactResult, file: str, context: Any) -> str:
    assert artifact.error is not None
    code = artifact.error.code
    described = context.catalog.get(code)
    title = f"{code} {described.name}" if described is not None else code
    level = "warning" if artifact.status is Status.SKIPPED else "error"
    return _command(level, title, artifact.error.message, file)


def _command(level: str, title: str, message: str, file: str | None = None) -> str:
    properties = ([f"file={escape_property(file)}"] if file is not None else []) + [f"title={escape_property(title)}"]
    return f"::{level} {','.join(properties)}::{escape_data(message)}"


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")
