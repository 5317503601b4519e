"""The machine and CI reports: SARIF, JUnit XML, GitHub workflow commands and Markdown.

Each has a golden file rendered from conftest's GOLDEN_INPUTS; beyond it, SARIF is validated
against the official schema (for every fixture model too), JUnit is read back with junitparser,
and hostile names are checked against each format's escaping rules.
"""

from __future__ import annotations

import io
import json
import re
from pathlib import Path

import pytest
from conftest import ROOT, assert_golden, golden_context, rendered, require

import regaudit
from regaudit.outcomes import ArtifactResult, AuditResult, Diagnostic, Finding, Severity, Status
from regaudit.reporters import _escape, _paths, render

SCHEMA = ROOT / "tests" / "schemas" / "sarif-schema-2.1.0.json"
HOSTILE_LAYER = "<img src=x onerror=alert(1)>"
HOSTILE_QUOTES = "\"quotes' & <ampersands>"
# A layer name built against every format at once: workflow-command separators, a line break that
# would start a new command or table row, Markdown table and code delimiters, a control character
# XML cannot hold, and an @mention.
NASTY = "blk:1,a|b`c\n::error::pwned %0A @team\x1b[31m"


@pytest.fixture(autouse=True)
def _at_root(monkeypatch):
    """Relative artifact paths are read against the working directory: make it the golden root."""
    monkeypatch.chdir(ROOT)


def _finding(rule="RA301", layer="d", argument="kernel_regularizer", message="custom regularizer is unregistered",
             severity=Severity.ERROR, name="unregistered-custom-regularizer") -> Finding:
    return Finding(rule, name, severity, layer, argument, message)


def _result(*artifacts: ArtifactResult, configuration: list[Finding] | None = None) -> AuditResult:
    result = AuditResult()
    result.artifacts = list(artifacts)
    result.configuration = configuration or []
    return result


def _artifact(path="models/m.keras", findings: list[Finding] | None = None, format="keras-zip") -> ArtifactResult:
    return ArtifactResult(path, Status.OK, format=format, keras_version="3.15.1", findings=findings or [])


# --- golden files ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("format_", "golden"),
    [("sarif", "report.sarif"), ("junit", "report.junit.xml"), ("github", "report.github.txt"),
     ("markdown", "report.md")],
)
def test_golden(golden_result, format_, golden):
    assert_golden(golden, rendered(format_, golden_result))


# --- shared paths ---------------------------------------------------------------------------------


def test_paths_are_relative_to_the_root_with_slashes(tmp_path):
    assert _paths.locate(str(tmp_path / "models" / "a.keras"), tmp_path) == _paths.Located("models/a.keras", True)
    outside = _paths.locate(str(tmp_path / "a.keras"), tmp_path / "repo")
    assert outside == _paths.Located((tmp_path / "a.keras").as_posix(), False)
    assert outside.uri == (tmp_path / "a.keras").as_uri()


def test_a_relative_path_is_read_against_the_working_directory(tmp_path, monkeypatch):
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert _paths.locate("m.keras", tmp_path).path == "sub/m.keras"


def test_uris_are_percent_encoded():
    assert _paths.Located("my models/#1 é:x.keras", True).uri == "my%20models/%231%20%C3%A9%3Ax.keras"


def test_a_keras_directory_points_at_its_config(tmp_path):
    artifact = _artifact(str(tmp_path / "m_dir"), format="keras-dir")
    assert _paths.artifact_file(artifact, tmp_path).path == "m_dir/config.json"


# --- SARIF ----------------------------------------------------------------------------------------


def _validator():
    jsonschema = require("jsonschema")
    require("rfc3986_validator")  # so that the format checker checks `uri-reference`
    schema = json.loads(SCHEMA.read_text())
    cls = jsonschema.validators.validator_for(schema)  # the draft the schema declares
    cls.check_schema(schema)
    # Every known format: the schema's draft (4) predates `uri-reference`, which artifact URIs use.
    return cls(schema, format_checker=jsonschema.FormatChecker())


def _sarif(result, **overrides) -> dict:
    return json.loads(rendered("sarif", result, **overrides))


def _rendered_at(root: Path, format_: str, result: AuditResult) -> str:
    # conftest's golden_context fixes root=ROOT and cannot take another one.
    stream = io.StringIO()
    render(format_, result, golden_context()._replace(root=root), stream)
    return stream.getvalue()


