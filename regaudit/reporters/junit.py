"""JUnit XML, for the test views of CI systems (GitLab's unit test reports, Jenkins, Azure DevOps).

One `<testsuite name="regaudit">` inside a `<testsuites>` root. Each artifact has one
`<testcase>` for the audit itself (`name` "audit"), and one more per finding at or above the
gate (`context.fail_on`), named `RA301 unregistered-custom-regularizer at d kernel_regularizer`
and holding one `<failure type="RA301">`. `classname` is the artifact's path relative to the
report root (GitLab shows classname as the suite), `file` the file its findings point at. A run
with configuration findings adds `configuration` cases the same way.

- One failure per test case, because GitLab shows one: its parser (lib/gitlab/ci/parsers/test/
  junit.rb) gives each test case a single status and a single output, so the second and later
  `<failure>` elements of a case never reach the merge request; and of several cases with the
  same name only the first is kept (GitLab's unit test report docs), so names are made unique.
- Findings below the gate are lines of the audit case's `<system-out>`; with no gate, every
  finding goes there.
- A skipped artifact's audit case is `<skipped>`, an unreadable one's `<error>`.

GitLab shows the text of failure, error and skipped elements and none of their attributes, so
each element's text repeats its code and place.

XML 1.0 cannot hold most control characters, which a model's names may contain: they are written
as `\\xNN` (`\\uNNNN` for surrogates) by `_escape.xml_text`. The document is pure ASCII (non-ASCII
text becomes character references), so it is right whatever the stream's encoding. GitLab turns
`[[ATTACHMENT|path]]` in test output into a link to a job artifact; a name in a model file must not
be able to do that, so every `[` before another `[` is followed by a space (`[[[` is `[ [ [`).
A CI log may show the XML as it is, so element text is first escaped as in the text report
(`_escape.log_text`): no name can start a line there or form a GitHub Actions workflow command.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from collections import Counter

from regaudit import reporters
from regaudit.outcomes import ArtifactResult, Finding, RunTotals, Severity, Status
from regaudit.reporters._escape import log_text, xml_text
from regaudit.reporters._paths import artifact_file, locate, place

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

SUITE = "regaudit"
CONFIGURATION = "configuration"


AUDIT = "audit"


class Reporter(reporters.Reporter):
    """Each artifact's test cases are rendered as it arrives and kept as compact text, with their
    counts: the counts are attributes of `<testsuites>` and `<testsuite>`, which come first. The
    end writes what `ET.indent` and `ET.tostring` write for the whole tree: each case is indented
    alone at its depth (2) and placed between the suite's tags."""

    def begin(self) -> None:
        self.cases: list[str] = []
        self.counts: Counter[str] = Counter()

    def piece(self, artifact: ArtifactResult) -> tuple[list[str], Counter[str]]:
        return _rendered(_artifact_cases(artifact, self.context))

    def artifact(self, artifact: ArtifactResult, piece: tuple[list[str], Counter[str]] | None = None) -> None:
        self._keep(self.piece(artifact) if piece is None else piece)

    def end(self, totals: RunTotals) -> None:
        if totals.configuration:
            self._keep(_rendered(_cases(CONFIGURATION, None, totals.configuration, self.context.fail_on)))
        counts = {key: str(self.counts[key]) for key in _COUNTED}
        root = ET.Element("testsuites", {"name": SUITE, **counts})
        suite = ET.SubElement(root, "testsuite", {"name": SUITE, **counts})
        if self.cases:
            ET.SubElement(suite, _PLACE)
        ET.indent(root)
        head, _, tail = ET.tostring(root, encoding="us-ascii").decode("ascii").partition(f"<{_PLACE} />")
        self.stream.write('<?xml version="1.0" encoding="UTF-8"?>\n' + head)
        for number, case in enumerate(self.cases):
            self.stream.write(("\n" + _INDENT * _CASE_DEPTH if number else "") + case)
        self.stream.write(tail + "\n")

    def _keep(self, rendered: tuple[list[str], Counter[str]]) -> None:
        cases, counts = rendered
        self.cases += cases
        self.counts.update(counts)


_COUNTED = ("tests", "failures", "errors", "skipped")  # the attributes, in order
_COUNTED_TAGS = {"failures": "failure", "errors": "error", "skipped": "skipped"}  # what each counts
_PLACE = "cases"  # where the cases go in the skeleton; no element of the report has this tag
_INDENT = "  "  # ET.indent's default
_CASE_DEPTH = 2  # testsuites > testsuite > testcase


def _rendered(cases: list[ET.Element]) -> tuple[list[str], Counter[str]]:
    """The cases as ET writes them at their depth in the report, and their counts."""
    counts: Counter[str] = Counter(tests=len(cases))
    for case in cases:
        for key, tag in _COUNTED_TAGS.items():
            counts[key] += len(case.findall(tag))
        ET.indent(case, _INDENT, _CASE_DEPTH)
    return [ET.tostring(case, encoding="us-ascii").decode("ascii") for case in cases], counts


def _artifact_cases(artifact: ArtifactResult, context: Any) -> list[ET.Element]:
    name = locate(artifact.path, context.root).path
    file = artifact_file(artifact, context.root).path
    cases = _cases(name, file, artifact.findings, context.fail_on)
    if artifact.error is not None:
        text = f"{artifact.error.code} {artifact.error.message}"
        if artifact.status is Status.SKIPPED:
            _element(cases[0], "skipped", [text], message=text)
        else:
            _element(cases[0], "error", [text], message=text, type=artifact.error.code)
    return cases


def _cases(classname: str, file: str | None, findings: list[Finding], gate: Severity | None) -> list[ET.Element]:
    """The audit case (findings below the gate in its output), then one case per failing finding."""
    audit = _case(classname, AUDIT, file)
    cases = [audit]
    below = []
    names: Counter[str] = Counter()
    for finding in findings:
        if gate is not None and finding.severity.rank >= gate.rank:
            headline = _headline(finding)
            names[headline] += 1
            name = headline if names[headline] == 1 else f"{headline} ({names[headline]})"
            case = _case(classname, name, file)
            _element(case, "failure", [f"{headline} ({finding.severity.value})", finding.message],
                     message=headline, type=finding.rule)
            cases.append(case)
        else:
            below.append(f"{_headline(finding)} ({finding.severity.value}): {finding.message}")
    if below:
        _element(audit, "system-out", below)
    return cases


def _case(classname: str, name: str, file: str | None) -> ET.Element:
    attributes = {"classname": classname, "name": name}
    if file is not None:
        attributes["file"] = file
    return ET.Element("testcase", {key: xml_text(value) for key, value in attributes.items()})


def _headline(finding: Finding) -> str:
    """`RA301 unregistered-custom-regularizer at d kernel_regularizer`."""
    where = place(finding)
    return f"{finding.rule} {finding.name}" + (f" at {where}" if where else "")


def _element(parent: ET.Element, tag: str, lines: list[str], **attributes: str) -> None:
    """An element whose text is `lines`. A CI log may print the XML as it is, so each line is escaped
    as the text report's are: no name can start a line or form a workflow command. (Attributes keep
    names exactly: XML writes their newlines as `&#10;`.)"""
    element = ET.SubElement(parent, tag, {key: xml_text(value) for key, value in attributes.items()})
    element.text = "\n".join(xml_text(log_text(line)) for line in lines)
