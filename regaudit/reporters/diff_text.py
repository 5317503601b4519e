"""The default diff report, for people: per artifact, its changes with what takes regularization away
first, then the findings introduced and resolved, then one summary line.

    models/old.keras -> models/new.keras  (keras-zip, Keras 3.15.1)
      removed      encoder     kernel: L2(l2=0.0001) -> none; Dense encoder has no weight regularizer left
      strengthened hidden      kernel: L2(l2=0.0001) -> L2(l2=0.01) (l2 x100)
"""

from __future__ import annotations

import textwrap

from regaudit.diff import ArtifactDiff, DiffResult
from regaudit.outcomes import Finding
from regaudit.reporters._diff import Row, describe, layer_place, matching, outcome, rows, sides, summary
from regaudit.reporters._escape import log_text
from regaudit.reporters.text import INDENT, WIDTH, _finding_lines, _linear_wrapper, _Painter, _wrapped

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

_VERDICT_WIDTH = max(len(verdict) for verdict in ("strengthened", "layer removed"))
_VERDICT_STYLE = {"removed": "red", "weakened": "yellow", "changed": "yellow", "layer removed": "yellow"}


def render(result: DiffResult, context: Any, stream: TextIO) -> None:
    paint = _Painter(context.color)
    by_artifact: dict[int, list[Row]] = {}
    for row in rows(result):
        by_artifact.setdefault(id(row.artifact), []).append(row)
    for artifact in result.artifacts:
        lines = [_heading(artifact, paint)]
        lines += _body(artifact, by_artifact.get(id(artifact), []), paint)
        stream.write("\n".join(lines) + "\n\n")
    if not result.artifacts:
        stream.write("nothing to compare: neither side holds a model file\n\n")
    closing = textwrap.fill(summary(result), WIDTH, break_on_hyphens=False)
    stream.write(paint(closing, "bold") + "\n" + textwrap.fill(outcome(result), WIDTH, break_on_hyphens=False) + "\n")


def _heading(artifact: ArtifactDiff, paint: _Painter) -> str:
    old, new = artifact.old, artifact.new
    if old is not None and new is not None and old.path != new.path:
        title = f"{old.path} -> {new.path}"
    else:
        title = artifact.path
    described = sides(artifact)
    status = artifact.status
    return paint(log_text(title), "bold") + (f"  ({log_text(described)})" if described else "") + (f" {status}" if status != "changed" else "")


def _body(artifact: ArtifactDiff, found: list[Row], paint: _Painter) -> list[str]:
    diagnostics = artifact.diagnostics()
    if diagnostics:
        return [line for side, error in diagnostics
                for line in _wrapped(f"{side}: {error.code} {log_text(error.message)}", INDENT)]
    lines = []
    for row in found:
        verdict = row.verdict.ljust(_VERDICT_WIDTH)
        style = "red" if row.fails_gate else _VERDICT_STYLE.get(row.verdict)
        text = f"{verdict} {log_text(layer_place(row.layer))} {log_text(describe(row))}"
        wrapped = _linear_wrapper()(WIDTH, initial_indent=INDENT, subsequent_indent=INDENT + " " * (_VERDICT_WIDTH + 1),
                                 break_on_hyphens=False).wrap(text)
        if style:  # painted after wrapping, so that the escape codes take no width
            wrapped[0] = wrapped[0].replace(verdict, paint(verdict, style), 1)
        lines += wrapped
    if artifact.status == "changed":
        lines.append(f"{INDENT}{matching(artifact)}")
    lines += _findings("introduced", artifact.introduced, paint)
    lines += _findings("resolved", artifact.resolved, paint)
    return lines


def _findings(what: str, findings: list[Finding], paint: _Painter) -> list[str]:
    if not findings:
        return []
    lines = [f"{INDENT}findings {what}:"]
    for finding in findings:
        lines += [INDENT + line for line in _finding_lines(finding, paint, width=WIDTH - len(INDENT))]
    return lines
