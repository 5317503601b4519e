"""Run a rule on a snippet: the harness behind every case in rules/*.toml, public for rule authors."""

from __future__ import annotations

from regaudit.catalog import Case, Expected, load_catalog
from regaudit.checks import Hit, RuleContext, all_checks
from regaudit.config import parse_options, settings_from
from regaudit.loaders.json_file import tree_from_document


def run_case(code: str, case: Case) -> list[Expected]:
    """What the rule reports on the case's model, as (layer, argument) pairs in report order."""
    return [Expected(hit.layer, hit.argument) for hit in case_hits(code, case)]


def case_hits(code: str, case: Case) -> list[Hit]:
    """The rule's hits on the case's model, with the case's options as a configuration file gives them."""
    tree = tree_from_document(case.document)
    if case.keras_version is not None:
        tree.keras_version = case.keras_version
    catalog = load_catalog()
    options = parse_options(case.options, known_code=catalog.is_selector, origin=f"{code} case {case.title!r}")
    return list(all_checks()[code](tree, RuleContext(settings_from(options))))
