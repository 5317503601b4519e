"""Run an audit: find artifacts, read each into a tree, run the selected checks, collect results."""

from __future__ import annotations

import os
from typing import Iterable

from regaudit.catalog import Catalog, load_catalog
from regaudit.checks import Check, RuleContext, all_checks
from regaudit.config import Settings
from regaudit.loaders import Candidate, discover, load, should_report
from regaudit.loaders.problems import ArtifactProblem, OverLimits
from regaudit.outcomes import ArtifactResult, AuditResult, Diagnostic, Finding, Status
from regaudit.tree import ModelTree

INTERNAL_ERROR = "RA909"


def audit(paths: Iterable[str] | str, settings: Settings | None = None) -> AuditResult:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    settings = settings or Settings()
    catalog = load_catalog()
    checks = {code: function for code, function in all_checks().items() if code in catalog.rules}
    result = AuditResult()
    for candidate in discover(paths):
        artifact = audit_artifact(candidate, checks, catalog)
        if artifact is not None:
            result.artifacts.append(artifact)
    return result


def audit_artifact(candidate: Candidate, checks: dict[str, Check], catalog: Catalog) -> ArtifactResult | None:
    try:
        tree = load(candidate)
        findings = run_checks(tree, checks, catalog)
    except ArtifactProblem as problem:
        return _problem(candidate, problem) if should_report(candidate, problem) else None
    except RecursionError:
        return _problem(candidate, OverLimits("the config is nested too deeply to walk; refusing it"))
    except MemoryError:
        return _problem(candidate, OverLimits("reading the file ran out of memory; refusing it"))
    except Exception as error:  # a bug in regaudit: say so, for this artifact only
        return ArtifactResult(candidate.display, Status.ERROR, error=_internal_error(error))
    return ArtifactResult(
        candidate.display,
        Status.OK,
        format=tree.format,
        keras_version=tree.keras_version,
        tree=tree,
        findings=findings,
    )


def run_checks(tree: ModelTree, checks: dict[str, Check], catalog: Catalog) -> list[Finding]:
    findings = []
    for code, function in checks.items():
        rule = catalog.rules[code]
        for hit in function(tree, RuleContext()):
            findings.append(Finding(rule.code, rule.name, rule.severity, hit.layer, hit.argument, hit.message))
    order = {layer.path: index for index, layer in enumerate(tree.layers())}
    findings.sort(key=lambda f: (order.get(f.layer, -1) if f.layer is not None else -1, f.rule))
    return findings


def _problem(candidate: Candidate, problem: ArtifactProblem) -> ArtifactResult:
    return ArtifactResult(candidate.display, problem.status, error=problem.diagnostic)


def _internal_error(error: Exception) -> Diagnostic:
    if os.environ.get("REGAUDIT_DEBUG"):
        import traceback

        traceback.print_exc()
    detail = str(error).splitlines()[0] if str(error) else ""
    return Diagnostic(
        INTERNAL_ERROR,
        f"regaudit failed on this file ({type(error).__name__}: {detail}); this is a bug in "
        "regaudit, please report it (set REGAUDIT_DEBUG=1 for the traceback)",
    )
