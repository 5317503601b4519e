"""Golden files for the text and JSON reports, rendered from the shared golden audit."""

import json

import jsonschema

from conftest import ROOT, assert_golden, rendered

SCHEMA = json.loads((ROOT / "regaudit" / "reporters" / "report.schema.json").read_text())


def test_text_report_golden(golden_result):
    text = rendered("text", golden_result)
    assert_golden("report.txt", text)
    # Off a terminal the report fits 100 columns: prose and table cells wrap, nothing is cut.
    assert all(len(line) <= 100 for line in text.splitlines() if not line.startswith("fixtures/"))
    assert "…" not in text


def test_json_report_golden_and_schema(golden_result):
    document = rendered("json", golden_result)
    assert_golden("report.json", document)
    report = json.loads(document)
    jsonschema.validate(report, SCHEMA, cls=jsonschema.Draft202012Validator)
    assert [a["status"] for a in report["artifacts"]] == ["ok", "ok", "ok", "skipped", "error", "ok"]
    assert [f["rule"] for f in report["configuration"]] == ["RA907"]


def test_colour_codes_only_when_asked(golden_result):
    assert "\x1b[" not in rendered("text", golden_result)
    coloured = rendered("text", golden_result, color=True)
    assert "\x1b[31merror  \x1b[0m" in coloured  # severity in red
