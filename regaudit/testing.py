"""Run a rule on a snippet: the harness behind every case in rules/*.toml, public for rule authors."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from regaudit.catalog import Case, Expected, load_catalog
from regaudit.checks import Hit, RuleContext, all_checks
from regaudit.config import parse_options, settings_from
from regaudit.loaders.json_file import tree_from_document
from regaudit.outcomes import AuditResult
from regaudit.tree import ModelTree

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable, Mapping


def run_case(code: str, case: Case) -> list[Expected]:
    """What the catalog entry reports on the case, as (layer, argument) pairs in report order.

    A rule reports hits on the case's model; a diagnostic reports (None, None) for the file it
    refuses; a configuration entry reports its findings about the run.
    """
    rule = load_catalog().rule(code)
    if rule.is_check and case.file is None:
        return [Expected(hit.layer, hit.argument) for hit in case_hits(code, case)]
    result = audit_case(code, case)
    if rule.is_check:  # a rule about the file itself (its name): audited as a user would
        return [Expected(f.layer, f.argument) for artifact in result.artifacts for f in artifact.findings if f.rule == code]
    if rule.is_diagnostic:
        return [Expected(None, None) for artifact in result.artifacts if artifact.error and artifact.error.code == code]
    return [Expected(finding.layer, finding.argument) for finding in result.configuration if finding.rule == code]


def case_hits(code: str, case: Case) -> list[Hit]:
    """The rule's hits on the case's model, with the case's options as a configuration file gives them."""
    tree = _saved_model_tree(case.saved_model) if case.saved_model is not None else tree_from_document(case.document)
    if case.keras_version is not None:
        tree.keras_version = case.keras_version
    if case.format is not None:
        tree.format = case.format
    settings = _settings(code, case, case.options)
    evidence = None
    if case.weights is not None:
        from regaudit.evidence import from_values

        evidence = from_values(tree, case.weights, settings.near_zero)
    return list(all_checks()[code](tree, RuleContext(settings, evidence)))


def _saved_model_tree(entries: tuple) -> ModelTree:
    from regaudit.loaders.savedmodel import KerasObject, tree_from_objects

    return tree_from_objects(
        [KerasObject(node_id, entry["node_path"], entry["identifier"], entry["metadata"]) for node_id, entry in enumerate(entries)]
    )


def write_saved_model(directory: Path, entries: Iterable[Mapping[str, Any]]) -> None:
    """A SavedModel directory whose keras_metadata.pb holds `entries` ({node_path, identifier,
    metadata}), beside a saved_model.pb with one empty meta graph and an empty variables/."""
    from regaudit.loaders.savedmodel_proto import message_classes

    messages = message_classes()
    (directory / "variables").mkdir(parents=True, exist_ok=True)
    metadata = messages["SavedMetadata"]()
    for node_id, entry in enumerate(entries):
        text = entry["metadata"] if isinstance(entry["metadata"], str) else json.dumps(entry["metadata"])
        metadata.nodes.add(node_id=node_id, node_path=entry["node_path"], identifier=entry["identifier"], metadata=text)
    (directory / "keras_metadata.pb").write_bytes(metadata.SerializeToString())
    saved = messages["SavedModel"]()
    saved.meta_graphs.add()
    (directory / "saved_model.pb").write_bytes(saved.SerializeToString())


def audit_case(code: str, case: Case) -> AuditResult:
    """Write the case's file (and baseline) to a temporary folder and audit it as a user would."""
    from regaudit.engine import audit

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / (case.file or "model.json")
        if case.saved_model is not None:
            write_saved_model(path, case.saved_model)
        elif case.content is not None:
            path.write_text("".join(text * count for text, count in case.content), encoding="utf-8")
        elif case.document is not None:
            path.write_text(json.dumps(case.document), encoding="utf-8")
        options = dict(case.options)
        if case.baseline is not None:
            (Path(folder) / "baseline.json").write_text(json.dumps(case.baseline), encoding="utf-8")
            options["baseline"] = str(Path(folder) / "baseline.json")
        return audit([str(path)], _settings(code, case, options))


def _settings(code: str, case: Case, options: dict):
    catalog = load_catalog()
    return settings_from(parse_options(options, known_code=catalog.is_selector, origin=f"{code} case {case.title!r}"))
