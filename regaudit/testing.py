"""Run a rule on a snippet: the harness behind every case in rules/*.toml, public for rule authors."""

from __future__ import annotations

from regaudit.catalog import Case, Expected
from regaudit.checks import RuleContext, all_checks
from regaudit.loaders.json_file import tree_from_document


def run_case(code: str, case: Case) -> list[Expected]:
    """What the rule reports on the case's model, as (layer, argument) pairs in report order."""
    tree = tree_from_document(case.document)
    if case.keras_version is not None:
        tree.keras_version = case.keras_version
    check = all_checks()[code]
    return [Expected(hit.layer, hit.argument) for hit in check(tree, RuleContext(options=case.options))]