def _assert_valid_for_github(log: dict) -> None:
    errors = sorted(_validator().iter_errors(log), key=lambda error: list(error.path))
    assert not errors, "\n".join(f"{list(e.path)}: {e.message}" for e in errors[:10])
    assert log["$schema"] and log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    for result in run["results"]:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["message"]["text"]
        assert len(result["locations"]) == 1
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uri"]
        assert physical["region"]["startLine"] == 1
        # upload-sarif computes primaryLocationLineHash itself; ours would draw a warning per result.
        assert set(result["partialFingerprints"]) == {"regaudit/v1"}
    for rule in rules:
        assert len(rule["fullDescription"]["text"]) <= 1024 and len(rule["shortDescription"]["text"]) <= 1024
        assert len(rule["name"]) <= 255 and rule["help"]["text"]


def test_sarif_golden_report_is_valid(golden_result):
    log = _sarif(golden_result)
    _assert_valid_for_github(log)
    run = log["runs"][0]
    assert run["tool"]["driver"]["name"] == "regaudit"
    assert run["tool"]["driver"]["version"] == regaudit.__version__
    assert run["tool"]["driver"]["informationUri"] == "https://github.com/regaudit/regaudit"
    first = run["results"][0]
    assert first["ruleId"] == "RA301" and first["level"] == "error"
    assert first["message"]["text"].startswith("d kernel_regularizer: custom regularizer class MainUnregL2")
    location = first["locations"][0]
    assert location["physicalLocation"]["artifactLocation"] == {
        "uri": "fixtures/models/k3_origin_main_class.keras", "uriBaseId": "%SRCROOT%"}
    assert location["logicalLocations"] == [{"fullyQualifiedName": "d", "kind": "member"}]
    assert [r["level"] for r in run["results"]].count("note") == 4  # the fifth info is RA907, a notification
    model_level = next(r for r in run["results"] if r["ruleId"] == "RA202")
    assert "logicalLocations" not in model_level["locations"][0]
    hostile = next(r for r in run["results"] if r["ruleId"] == "RA304")
    assert hostile["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == HOSTILE_LAYER


def test_sarif_of_every_fixture_model_is_valid(monkeypatch):
    monkeypatch.chdir(ROOT)
    result = regaudit.audit(["fixtures/models"], {})
    assert len(result.artifacts) > 90 and result.with_status(Status.SKIPPED)
    log = _sarif(result)
    _assert_valid_for_github(log)
    run = log["runs"][0]
    assert len(run["results"]) == sum(len(artifact.findings) for artifact in result.artifacts)
    uris = {r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] for r in run["results"]}
    assert "fixtures/models/k3_families_dir/config.json" in uris
    assert not any(uri.endswith("k3_families_dir") for uri in uris)
    fingerprints = [r["partialFingerprints"]["regaudit/v1"] for r in run["results"]]
    assert len(set(fingerprints)) == len(fingerprints)


def test_sarif_rules_come_from_the_catalog(golden_result):
    catalog = golden_context().catalog
    driver = _sarif(golden_result)["runs"][0]["tool"]["driver"]
    checks = [rule for rule in catalog.rules.values() if rule.is_check]
    assert [rule["id"] for rule in driver["rules"]] == [rule.code for rule in checks]
    assert [n["id"] for n in driver["notifications"]] == [r.code for r in catalog.rules.values() if not r.is_check]
    levels = {"error": "error", "warning": "warning", "info": "note"}
    for descriptor, rule in zip(driver["rules"], checks):
        assert descriptor["name"] == rule.name
        assert descriptor["shortDescription"]["text"] == rule.summary
        assert descriptor["defaultConfiguration"]["level"] == levels[rule.severity.value]
        for text in (rule.what, rule.why, rule.fix, *rule.references):
            assert text in descriptor["help"]["text"] and text in descriptor["help"]["markdown"]
        if len(rule.what) <= 1024:
            assert descriptor["fullDescription"]["text"] == rule.what
        else:  # GitHub's limit: cut at a word, marked, with the whole text in help
            clipped = descriptor["fullDescription"]["text"]
            assert len(clipped) <= 1024 and clipped.endswith("…") and rule.what.startswith(clipped[:-1])
    assert any(len(rule.what) > 1024 for rule in checks), "the clipping branch is no longer exercised"


