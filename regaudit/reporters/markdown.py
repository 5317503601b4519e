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

from regaudit.outcomes import ArtifactResult, AuditResult, Finding, Severity, Status
from regaudit.reporters._escape import markdown_code as _code
from regaudit.reporters._escape import markdown_html as _html
from regaudit.reporters._escape import markdown_text as _prose
from regaudit.reporters._paths import locate
from regaudit.reporters._summary import STATUS_WORDS, plural, severity_count

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO


COMMENT_LIMIT = 65_536  # characters in a GitHub issue or pull-request comment


def render(result: AuditResult, context: Any, stream: TextIO) -> None:
    sections = [f"## regaudit: {_outcome(result, context.fail_on)}", _summary_table(result, context)]
    with_findings = [artifact for artifact in result.artifacts if artifact.findings]
    if with_findings:
        sections.append("### Findings")
        sections += [_artifact_findings(artifact, context) for artifact in with_findings]
    not_audited = [artifact for artifact in result.artifacts if artifact.error is not None]
    if not_audited:
        sections.append(_not_audited(not_audited, context))
    if result.configuration:
        sections.append("### Configuration\n\n" + _findings_table(result.configuration, layer_column=False))
    stream.write(_within_limit(sections, COMMENT_LIMIT))


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


def _outcome(result: AuditResult, gate: Severity | None) -> str:
    """What decides the exit code, stated as facts: the renderer does not know every option that
    changes the code itself (--ignore-unknown lets a run that audited nothing pass)."""
    facts = []
    unreadable = len(result.with_status(Status.ERROR))
    if unreadable:
        facts.append(f"{plural(unreadable, 'input')} could not be read")
    if not result.with_status(Status.OK):
        facts.append("nothing was audited")
    if gate is None:
        facts.append(f"{plural(sum(1 for _ in result.findings), 'finding')}, no gate")
    else:
        failing = sum(1 for finding in result.findings if _at_gate(finding, gate))
        facts.append(f"{plural(failing, 'finding') if failing else 'no finding'} at or above {gate.value}")
    return ", ".join(facts)


def _summary_table(result: AuditResult, context: Any) -> str:
    header = ("Artifact", "Status", "Format", "Keras", "Weight-bearing layers covered", "Errors", "Warnings", "Info")
    rows = [_table_row(header), "| :-- | :-- | :-- | :-- | --: | --: | --: | --: |"]
    for artifact in result.artifacts:
        cells = [_code(locate(artifact.path, context.root).path), STATUS_WORDS[artifact.status],
                 _prose(artifact.format or ""), _prose(artifact.keras_version or "")]
        if artifact.tree is not None:
            coverage = artifact.tree.coverage()
            cells.append(f"{coverage.covered} of {coverage.weight_bearing}")
            cells += [str(count) for count in artifact.severity_counts().values()]
        else:
            cells += [""] * 4
        rows.append(_table_row(cells))
    if result.configuration:  # so that the columns add up to the totals
        counts = [sum(1 for finding in result.configuration if finding.severity is severity) for severity in Severity]
        rows.append(_table_row(["configuration", "", "", "", "", *map(str, counts)]))
    statuses = ", ".join(f"{len(result.with_status(status))} {word}" for status, word in STATUS_WORDS.items())
    totals = map(str, result.severity_counts().values())
    rows.append(_table_row([f"**{plural(len(result.artifacts), 'artifact')}**", statuses, "", "", "", *totals]))
    return "\n".join(rows)


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


def _not_audited(artifacts: list[ArtifactResult], context: Any) -> str:
    rows = [_table_row(("Artifact", "Status", "Reason")), "| :-- | :-- | :-- |"]
    for artifact in artifacts:
        assert artifact.error is not None
        reason = f"{artifact.error.code} {_prose(artifact.error.message)}"
        path = _code(locate(artifact.path, context.root).path)
        rows.append(_table_row([path, STATUS_WORDS[artifact.status], reason]))
    return "### Not audited\n\n" + "\n".join(rows)


def _at_gate(finding: Finding, gate: Severity | None) -> bool:
    return gate is not None and finding.severity.rank >= gate.rank


def _table_row(cells: Any) -> str:
    return "| " + " | ".join(cells) + " |"
