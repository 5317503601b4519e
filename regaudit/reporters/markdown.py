"""GitHub-flavoured Markdown, for pull-request comments and `$GITHUB_STEP_SUMMARY`.

A heading with what decides the run's outcome; a table of artifacts (status, format, Keras
version, coverage, counts); each artifact's findings in a `<details>` block, open when it holds a
finding at or above the gate; the artifacts not audited; the run's configuration findings.

Layer names, paths and messages come from untrusted files, escaped by `_escape`. Identifiers are
code spans, in which nothing is Markdown, HTML or an @mention. Messages escape Markdown punctuation
and `&`, `<`, `>`, and cannot mention anyone or link anywhere. Control characters (newlines too)
are shown as escapes, so that nothing breaks out of a table row or a `<summary>`.

A pull-request comment holds at most 65,536 characters. A longer report is cut, whole sections
and table rows at a time (never inside a `<details>` block or a row), and ends with a note that
says how much was left out and where the whole report is.
"""

from __future__ import annotations

from regaudit import reporters
from regaudit.outcomes import ArtifactResult, Finding, RunTotals, Severity, Status
from regaudit.reporters._escape import markdown_code as _code
from regaudit.reporters._escape import markdown_html as _html
from regaudit.reporters._escape import markdown_text as _prose
from regaudit.reporters._paths import locate
from regaudit.reporters._summary import STATUS_WORDS, plural, severity_count

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any


COMMENT_LIMIT = 65_536  # characters in a GitHub issue or pull-request comment


class Reporter(reporters.Reporter):
    """Each artifact's row of the summary table, its findings block and its row of the inputs not
    audited are rendered as it arrives and kept as text: the heading states the run's outcome,
    and the comment limit is applied to the whole, at the end."""

    def begin(self) -> None:
        self.rows: list[str] = []
        self.findings: list[str] = []
        self.not_audited: list[str] = []

    def piece(self, artifact: ArtifactResult) -> tuple[str, str | None, str | None]:
        findings = _artifact_findings(artifact, self.context) if artifact.findings else None
        not_audited = _not_audited_row(artifact, self.context) if artifact.error is not None else None
        return _summary_row(artifact, self.context), findings, not_audited

    def artifact(self, artifact: ArtifactResult, piece: tuple[str, str | None, str | None] | None = None) -> None:
        row, findings, not_audited = self.piece(artifact) if piece is None else piece
        self.rows.append(row)
        if findings is not None:
            self.findings.append(findings)
        if not_audited is not None:
            self.not_audited.append(not_audited)

    def end(self, totals: RunTotals) -> None:
        sections = [f"## regaudit: {_outcome(totals, self.context.fail_on)}", _summary_table(self.rows, totals)]
        if self.findings:
            sections.append("### Findings")
            sections += self.findings
        if self.not_audited:
            header = [_table_row(("Artifact", "Status", "Reason")), "| :-- | :-- | :-- |"]
            sections.append("### Not audited\n\n" + "\n".join(header + self.not_audited))
        if totals.configuration:
            sections.append("### Configuration\n\n" + _findings_table(totals.configuration, layer_column=False))
        self.stream.write(_within_limit(sections, COMMENT_LIMIT))


def _within_limit(sections: list[str], limit: int) -> str:
    """The sections joined, or as many of them as fit in `limit` characters with a closing note.
    A section that does not fit is cut by whole lines when it is a table, else left out."""
    whole = "\n\n".join(sections) + "\n"
    if len(whole) <= limit:
        return whole
    budget = limit - _NOTE_ROOM
    kept: list[str] = []
    used = 0
    for section in sections:
        cost = len(section) + 2
        if used + cost <= budget:
            kept.append(section)
            used += cost
            continue
        if section.startswith("|"):  # a table: keep the rows that fit
            rows = section.split("\n")
            part = rows[:2]
            for row in rows[2:]:
                if used + len("\n".join(part + [row])) + 2 > budget:
                    break
                part.append(row)
            if len(part) > 2:
                kept.append("\n".join(part))
                used += len(kept[-1]) + 2
        break
    shown = used
    note = (f"**This report was cut to fit GitHub's {limit:,}-character comment limit: "
            f"{len(whole) - shown:,} of its {len(whole):,} characters are not shown.** "
            "The text, JSON, SARIF or HTML report of the same run has everything.")
    return "\n\n".join(kept + [note]) + "\n"


