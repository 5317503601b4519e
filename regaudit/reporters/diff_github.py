"""The diff as GitHub Actions workflow commands: one annotation per regularization change that
weakens a model and per finding NEW introduces, on the new artifact's file (the old one's when it
was removed).

- A removal or weakening the gate fails on (--fail-on-removed, --max-weakening) is an `::error`;
  other removals, weakenings and changes of class or origin are `::warning`s; strengthened,
  added and respelled regularizers and renamed layers are `::notice`s.
- Introduced findings take their severity's level, as in the check's GitHub report; resolved
  findings are not annotated (the Markdown report lists them).
- An artifact that could not be read is an `::error`.

Escaping is the check's GitHub report's (`_escape.workflow_lines`, `workflow_property`).
"""

from __future__ import annotations

from regaudit.diff import ArtifactDiff, DiffResult
from regaudit.reporters._diff import Row, describe, layer_place, rows
from regaudit.reporters._paths import artifact_file, placed_message
from regaudit.reporters.github import LEVELS, _command, _title

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

_WARNING_VERDICTS = frozenset({"removed", "weakened", "changed", "layer removed"})


def render(result: DiffResult, context: Any, stream: TextIO) -> None:
    for artifact in result.unreadable():
        for side, error in artifact.errors():
            stream.write(_command("error", f"{error.code} {side} side unreadable", error.message, _file(artifact, context)) + "\n")
    for row in rows(result):
        stream.write(_change(row, context) + "\n")
    for artifact in result.artifacts:
        for finding in artifact.introduced:
            title = f"{_title(finding)} (introduced)"
            stream.write(_command(LEVELS[finding.severity], title, placed_message(finding), _file(artifact, context)) + "\n")


def _change(row: Row, context: Any) -> str:
    level = "error" if row.fails_gate else "warning" if row.verdict in _WARNING_VERDICTS else "notice"
    title = f"regaudit diff: regularizer {row.verdict}" if row.slot is not None else f"regaudit diff: {row.verdict}"
    return _command(level, title, f"{layer_place(row.layer)} {describe(row)}", _file(row.artifact, context))


def _file(artifact: ArtifactDiff, context: Any) -> str:
    side = artifact.new if artifact.new is not None else artifact.old
    assert side is not None
    return artifact_file(side, context.root).path
