"""JUnit XML, for the test views of CI systems (GitLab's unit test reports, Jenkins, Azure DevOps).

One `<testsuite name="regaudit">` inside a `<testsuites>` root, with one `<testcase>` per artifact:
`name` is its path relative to the report root, `classname` its format ("regaudit" when it has
none; GitLab shows classname as the suite), `file` the file its findings point at. A run with
configuration findings adds a `regaudit` / `configuration` case.

- Each finding at or above the gate (`context.fail_on`) is a `<failure type="RA301">`; findings
  below it are lines of the case's `<system-out>`. With no gate, every finding goes there.
- A skipped artifact is `<skipped>`, an unreadable one `<error>`.
- Counts are of elements, as junitparser counts them: a case with two failing findings adds two
  to `failures`.

GitLab shows the text of failure, error and skipped elements and none of their attributes, so
each element's text repeats its code and place.

XML 1.0 cannot hold most control characters, which a model's names may contain: they are written
as `\\xNN` (`\\uNNNN` for surrogates). The document is pure ASCII (non-ASCII text becomes character
references), so it is right whatever the stream's encoding. GitLab turns `[[ATTACHMENT|path]]` in
test output into a link to a job artifact; a name in a model file must not be able to do that, so
`[[` is written `[ [`.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from typing import Any, TextIO

from regaudit.outcomes import ArtifactResult, AuditResult, Finding, Severity, Status
from regaudit.reporters._paths import artifact_file, locate, place

SUITE = "regaudit"
CONFIGURATION = "configuration"
# Characters XML 1.0 allows: tab, newline, carriage return and most of Unicode, but no surrogates.
_NOT_XML = re.compile("[^\t\n\r\u0020-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")


def render(result: AuditResult, context: Any, stream: TextIO) -> None:
    cases = [_artifact_case(artifact, context) for artifact in result.artifacts]
    if result.configuration:
        cases.append(_case(SUITE, CONFIGURATION, None, result.configuration, context.fail_on))
    counts = _counts(cases)
    root = ET.Element("testsuites", {"name": SUITE, **counts})
    suite = ET.SubElement(root, "testsuite", {"name": SUITE, **counts})
    suite.extend(cases)
    ET.indent(root)
    stream.write('<?xml version="1.0" encoding="UTF-8"?>\n')
    stream.write(ET.tostring(root, encoding="us-ascii").decode("ascii") + "\n")


def _artifact_case(artifact: ArtifactResult, context: Any) -> ET.Element:
    name = locate(artifact.path, context.root).path
    file = artifact_file(artifact, context.root).path
    case = _case(artifact.format or SUITE, name, file, artifact.findings, context.fail_on)
    if artifact.error is not None:
        text = f"{artifact.error.code} {artifact.error.message}"
        if artifact.status is Status.SKIPPED:
            _element(case, "skipped", text, message=text)
        else:
            _element(case, "error", text, message=text, type=artifact.error.code)
    return case


def _case(classname: str, name: str, file: str | None, findings: list[Finding], gate: Severity | None) -> ET.Element:
    attributes = {"classname": classname, "name": name}
    if file is not None:
        attributes["file"] = file
    case = ET.Element("testcase", {key: _xml_text(value) for key, value in attributes.items()})
    below = []
    for finding in findings:
        if gate is not None and finding.severity.rank >= gate.rank:
            headline = _headline(finding)
            _element(case, "failure", f"{headline} ({finding.severity.value})\n{finding.message}",
                     message=headline, type=finding.rule)
        else:
            below.append(f"{_headline(finding)} ({finding.severity.value}): {finding.message}")
    if below:
        _element(case, "system-out", "\n".join(below))
    return case


def _headline(finding: Finding) -> str:
    """`RA301 unregistered-custom-regularizer at d kernel_regularizer`."""
    where = place(finding)
    return f"{finding.rule} {finding.name}" + (f" at {where}" if where else "")


def _element(parent: ET.Element, tag: str, text: str, **attributes: str) -> None:
    element = ET.SubElement(parent, tag, {key: _xml_text(value) for key, value in attributes.items()})
    element.text = _xml_text(text)


def _counts(cases: list[ET.Element]) -> dict[str, str]:
    def count(tag: str) -> str:
        return str(sum(len(case.findall(tag)) for case in cases))

    return {"tests": str(len(cases)), "failures": count("failure"), "errors": count("error"),
            "skipped": count("skipped")}


def _xml_text(text: str) -> str:
    return _NOT_XML.sub(_escaped, text).replace("[[", "[ [")


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
