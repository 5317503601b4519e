"""Run an audit: find artifacts, read each into a tree, run the selected checks, then apply the
user's severities, ignores and baseline. Configuration is resolved before this point."""

from __future__ import annotations

import os
from typing import Iterable

from regaudit.catalog import Catalog, load_catalog
from regaudit.checks import Check, Hit, RuleContext, all_checks
from regaudit.config import Settings
from regaudit.loaders import Candidate, discover, load, should_report
from regaudit.loaders.problems import ArtifactProblem, OverLimits
from regaudit.outcomes import ArtifactResult, AuditResult, Diagnostic, Finding, Status
from regaudit.selection import RuleSelection
from regaudit.suppression import Baseline, Ignores, Stale
from regaudit.tree import ModelTree

INTERNAL_ERROR = "RA909"


def audit(paths: Iterable[str] | str, settings: Settings | None = None) -> AuditResult:
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    settings = settings or Settings()
    run = _Run(settings, load_catalog())
    result = AuditResult()
    for candidate in discover(paths):
        artifact = run.audit_artifact(candidate)
        if artifact is not None:
            result.artifacts.append(artifact)
    result.configuration = run.configuration_findings()
    return result


class _Run:
    def __init__(self, settings: Settings, catalog: Catalog) -> None:
        self.catalog = catalog
        self.selection = RuleSelection(settings, catalog)
        self.context = RuleContext(settings)
        self.checks: dict[str, Check] = {
            code: check for code, check in all_checks().items() if code in catalog.codes and self.selection.enabled(code)
        }
        self.ignores = Ignores(settings, catalog)
        self.baseline = Baseline.read(settings.baseline) if settings.baseline else None

    def audit_artifact(self, candidate: Candidate) -> ArtifactResult | None:
        try:
            tree = load(candidate)
            findings = self.run_checks(tree)
        except ArtifactProblem as problem:
            return _problem(candidate, problem) if should_report(candidate, problem) else None
        except RecursionError:
            return _problem(candidate, OverLimits("the config is nested too deeply to walk; refusing it"))
        except MemoryError:
            return _problem(candidate, OverLimits("reading the file ran out of memory; refusing it"))
        except Exception as error:  # a bug in regaudit: say so, for this artifact only
            return ArtifactResult(candidate.display, Status.ERROR, error=_internal_error(error))
        artifact = ArtifactResult(
            candidate.display, Status.OK, format=tree.format, keras_version=tree.keras_version, tree=tree,
            findings=findings,
        )
        self.suppress(artifact)
        return artifact

    def run_checks(self, tree: ModelTree) -> list[Finding]:
        findings = [self.finding(code, hit) for code, check in self.checks.items() for hit in check(tree, self.context)]
        order = {layer.path: index for index, layer in enumerate(tree.layers())}
        return sorted(findings, key=lambda f: (order.get(f.layer, -1) if f.layer is not None else -1, f.rule))

    def finding(self, code: str, hit: Hit) -> Finding:
        rule = self.catalog.rule(code)
        severity = self.selection.severity(code, hit.severity or rule.severity)
        return Finding(rule.code, rule.name, severity, hit.layer, hit.argument, hit.message)

    def suppress(self, artifact: ArtifactResult) -> None:
        total = len(artifact.findings)
        artifact.findings = self.ignores.filter(artifact)
        if self.baseline is not None:
            artifact.findings = self.baseline.filter(artifact)
        artifact.suppressed = total - len(artifact.findings)

    def configuration_findings(self) -> list[Finding]:
        stale: list[Stale] = self.ignores.stale() + (self.baseline.stale() if self.baseline else [])
        return [
            self.finding(entry.code, Hit(None, entry.argument, entry.message))
            for entry in stale
            if self.selection.enabled(entry.code)
        ]


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
