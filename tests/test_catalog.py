"""The rule catalog: complete, self-documenting, tested by its own cases, and codes are forever."""

from __future__ import annotations

import re

import pytest

from conftest import ROOT
from regaudit.catalog import catalog_dir, load_catalog
from regaudit.checks import all_checks
from regaudit.testing import run_case

CATALOG = load_catalog()
RULES = [rule for rule in CATALOG.rules.values() if rule.is_check]
# RA909 reports a bug in regaudit, so no input can make it fire on purpose; tests/test_engine.py
# makes it fire by breaking a check.
WITH_CASES = [rule for rule in CATALOG.rules.values() if rule.code != "RA909"]
CASES = [(rule.code, index, case) for rule in WITH_CASES for index, case in enumerate(rule.cases)]


def test_catalog_is_read_from_the_top_level_rules_folder_in_a_checkout():
    assert catalog_dir() == ROOT / "rules"


def test_codes_are_unique_well_formed_and_match_file_names():
    names = [rule.name for rule in CATALOG.rules.values()]
    assert len(set(names)) == len(names)
    for path in sorted((ROOT / "rules").glob("RA*.toml")):
        rule = CATALOG.rules[path.stem]
        assert re.fullmatch(r"RA\d{3}", rule.code)
        assert re.fullmatch(r"[a-z0-9.]+(-[a-z0-9.]+)*", rule.name)  # the issue names RA404 "...-2.1.4"


def test_every_rule_has_logic_and_every_check_is_in_the_catalog():
    assert set(all_checks()) == {rule.code for rule in RULES}


def test_diagnostics_and_configuration_findings_are_the_nine_hundreds():
    assert all(rule.code.startswith("RA9") == (not rule.is_check) for rule in CATALOG.rules.values())
    assert {rule.kind for rule in CATALOG.rules.values()} <= {"rule", "diagnostic", "configuration"}


@pytest.mark.parametrize("rule", CATALOG.rules.values(), ids=lambda rule: rule.code)
def test_every_rule_documents_itself(rule):
    assert rule.summary and "\n" not in rule.summary and len(rule.summary) <= 90
    for section in (rule.what, rule.why, rule.fix):
        assert len(section.split()) >= 8


@pytest.mark.parametrize("rule", WITH_CASES, ids=lambda rule: rule.code)
def test_every_rule_has_a_case_that_fires_and_one_that_does_not(rule):
    assert any(case.fires for case in rule.cases), f"{rule.code}: no case where it fires"
    assert any(not case.fires for case in rule.cases), f"{rule.code}: no case where it stays quiet"


@pytest.mark.parametrize("code, index, case", CASES, ids=[f"{code}-{index}" for code, index, _ in CASES])
def test_rule_case(code, index, case):
    assert run_case(code, case) == list(case.fires), case.title


def test_released_codes_never_disappear():
    """Every code the CHANGELOG ever announced is still in the catalog, or listed as retired."""
    changelog = (ROOT / "CHANGELOG.md").read_text()
    announced = set(re.findall(r"\bRA\d{3}\b", changelog))
    assert announced, "CHANGELOG.md names no rule codes"
    missing = announced - set(CATALOG.rules) - set(CATALOG.retired)
    assert not missing, f"codes announced in CHANGELOG.md but neither in rules/ nor retired: {sorted(missing)}"
    assert not set(CATALOG.retired) & set(CATALOG.rules), "a retired code was reused"


def test_readme_rule_table_is_current():
    import io

    from regaudit.reporters.explain import rule_list

    generated = io.StringIO()
    rule_list(CATALOG, "markdown", generated)
    readme = (ROOT / "README.md").read_text()
    block = readme.split("<!-- rules:start", 1)[1].split("-->", 1)[1].split("<!-- rules:end -->", 1)[0]
    assert block.strip() == generated.getvalue().strip(), "run `regaudit rules --format markdown` into README.md"


def test_an_audit_reads_code_name_and_severity_from_the_head_of_each_rule_file_as_toml_does(tmp_path):
    fresh = type(CATALOG)(catalog_dir())
    for code in CATALOG.codes:
        brief = fresh.brief(code)
        assert code not in fresh._parsed  # read from the file's head, not from a full parse
        rule = CATALOG.rule(code)
        assert brief == (rule.code, rule.name, rule.severity)
    # A file whose head is not plain `key = "text"` lines is parsed in full instead.
    (tmp_path / "RA999.toml").write_text(
        (catalog_dir() / "RA101.toml").read_text().replace('name = "noop-regularizer"', "name = 'noop-regularizer'")
    )
    odd = type(CATALOG)(tmp_path)
    assert odd.brief("RA999") == (CATALOG.rule("RA101").code, "noop-regularizer", CATALOG.rule("RA101").severity)
    assert "RA999" in odd._parsed
