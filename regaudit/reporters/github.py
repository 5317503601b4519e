"""GitHub Actions workflow commands: one `::error`, `::warning` or `::notice` line per finding, which
the runner turns into annotations on the run and on the pull request's files.

    ::error file=models/a.keras,title=RA301 unregistered-custom-regularizer::d kernel_regularizer: ...

- The level follows each finding's severity (error, warning, notice), not the gate: findings below
  --fail-on are printed too, and the gate decides only the exit code.
- Skipped artifacts are warnings, unreadable ones errors, on the artifact's file (a keras-dir's
  config.json). Configuration findings carry no file.
- GitHub shows at most 10 error, 10 warning and 10 notice annotations per step and drops the
  rest silently. When a level has more than 10, its annotations are grouped per file and rule
  (one annotation listing every place and message), and the output ends with a notice giving
  the totals, so that nothing disappears without a word. Use SARIF for large reports.

Untrusted text is escaped by `_escape.workflow_data` and `workflow_property`: control characters
are shown as escapes, and `%`, CR, LF (and in properties `:` and `,`) are encoded as @actions/core
encodes them, so a name cannot end the line and start a command of its own.
"""

from __future__ import annotations

from regaudit import reporters
from regaudit._namedtuple import NamedTuple
from regaudit.outcomes import ArtifactResult, Finding, RunTotals, Severity, Status
from regaudit.reporters._escape import workflow_lines, workflow_property
from regaudit.reporters._paths import artifact_file, placed_message
from regaudit.reporters._summary import summary_parts

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Sequence

LEVELS = {Severity.ERROR: "error", Severity.WARNING: "warning", Severity.INFO: "notice"}


ANNOTATION_LIMIT = 10  # GitHub shows this many annotations of each level per step


class _Annotation(NamedTuple):
    level: str
    title: str
    message: str | list[str]  # a list: one line each (grouped annotations)
    file: str | None


class Reporter(reporters.Reporter):
    """Each artifact's annotations are made as it arrives and kept (a few short strings each):
    whether a level is crowded, and so grouped, is known only at the end."""

    def begin(self) -> None:
        self.annotations: list[_Annotation] = []

    def piece(self, artifact: ArtifactResult) -> tuple[_Annotation, ...]:
        file = artifact_file(artifact, self.context.root).path
        diagnostic = (_diagnostic(artifact, file, self.context),) if artifact.error is not None else ()
        return diagnostic + tuple(
            _Annotation(LEVELS[finding.severity], _title(finding), placed_message(finding), file)
            for finding in artifact.findings
        )

    def artifact(self, artifact: ArtifactResult, piece: tuple[_Annotation, ...] | None = None) -> None:
        self.annotations += self.piece(artifact) if piece is None else piece

    def end(self, totals: RunTotals) -> None:
        annotations = self.annotations + [
            _Annotation(LEVELS[finding.severity], _title(finding), placed_message(finding), None)
            for finding in totals.configuration
        ]
        crowded = {level for level in LEVELS.values()
                   if sum(1 for annotation in annotations if annotation.level == level) > ANNOTATION_LIMIT}
        for annotation in _grouped(annotations, crowded):
            self.stream.write(_command(annotation.level, annotation.title, annotation.message, annotation.file) + "\n")
        if crowded or not annotations:  # a run with nothing to annotate still says what it did
            self.stream.write(_command("notice", "regaudit totals", _totals(totals, crowded)) + "\n")


def _grouped(annotations: list[_Annotation], crowded: set[str]) -> list[_Annotation]:
    """Annotations of the crowded levels merged per (level, file, title), in first-seen order."""
    groups: dict[tuple, list[_Annotation]] = {}
    for index, annotation in enumerate(annotations):
        key = (annotation.level, annotation.file, annotation.title) if annotation.level in crowded else (index,)
        groups.setdefault(key, []).append(annotation)
    merged = []
    for members in groups.values():
        first = members[0]
        if len(members) == 1:
            merged.append(first)
        else:
            title = f"{first.title} ({len(members)} findings)"
            merged.append(first._replace(title=title, message=[member.message for member in members]))
    return merged


def _totals(totals: RunTotals, crowded: set[str]) -> str:
    artifacts, findings = summary_parts(totals)
    if not crowded:
        return f"{artifacts}; {findings}"
    return (f"{artifacts}; {findings}. GitHub shows only {ANNOTATION_LIMIT} annotations of each level per "
            "step, so findings beyond that are grouped per file and rule above; the SARIF, text or "
            "Markdown report lists each one.")


def _title(finding: Finding) -> str:
    return f"{finding.rule} {finding.name}"


def _diagnostic(artifact: ArtifactResult, file: str, context: Any) -> _Annotation:
    assert artifact.error is not None
    code = artifact.error.code
    described = context.catalog.get(code)
    title = f"{code} {described.name}" if described is not None else code
    level = "warning" if artifact.status is Status.SKIPPED else "error"
    return _Annotation(level, title, artifact.error.message, file)


def _command(level: str, title: str, message: str | Sequence[str], file: str | None = None) -> str:
    properties = ([f"file={workflow_property(file)}"] if file is not None else []) + [f"title={workflow_property(title)}"]
    lines = [message] if isinstance(message, str) else message
    return f"::{level} {','.join(properties)}::{workflow_lines(lines)}"