def test_sarif_notifications_for_skipped_unreadable_and_configuration(golden_result):
    invocation = _sarif(golden_result)["runs"][0]["invocations"][0]
    assert invocation["executionSuccessful"] is False
    skipped, unreadable = invocation["toolExecutionNotifications"]
    assert skipped["level"] == "warning" and skipped["descriptor"]["id"] == "RA901"
    assert skipped["message"]["text"].startswith("RA901 weights-only HDF5")
    uri = skipped["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
    assert uri == "fixtures/models/tfk_weights_only.h5"
    assert unreadable["level"] == "error" and unreadable["descriptor"]["id"] == "RA902"
    assert unreadable["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "tests/data/lfs_pointer.keras"
    (configuration,) = invocation["toolConfigurationNotifications"]
    assert configuration["descriptor"]["id"] == "RA907" and configuration["level"] == "note"
    assert "no_such_block/*" in configuration["message"]["text"]


def test_sarif_execution_succeeds_when_every_input_was_read():
    log = _sarif(_result(_artifact(), ArtifactResult("w.h5", Status.SKIPPED, error=Diagnostic("RA901", "weights"))))
    assert log["runs"][0]["invocations"][0]["executionSuccessful"] is True


def test_sarif_fingerprints_are_stable_and_distinguish_findings():
    def fingerprints(*findings: Finding, path: str = "models/m.keras") -> list[str]:
        log = _sarif(_result(_artifact(path, list(findings))))
        return [result["partialFingerprints"]["regaudit/v1"] for result in log["runs"][0]["results"]]

    base = fingerprints(_finding())
    assert re.fullmatch(r"[0-9a-f]{64}:1", base[0])
    assert fingerprints(_finding()) == base  # another run
    assert fingerprints(_finding(message="reworded", severity=Severity.WARNING)) == base  # not part of identity
    assert fingerprints(_finding(layer="other")) != base
    assert fingerprints(_finding(argument="bias_regularizer")) != base
    assert fingerprints(_finding(rule="RA302")) != base
    assert fingerprints(_finding(), path="models/n.keras") != base
    # The same finding twice in one file is two alerts, not one.
    twice = fingerprints(_finding(), _finding())
    assert twice[0] == base[0] and twice[1] == base[0][:-1] + "2"


def test_sarif_uris_are_escaped_and_absolute_outside_the_root(tmp_path):
    inside = tmp_path / "repo" / "my models" / "#1 é.keras"
    outside = tmp_path / "elsewhere" / "m.keras"
    result = _result(_artifact(str(inside), [_finding()]), _artifact(str(outside), [_finding()]))
    log = json.loads(_rendered_at(tmp_path / "repo", "sarif", result))
    _assert_valid_for_github(log)
    first, second = (r["locations"][0]["physicalLocation"]["artifactLocation"] for r in log["runs"][0]["results"])
    assert first == {"uri": "my%20models/%231%20%C3%A9.keras", "uriBaseId": "%SRCROOT%"}
    assert second == {"uri": outside.as_uri()}


def test_sarif_holds_hostile_text_as_data():
    text = rendered("sarif", _result(_artifact(findings=[_finding(layer=NASTY, message=NASTY)])))
    assert text.isascii()
    result = json.loads(text)["runs"][0]["results"][0]
    assert result["locations"][0]["logicalLocations"][0]["fullyQualifiedName"] == NASTY
    assert result["message"]["text"] == f"{NASTY} kernel_regularizer: {NASTY}"


# --- JUnit ----------------------------------------------------------------------------------------


def _junit(text: str):
    junitparser = require("junitparser")
    xml = junitparser.JUnitXml.fromstring(text)
    (suite,) = list(xml)
    return junitparser, xml, suite


def _assert_counts_match(xml, suite) -> None:
    stated = [(s.tests, s.failures, s.errors, s.skipped) for s in (xml, suite)]
    suite.update_statistics()
    xml.update_statistics()
    assert stated == [(s.tests, s.failures, s.errors, s.skipped) for s in (xml, suite)]


def test_junit_golden_report_reads_back(golden_result):
    junitparser, xml, suite = _junit(rendered("junit", golden_result))
    assert suite.name == "regaudit"
    assert (xml.tests, xml.failures, xml.errors, xml.skipped) == (8, 1, 1, 1)
    _assert_counts_match(xml, suite)
    cases = {(case.classname, case.name): case for case in suite}
    main_class = "fixtures/models/k3_origin_main_class.keras"
    assert list(cases) == [
        (main_class, "audit"), (main_class, "RA301 unregistered-custom-regularizer at d kernel_regularizer"),
        ("fixtures/models/k3_compiled_adamw.keras", "audit"), ("fixtures/models/k3_nested.keras", "audit"),
        ("fixtures/models/tfk_weights_only.h5", "audit"), ("tests/data/lfs_pointer.keras", "audit"),
        ("tests/data/hostile_names.json", "audit"), ("configuration", "audit"),
    ]
    assert cases[(main_class, "audit")].is_passed
    failing = cases[(main_class, "RA301 unregistered-custom-regularizer at d kernel_regularizer")]
    assert failing.is_failure
    (failure,) = failing.result
    assert isinstance(failure, junitparser.Failure)
    assert failure.type == "RA301"
    assert failure.message == "RA301 unregistered-custom-regularizer at d kernel_regularizer"
    assert failure.text.startswith("RA301 unregistered-custom-regularizer at d kernel_regularizer (error)\n"
                                   "custom regularizer class MainUnregL2 is not registered")
    adamw = cases[("fixtures/models/k3_compiled_adamw.keras", "audit")]
    assert adamw.is_passed and adamw.system_out.splitlines()[0].startswith(
        "RA202 double-weight-decay (warning): optimizer AdamW(weight_decay=0.004)")
    assert len(cases[("fixtures/models/k3_nested.keras", "audit")].system_out.splitlines()) == 5
    skipped = cases[("fixtures/models/tfk_weights_only.h5", "audit")]
    assert skipped.is_skipped
    assert skipped.result[0].message.startswith("RA901 weights-only HDF5")
    unreadable = cases[("tests/data/lfs_pointer.keras", "audit")]
    assert unreadable.is_error and unreadable.result[0].type == "RA902"
    assert unreadable.result[0].text.startswith("RA902 Git LFS pointer")
    assert "<img src=x onerror=alert(1)>" in cases[("tests/data/hostile_names.json", "audit")].system_out
    assert cases[("configuration", "audit")].system_out.startswith("RA907 unused-suppression at per-layer-ignores (info)")


def test_junit_meets_gitlab_expectations(golden_result):
    """GitLab keeps the first of several cases with one name and shows one result per case
    (lib/gitlab/ci/parsers/test/junit.rb), and shows element text only: so one failure per case,
    and unique names."""
    _, _, suite = _junit(rendered("junit", golden_result, fail_on=Severity.INFO))
    keys = [(case.classname, case.name) for case in suite]
    assert len(set(keys)) == len(keys)
    for case in suite:
        assert len(case.result) <= 1
        for entry in case.result:
            assert entry.text and entry.text.strip()
    files = {(case.classname, case.name): case._elem.get("file") for case in suite}
    assert files[("fixtures/models/k3_nested.keras", "audit")] == "fixtures/models/k3_nested.keras"


def test_junit_the_same_finding_twice_is_two_cases_with_distinct_names():
    _, xml, suite = _junit(rendered("junit", _result(_artifact("m.keras", [_finding(), _finding()]))))
    names = [case.name for case in suite]
    assert names == ["audit", "RA301 unregistered-custom-regularizer at d kernel_regularizer",
                     "RA301 unregistered-custom-regularizer at d kernel_regularizer (2)"]
    assert xml.failures == 2


@pytest.mark.parametrize(
    ("gate", "failures"), [(None, 0), (Severity.ERROR, 1), (Severity.WARNING, 5), (Severity.INFO, 10)]
)
def test_junit_failures_follow_the_gate(golden_result, gate, failures):
    _, xml, suite = _junit(rendered("junit", golden_result, fail_on=gate))
    assert xml.failures == failures
    _assert_counts_match(xml, suite)
    below = sum(len(case.system_out.splitlines()) for case in suite if case.system_out)
    assert below + failures == 10


def test_junit_escapes_hostile_names(golden_result):
    _, _, suite = _junit(rendered("junit", golden_result, fail_on=Severity.INFO))
    (case,) = [case for case in suite if case.classname == "tests/data/hostile_names.json" and case.name != "audit"]
    (failure,) = case.result
    assert failure.message == f"RA304 registered-custom-regularizer at {HOSTILE_LAYER} kernel_regularizer"
    assert case.name == failure.message
    assert "</script><script>alert(1)</script>" in failure.text
    text = rendered("junit", _result(_artifact(HOSTILE_QUOTES, [_finding(layer=NASTY, message=NASTY)])))
    assert text.isascii()
    _, _, suite = _junit(text)
    audit, case = list(suite)
    assert audit.classname == HOSTILE_QUOTES and audit.name == "audit"
    expected = NASTY.replace("\x1b", "\\x1b")  # XML 1.0 has no escape for it
    assert case.result[0].message == f"RA301 unregistered-custom-regularizer at {expected} kernel_regularizer"


# --- GitHub workflow commands ---------------------------------------------------------------------

_COMMAND = re.compile(r"::(error|warning|notice) ((?:[a-z]+=[^,:]*)(?:,[a-z]+=[^,:]*)*)::(.*)")


def _unescape(text: str) -> str:
    return re.sub("%(25|0D|0A|3A|2C)", lambda m: {"25": "%", "0D": "\r", "0A": "\n", "3A": ":", "2C": ","}[m[1]], text)


def _commands(text: str) -> list[tuple[str, dict[str, str], str]]:
    commands = []
    for line in text.splitlines():
        match = _COMMAND.fullmatch(line)
        assert match, f"not a workflow command: {line!r}"
        properties = dict(pair.split("=", 1) for pair in match[2].split(","))
        commands.append((match[1], {key: _unescape(value) for key, value in properties.items()}, _unescape(match[3])))
    return commands


def test_github_commands(golden_result):
    commands = _commands(rendered("github", golden_result))
    assert len(commands) == 10 + 2  # every finding, whatever the gate, and the two artifacts not audited
    assert commands[0] == ("error", {"file": "fixtures/models/k3_origin_main_class.keras",
                                     "title": "RA301 unregistered-custom-regularizer"},
                           commands[0][2])
    assert commands[0][2].startswith("d kernel_regularizer: custom regularizer class MainUnregL2")
    levels = [level for level, _, _ in commands]
    assert levels.count("notice") == 5 and levels.count("warning") == 5 and levels.count("error") == 2
    skipped = {"file": "fixtures/models/tfk_weights_only.h5", "title": "RA901 not-auditable"}
    assert commands[8][:2] == ("warning", skipped)
    assert ("error", {"file": "tests/data/lfs_pointer.keras", "title": "RA902 git-lfs-pointer"}) == commands[9][:2]
    assert commands[-1][:2] == ("notice", {"title": "RA907 unused-suppression"})  # no file
    assert rendered("github", golden_result, fail_on=None) == rendered("github", golden_result)


def test_github_escaping():
    path = "models/a:b,c%.keras"
    text = rendered("github", _result(_artifact(path, [_finding(layer=NASTY, message="50%\r\ndone")])))
    assert text.count("\n") == 1  # one command, however many line breaks the names hold
    # Line breaks and control characters are shown as escapes, then encoded as @actions/core does.
    assert text == (
        "::error file=models/a%3Ab%2Cc%25.keras,title=RA301 unregistered-custom-regularizer::"
        "blk:1,a|b`c\\n::error::pwned %250A @team\\x1b[31m kernel_regularizer: 50%25\\r\\ndone\n"
    )
    ((level, properties, message),) = _commands(text)
    assert properties["file"] == path
    assert message == f"{_escape.visible(NASTY)} kernel_regularizer: 50%\\r\\ndone"
    assert _escape.workflow_property("a:b,c\n") == "a%3Ab%2Cc\\n"
    assert _escape.workflow_data("a:b,c%") == "a:b,c%25"


# --- Markdown -------------------------------------------------------------------------------------


def _cells(row: str) -> int:
    return len(re.findall(r"(?<!\\)\|", row)) - 1


def test_markdown_summary_and_sections(golden_result):
    text = rendered("markdown", golden_result)
    lines = text.splitlines()
    assert lines[0] == "## regaudit: 1 input could not be read, 1 finding at or above error"
    assert "| `fixtures/models/k3_nested.keras` | audited | keras-zip | 3.15.1 | 7 of 9 | 0 | 3 | 2 |" in lines
    assert "| `tests/data/lfs_pointer.keras` | unreadable |  |  |  |  |  |  |" in lines
    assert "| configuration |  |  |  |  | 0 | 0 | 1 |" in lines  # the columns add up to the totals
    assert "| **6 artifacts** | 4 audited, 1 skipped, 1 unreadable |  |  |  | 1 | 4 | 5 |" in lines
    # Findings at or above the gate open their block; the others stay folded.
    assert "<details open>\n<summary><code>fixtures/models/k3_origin_main_class.keras</code>: 1 finding" in text
    assert "<details>\n<summary><code>fixtures/models/k3_nested.keras</code>: 5 findings (3 warnings, 2 info)" in text
    assert "### Not audited" in text and "### Configuration" in text
    assert rendered("markdown", golden_result, fail_on=None).count("<details open>") == 0


def test_markdown_escapes_hostile_names(golden_result):
    text = rendered("markdown", golden_result)
    # The layer name is a code span (shown literally), the regularizer name in the message is escaped.
    assert f"| `{HOSTILE_LAYER}` |" in text
    assert text.count(HOSTILE_LAYER) == 1
    assert "registered custom regularizer &lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;:" in text
    assert "</script>" not in text


def test_markdown_keeps_hostile_text_inside_its_cell():
    message = "x | y\n\n# heading [link](http://e) *b* <b>"
    artifact = _artifact(NASTY, [_finding(layer=NASTY, argument="a`b", message=message)])
    text = rendered("markdown", _result(artifact))
    assert not any(line.startswith("#") and "heading" in line for line in text.splitlines())
    rows = [line for line in text.splitlines() if line.startswith("|")]
    tables = [rows[:4], rows[4:]]
    for table in tables:
        assert len({_cells(row) for row in table}) == 1, table
    summary = "<summary><code>blk:1,a|b`c\\n::error::pwned %0A @team\\x1b[31m</code>: 1 finding (1 error)</summary>"
    assert summary in text
    finding_row = tables[1][-1]
    assert "| ``a`b`` |" in finding_row
    # The backslash of each shown escape is itself escaped, so that Markdown shows it.
    assert "| x \\| y\\\\n\\\\n# heading \\[link\\](http:\u2060//e) \\*b\\* &lt;b&gt; |" in finding_row
    assert "`` blk:1,a\\|b`c\\n::error::pwned %0A @team\\x1b[31m ``" not in finding_row  # padding only when needed
    assert "``blk:1,a\\|b`c\\n::error::pwned %0A @team\\x1b[31m``" in finding_row


def test_markdown_code_spans():
    assert _escape.markdown_code("plain") == "`plain`"
    assert _escape.markdown_code("a``b") == "```a``b```"
    assert _escape.markdown_code("`edge") == "`` `edge ``"
    assert _escape.markdown_code("a|b\nc") == "`a\\|b\\nc`"


def test_markdown_outcome_lines():
    passing = _result(_artifact(findings=[_finding(severity=Severity.WARNING)]))
    assert rendered("markdown", passing).startswith("## regaudit: no finding at or above error\n")
    assert rendered("markdown", passing, fail_on=None).startswith("## regaudit: 1 finding, no gate\n")
    assert rendered("markdown", passing, fail_on=Severity.WARNING).startswith(
        "## regaudit: 1 finding at or above warning\n")
    skipped_only = _result(ArtifactResult("w.h5", Status.SKIPPED, error=Diagnostic("RA901", "weights only")))
    assert rendered("markdown", skipped_only).startswith("## regaudit: nothing was audited, no finding at or above")


def test_every_machine_format_renders_an_empty_run():
    empty = _result()
    assert json.loads(rendered("sarif", empty))["runs"][0]["results"] == []
    assert rendered("github", empty) == "::notice title=regaudit totals::0 artifacts (none); no findings\n"
    _, xml, _ = _junit(rendered("junit", empty))
    assert xml.tests == 0
    assert rendered("markdown", empty).startswith("## regaudit: nothing was audited")


def test_reporters_use_the_root_they_are_given(tmp_path):
    artifact = _artifact(str(tmp_path / "models" / "m.keras"), [_finding()])
    result = _result(artifact)
    for format_, expected in [("github", "file=models/m.keras,"), ("junit", 'name="models/m.keras"'),
                              ("markdown", "`models/m.keras`"), ("sarif", '"uri": "models/m.keras"')]:
        assert expected in _rendered_at(tmp_path, format_, result), format_
    assert str(tmp_path) not in _rendered_at(tmp_path, "sarif", result)


def test_junit_output_cannot_forge_a_gitlab_attachment_link():
    from regaudit.outcomes import ArtifactResult, AuditResult, Finding, Severity, Status

    result = AuditResult()
    finding = Finding("RA303", "function-regularizer", Severity.INFO, "[[ATTACHMENT|../../secrets.txt]]", None, "m")
    result.artifacts.append(ArtifactResult("m.keras", Status.OK, format="keras-zip", findings=[finding]))
    text = rendered("junit", result)
    assert "[[ATTACHMENT" not in text and "[ [ATTACHMENT|../../secrets.txt]]" in text


# --- platform limits ------------------------------------------------------------------------------


def _many(count: int, path: str = "models/m.keras", severity: Severity = Severity.ERROR, rule: str = "RA301"):
    return _artifact(path, [_finding(rule=rule, layer=f"layer_{i}", severity=severity) for i in range(count)])


def test_github_up_to_ten_annotations_per_level_are_one_per_finding():
    commands = _commands(rendered("github", _result(_many(10), _many(10, "models/n.keras", Severity.WARNING))))
    assert len(commands) == 20 and all(title != "regaudit totals" for _, p, _ in commands for title in [p["title"]])


def test_github_beyond_ten_annotations_groups_per_file_and_rule_and_ends_with_the_totals():
    result = _result(_many(12), _many(3, "models/n.keras", rule="RA302"), _many(4, "models/w.keras", Severity.WARNING))
    commands = _commands(rendered("github", result))
    errors = [(p["file"], p["title"], message) for level, p, message in commands if level == "error"]
    assert [(file, title) for file, title, _ in errors] == [
        ("models/m.keras", "RA301 unregistered-custom-regularizer (12 findings)"),
        ("models/n.keras", "RA302 unregistered-custom-regularizer (3 findings)"),
    ]
    assert errors[0][2].splitlines()[11] == "layer_11 kernel_regularizer: custom regularizer is unregistered"
    warnings = [level for level, _, _ in commands if level == "warning"]
    assert len(warnings) == 4  # 4 warnings fit: one annotation each
    level, properties, message = commands[-1]
    assert (level, properties) == ("notice", {"title": "regaudit totals"})
    assert message.startswith("3 artifacts (3 audited); 19 findings (15 errors, 4 warnings)")


def test_markdown_stays_within_githubs_comment_limit_and_says_it_was_cut():
    from regaudit.reporters.markdown import COMMENT_LIMIT

    result = _result(*[_many(40, f"models/m{i}.keras") for i in range(60)])
    text = rendered("markdown", result)
    assert len(text) <= COMMENT_LIMIT
    assert "This report was cut to fit GitHub's 65,536-character comment limit" in text
    assert text.count("<details") == text.count("</details>")  # no block is cut in half
    assert text.startswith("## regaudit: ") and "| **60 artifacts** |" in text
    small = rendered("markdown", _result(_many(2)))
    assert "was cut" not in small


def test_every_renderer_ends_with_a_newline(golden_result):
    from regaudit.reporters import FORMATS

    for format_ in FORMATS:
        for result in (golden_result, _result()):
            assert rendered(format_, result).endswith("\n"), format_


def test_sarif_gives_a_finding_of_no_check_a_descriptor_after_the_checks_and_keeps_the_order():
    # No audit makes one, but a hand-built result may: its rule is listed after every check (in
    # code order), and ruleIndex points at it, although the results before it were written first.
    result = _result(
        _artifact("a.keras", [_finding(), _finding(rule="RA903", name="corrupt-artifact", layer=None)]),
        _artifact("b.keras", [_finding(rule="RA901", name="not-auditable", layer=None), _finding(layer="e")]),
    )
    log = _sarif(result)
    rules = log["runs"][0]["tool"]["driver"]["rules"]
    checks = [rule for rule in rules if not rule["id"].startswith("RA9")]
    assert [rule["id"] for rule in rules[len(checks):]] == ["RA901", "RA903"]
    found = [(entry["ruleId"], rules[entry["ruleIndex"]]["id"]) for entry in log["runs"][0]["results"]]
    assert found == [("RA301", "RA301"), ("RA903", "RA903"), ("RA901", "RA901"), ("RA301", "RA301")]
    assert [list(entry)[:2] for entry in log["runs"][0]["results"]] == [["ruleId", "ruleIndex"]] * 4
