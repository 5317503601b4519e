"""The default human report: per artifact, the regularized layers, coverage, findings, a summary."""

from __future__ import annotations

import textwrap
from typing import Any, TextIO

from regaudit.describe import regularizer_label
from regaudit.outcomes import ArtifactResult, AuditResult, Finding, Severity, Status
from regaudit.reporters._paths import place
from regaudit.reporters._summary import NOTHING_AUDITED, STATUS_WORDS, counts, slot_rank, summary_parts
from regaudit.tree import ModelTree

WIDTH = 80
INDENT = "  "
_COLUMNS = ("layer", "class", "slot", "regularizer", "origin")
_GAP = "  "
# When a table is too wide for 80 columns the class column gives way first (down to
# _CLASS_WIDTH), then the widest of layer and regularizer, down to _MIN_WIDTH.
_CLASS_WIDTH = 16
_SHRINKABLE = (0, 3)
_MIN_WIDTH = 10
_SEVERITY_STYLE = {Severity.ERROR: "red", Severity.WARNING: "yellow", Severity.INFO: "cyan"}
_STATUS_STYLE = {Status.OK: "green", Status.SKIPPED: "yellow", Status.ERROR: "red"}


def render(result: AuditResult, context: Any, stream: TextIO) -> None:
    paint = _Painter(context.color)
    for artifact in result.artifacts:
        stream.write("\n".join(_artifact_lines(artifact, paint)) + "\n\n")
    if result.configuration:
        lines = [paint("configuration", "bold")]
        for finding in result.configuration:
            lines += _finding_lines(finding, paint)
        stream.write("\n".join(lines) + "\n\n")
    stream.write(_overall_summary(result, paint) + "\n")


def _artifact_lines(artifact: ArtifactResult, paint: _Painter) -> list[str]:
    lines = [_heading(artifact, paint)]
    if artifact.error is not None:
        lines += _wrapped(f"{artifact.error.code} {artifact.error.message}", INDENT)
        return lines
    assert artifact.tree is not None
    lines += _regularizer_table(artifact.tree, paint)
    coverage = artifact.tree.coverage()
    lines.append(
        f"{INDENT}{coverage.covered} of {coverage.weight_bearing} weight-bearing layers carry a weight regularizer"
    )
    for finding in artifact.findings:
        lines += _finding_lines(finding, paint)
    tally = counts(artifact.severity_counts())
    if artifact.suppressed:
        tally += f"; {artifact.suppressed} suppressed by configuration or baseline"
    lines.append(INDENT + tally)
    return lines


def _heading(artifact: ArtifactResult, paint: _Painter) -> str:
    details = [artifact.format or ""]
    if artifact.keras_version:
        version = artifact.keras_version
        details.append(f"Keras {version}" if version[:1].isdigit() else version)  # "tfjs-layers 4.22.0"
    status = "" if artifact.status is Status.OK else " " + paint(STATUS_WORDS[artifact.status], _STATUS_STYLE[artifact.status])
    described = f"  ({', '.join(d for d in details if d)})" if artifact.format else ""
    return paint(artifact.path, "bold") + described + status


def _regularizer_table(tree: ModelTree, paint: _Painter) -> list[str]:
    rows = [
        (layer.path, layer.class_name, regularizer.slot, regularizer_label(regularizer), regularizer.origin.value)
        for layer in tree.layers()
        for regularizer in sorted(layer.regularizers, key=slot_rank)
    ]
    if not rows:
        return [f"{INDENT}no regularizers"]
    widths = _column_widths(rows)
    header = INDENT + _GAP.join(name.upper().ljust(width) for name, width in zip(_COLUMNS, widths)).rstrip()
    lines = [paint(header, "dim")]
    for row in rows:
        cells = [_fit(cell, width, keep_end=index == 0) for index, (cell, width) in enumerate(zip(row, widths))]
        lines.append(INDENT + _GAP.join(cell.ljust(width) for cell, width in zip(cells, widths)).rstrip())
    return lines


def _column_widths(rows: list[tuple[str, ...]]) -> list[int]:
    widths = [max(len(header), *(len(row[i]) for row in rows)) for i, header in enumerate(_COLUMNS)]
    budget = WIDTH - len(INDENT) - len(_GAP) * (len(_COLUMNS) - 1)
    widths[1] = max(len(_COLUMNS[1]), min(widths[1], _CLASS_WIDTH, widths[1] - (sum(widths) - budget)))
    while sum(widths) > budget:
        widest = max(_SHRINKABLE, key=lambda index: widths[index])
        if widths[widest] <= _MIN_WIDTH:
            break
        widths[widest] -= 1
    return widths


def _finding_lines(finding: Finding, paint: _Painter) -> list[str]:
    where = place(finding) or "(model)"
    severity = paint(finding.severity.value.ljust(7), _SEVERITY_STYLE[finding.severity])
    first = f"{INDENT}{finding.rule} {severity} {where}"
    return [first] + _wrapped(finding.message, INDENT * 4)


def _overall_summary(result: AuditResult, paint: _Painter) -> str:
    artifacts, findings = summary_parts(result)
    line = f"{artifacts}; {findings}" if len(artifacts) + len(findings) + 2 <= WIDTH else f"{artifacts}\n{findings}"
    if not result.with_status(Status.OK):
        line += f"\n{NOTHING_AUDITED}"
    return paint(line, "bold")


def _wrapped(text: str, indent: str) -> list[str]:
    return textwrap.wrap(text, WIDTH, initial_indent=indent, subsequent_indent=indent, break_on_hyphens=False)


def _fit(text: str, width: int, keep_end: bool) -> str:
    """Shorten to the width; a layer path keeps its end, which names the layer."""
    if len(text) <= width:
        return text
    return "…" + text[-(width - 1) :] if keep_end else text[: width - 1] + "…"


class _Painter:
    """ANSI styling, or none at all when colour is off."""

    _CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "cyan": "36"}

    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, style: str) -> str:
        if not self.enabled:
            return text
        return f"\x1b[{self._CODES[style]}m{text}\x1b[0m"
