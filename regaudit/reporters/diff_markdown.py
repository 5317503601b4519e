"""The diff as GitHub-flavoured Markdown, for a pull-request comment.

A heading with what decides the run's outcome, the summary, the artifacts that could not be read,
then compact tables: artifacts that changed (status, format and Keras version, how layers were matched),
regularizer changes (what takes regularization away first), findings
introduced, findings resolved. A pull-request comment holds at most 65,536 characters; the report
stops adding rows before `LIMIT` and ends with a note saying how many rows it left out.
Untrusted names are escaped by `_escape`, as in the check's Markdown report.
"""

from __future__ import annotations

from regaudit.diff import ArtifactDiff, DiffResult
from regaudit.outcomes import Finding
from regaudit.reporters._diff import (
    Row, label, layer_place, matching, outcome, penalty_text, ratio_text, rows, sides, summary,
)
from regaudit.reporters._paths import locate
from regaudit.reporters._escape import markdown_code as _code
from regaudit.reporters._escape import markdown_text as _prose
from regaudit.reporters.markdown import _table_row

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

# GitHub refuses comments over 65,536 characters; room is left for a marker line a workflow adds.
LIMIT = 65_536 - 1_024


def render(result: DiffResult, context: Any, stream: TextIO, limit: int = LIMIT) -> None:
    head = [f"## regaudit diff: {_prose(outcome(result))}", _prose(summary(result))]
    unreadable = result.unreadable()
    if unreadable:
        head.append(_not_compared(unreadable, context))
    tables = [
        # Unchanged artifacts are only counted (in the summary): a zoo of a thousand models stays short.
        ("Artifacts", ("Artifact", "Status", "Format, Keras", "Layers"),
         [_artifact_row(artifact, context) for artifact in result.artifacts if artifact.status != "unchanged"]),
        ("Regularization changes", ("Artifact", "Layer", "Slot", "Change", "Old", "New"),
         [_change_row(row, context) for row in rows(result)]),
        ("Findings introduced", ("Artifact", "Rule", "Severity", "Layer", "Message"),
         [_finding_row(artifact, finding, context) for artifact in result.artifacts for finding in artifact.introduced]),
        ("Findings resolved", ("Artifact", "Rule", "Severity", "Layer", "Message"),
         [_finding_row(artifact, finding, context) for artifact in result.artifacts for finding in artifact.resolved]),
    ]
    text = "\n\n".join(head)
    omitted = 0
    reserve = 300  # for the note on omitted rows
    for title, header, table in tables:
        if not table:
            continue
        section = f"\n\n### {title} ({len(table)})\n\n" + _table_row(header) + "\n" + _table_row([":--"] * len(header))
        if len(text) + len(section) + reserve > limit:
            omitted += len(table)
            continue
        text += section
        for index, line in enumerate(table):
            if len(text) + len(line) + 1 + reserve > limit:
                omitted += len(table) - index
                break
            text += "\n" + line
    if omitted:
        text += (
            f"\n\n*{omitted} more rows not shown: a pull-request comment holds 65,536 characters. "
            "The full diff is in the job log (`regaudit diff`) or in `--format json`.*"
        )
    stream.write(text + "\n")


def _place(artifact: ArtifactDiff, context: Any) -> str:
    return _code(locate(artifact.path, context.root).path)


def _artifact_row(artifact: ArtifactDiff, context: Any) -> str:
    compared = artifact.old is not None and artifact.new is not None and not artifact.errors()
    return _table_row([_place(artifact, context), artifact.status, _prose(sides(artifact)),
                       matching(artifact) if compared else ""])


def _change_row(row: Row, context: Any) -> str:
    slot = row.slot
    verdict = f"**{row.verdict}**" if row.fails_gate or row.verdict == "removed" else row.verdict
    if slot is None:
        how = f" by {row.layer.matched_by.value}" if row.layer.matched_by is not None else ""
        cells = ["", f"{verdict} ({_prose(row.layer.class_name)}{how})", "", ""]
    else:
        ratio = f" ({_prose(ratio_text(slot))})" if slot.ratios else ""
        lost = "; no weight regularizer left" if row.layer.lost_all_regularization and row.verdict == "removed" else ""
        old = _code(label(slot.old)) if slot.old is not None else "none"
        new = _code(label(slot.new)) if slot.new is not None else "none"
        penalty = f"; {_prose(penalty_text(slot))}" if slot.penalty is not None else ""
        cells = [_prose(slot.slot), f"{verdict}{ratio}{lost}{penalty}", old, new]
    return _table_row([_place(row.artifact, context), _code(layer_place(row.layer)), *cells])


def _finding_row(artifact: ArtifactDiff, finding: Finding, context: Any) -> str:
    layer = _code(finding.layer) if finding.layer else "(model)"
    rule = f"{finding.rule} {_code(finding.name)}"
    return _table_row([_place(artifact, context), rule, finding.severity.value, layer, _prose(finding.message)])


def _not_compared(artifacts: list[ArtifactDiff], context: Any) -> str:
    lines = ["### Not compared", "", _table_row(("Artifact", "Side", "Reason")), "| :-- | :-- | :-- |"]
    for artifact in artifacts:
        for side, error in artifact.errors():
            lines.append(_table_row([_place(artifact, context), side, f"{error.code} {_prose(error.message)}"]))
    return "\n".join(lines)