_NOTE_ROOM = 400  # characters kept free for the closing note


def _outcome(totals: RunTotals, gate: Severity | None) -> str:
    """What decides the exit code, stated as facts: the renderer does not know every option that
    changes the code itself (--ignore-unknown lets a run that audited nothing pass)."""
    facts = []
    unreadable = totals.status_count(Status.ERROR)
    if unreadable:
        facts.append(f"{plural(unreadable, 'input')} could not be read")
    if not totals.status_count(Status.OK):
        facts.append("nothing was audited")
    if gate is None:
        facts.append(f"{plural(sum(totals.severity_counts().values()), 'finding')}, no gate")
    else:
        failing = totals.failing(gate)
        facts.append(f"{plural(failing, 'finding') if failing else 'no finding'} at or above {gate.value}")
    return ", ".join(facts)


def _summary_row(artifact: ArtifactResult, context: Any) -> str:
    cells = [_code(locate(artifact.path, context.root).path), STATUS_WORDS[artifact.status],
             _prose(artifact.format or ""), _prose(artifact.keras_version or "")]
    if artifact.tree is not None:
        coverage = artifact.tree.coverage()
        cells.append(f"{coverage.covered} of {coverage.weight_bearing}")
        cells += [str(count) for count in artifact.severity_counts().values()]
    else:
        cells += [""] * 4
    return _table_row(cells)


def _summary_table(rows: list[str], totals: RunTotals) -> str:
    header = ("Artifact", "Status", "Format", "Keras", "Weight-bearing layers covered", "Errors", "Warnings", "Info")
    table = [_table_row(header), "| :-- | :-- | :-- | :-- | --: | --: | --: | --: |", *rows]
    if totals.configuration:  # so that the columns add up to the totals
        counts = [sum(1 for finding in totals.configuration if finding.severity is severity) for severity in Severity]
        table.append(_table_row(["configuration", "", "", "", "", *map(str, counts)]))
    statuses = ", ".join(f"{totals.status_count(status)} {word}" for status, word in STATUS_WORDS.items())
    counts = map(str, totals.severity_counts().values())
    table.append(_table_row([f"**{plural(totals.artifacts, 'artifact')}**", statuses, "", "", "", *counts]))
    return "\n".join(table)


def _artifact_findings(artifact: ArtifactResult, context: Any) -> str:
    path = locate(artifact.path, context.root).path
    opened = " open" if any(_at_gate(finding, context.fail_on) for finding in artifact.findings) else ""
    counts = ", ".join(
        severity_count(count, severity) for severity, count in artifact.severity_counts().items() if count
    )
    summary = f"<code>{_html(path)}</code>: {plural(len(artifact.findings), 'finding')} ({counts})"
    return f"<details{opened}>\n<summary>{summary}</summary>\n\n{_findings_table(artifact.findings)}\n\n</details>"


def _findings_table(findings: list[Finding], layer_column: bool = True) -> str:
    header = ("Rule", "Severity", *(("Layer", "Argument") if layer_column else ("Setting",)), "Message")
    rows = [_table_row(header), _table_row([":--"] * len(header))]
    for finding in findings:
        cells = [f"{finding.rule} {_code(finding.name)}", finding.severity.value]
        if layer_column:
            cells.append(_code(finding.layer) if finding.layer else "(model)")
        cells += [_code(finding.argument) if finding.argument else "", _prose(finding.message)]
        rows.append(_table_row(cells))
    return "\n".join(rows)


def _not_audited_row(artifact: ArtifactResult, context: Any) -> str:
    assert artifact.error is not None
    reason = f"{artifact.error.code} {_prose(artifact.error.message)}"
    path = _code(locate(artifact.path, context.root).path)
    return _table_row([path, STATUS_WORDS[artifact.status], reason])


def _at_gate(finding: Finding, gate: Severity | None) -> bool:
    return gate is not None and finding.severity.rank >= gate.rank


def _table_row(cells: Any) -> str:
    return "| " + " | ".join(cells) + " |"
