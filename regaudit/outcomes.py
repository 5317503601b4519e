"""Typed outcomes of an audit: findings, per-artifact results and the exit code they lead to."""

from __future__ import annotations

from enum import Enum, IntEnum

from regaudit._namedtuple import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable
    from regaudit.evidence import Evidence
    from regaudit.tree import ModelTree


class ExitCode(IntEnum):
    """What `regaudit check` exits with; documented in the README."""

    OK = 0  # nothing at or above --fail-on
    FINDINGS = 1  # findings at or above --fail-on
    USAGE = 2  # bad command line or configuration
    UNREADABLE = 3  # an input could not be read, or nothing at all was auditable


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"
    INFO = "info"

    @property
    def rank(self) -> int:
        return _SEVERITY_RANK[self]


_SEVERITY_RANK = {Severity.INFO: 1, Severity.WARNING: 2, Severity.ERROR: 3}


class Status(str, Enum):
    OK = "ok"  # audited
    SKIPPED = "skipped"  # a Keras artifact with nothing to audit (weights only, graph model, ...)
    ERROR = "error"  # could not be read: corrupt, hostile, not a model


class Finding(NamedTuple):
    rule: str  # RA301
    name: str  # unregistered-custom-regularizer
    severity: Severity
    layer: str | None  # layer path, None for model-level findings
    argument: str | None  # the config key, e.g. kernel_regularizer
    message: str


class Diagnostic(NamedTuple):
    """Why an artifact was skipped or could not be read: a code from the RA9xx family."""

    code: str
    message: str


class _SeverityCounts:
    findings: Iterable[Finding]

    def count(self, severity: Severity) -> int:
        return sum(1 for finding in self.findings if finding.severity is severity)

    def severity_counts(self) -> dict[Severity, int]:
        return {severity: self.count(severity) for severity in Severity}


class ArtifactResult(_SeverityCounts):
    def __init__(
        self,
        path: str,
        status: Status,
        *,
        format: str | None = None,
        keras_version: str | None = None,
        error: Diagnostic | None = None,
        tree: "ModelTree | None" = None,
        findings: list[Finding] | None = None,
        evidence: "Evidence | None" = None,
    ) -> None:
        self.path = path  # as given, or as found under a given directory
        self.status = status
        self.format = format
        self.keras_version = keras_version
        self.error = error
        self.tree = tree
        self.findings: list[Finding] = findings or []
        self.evidence = evidence  # what the stored weights show, with --weights; None without
        self.suppressed = 0  # findings hidden by per-file/per-layer ignores or the baseline
        # This artifact's part of each report, rendered by a worker process; its tree and
        # evidence are then left out (see regaudit.engine.Audit).
        self.pieces: tuple | None = None


_CONFIGURED = object()  # exit_code()'s default: the fail-on of the run's configuration


class RunTotals:
    """What the end of a report needs from a whole run, counted as each artifact goes by, so that
    the artifacts themselves need not be kept: how many there were of each status, the findings
    per severity and the rules that fired (artifacts' findings and the run's configuration
    findings together), the configuration findings themselves, and the gate.

    The engine's streaming audit (`regaudit.engine.Audit`) fills one as the run goes; a finished
    AuditResult gives its own with `AuditResult.totals()`.
    """

    def __init__(self, fail_on: Severity | None = Severity.ERROR) -> None:
        self.artifacts = 0
        self.statuses = dict.fromkeys(Status, 0)
        self._artifact_severities = dict.fromkeys(Severity, 0)
        self.rules: set[str] = set()  # codes of the artifacts' findings
        # Findings about the run's own configuration: unused suppressions, stale baseline entries.
        self.configuration: list[Finding] = []
        # The configured gate (`fail-on`); None is "never".
        self.fail_on = fail_on

    def add(self, artifact: ArtifactResult) -> None:
        self.artifacts += 1
        self.statuses[artifact.status] += 1
        for finding in artifact.findings:
            self._artifact_severities[finding.severity] += 1
            self.rules.add(finding.rule)

    def status_count(self, status: Status) -> int:
        return self.statuses[status]

    def severity_counts(self) -> dict[Severity, int]:
        """Findings per severity, in Severity's order: the artifacts' and the configuration's."""
        counts = dict(self._artifact_severities)
        for finding in self.configuration:
            counts[finding.severity] += 1
        return counts

    def failing(self, gate: Severity | None) -> int:
        """How many findings are at or above the gate."""
        if gate is None:
            return 0
        return sum(count for severity, count in self.severity_counts().items() if severity.rank >= gate.rank)

    def exit_code(self, fail_on: "Severity | str | None" = _CONFIGURED, *, require_audit: bool = True) -> ExitCode:  # type: ignore[assignment]
        """The exit code `regaudit check` gives for this run.

        `fail_on` is a Severity, its name (`"error"`, `"warning"`, `"info"`), `"never"` or None
        (no finding fails the run); by default the configured `fail-on`. 3 wins over 1: a gate
        whose inputs were not all read must never look like a pass. `require_audit=False` (for
        --ignore-unknown) lets a run that audited nothing pass, as a pre-commit hook must when
        a commit touches no model. Raises ValueError for any other `fail_on`.
        """
        gate = self.fail_on if fail_on is _CONFIGURED else _gate(fail_on)
        if self.statuses[Status.ERROR] or (require_audit and not self.statuses[Status.OK]):
            return ExitCode.UNREADABLE
        if self.failing(gate):
            return ExitCode.FINDINGS
        return ExitCode.OK


class AuditResult(_SeverityCounts):
    """Every artifact's result of a run, kept: what `regaudit.audit()` returns to library callers.

    The command line does not keep them (see `regaudit.engine.Audit`); a reporter renders either.
    """

    def __init__(self) -> None:
        self.artifacts: list[ArtifactResult] = []
        # Findings about the run's own configuration: unused suppressions, stale baseline entries.
        self.configuration: list[Finding] = []
        # The configured gate (`fail-on`), set by the audit; None is "never".
        self.fail_on: Severity | None = Severity.ERROR

    @property
    def findings(self) -> Iterable[Finding]:
        for artifact in self.artifacts:
            yield from artifact.findings
        yield from self.configuration

    def with_status(self, status: Status) -> list[ArtifactResult]:
        return [artifact for artifact in self.artifacts if artifact.status is status]

    def totals(self) -> RunTotals:
        """The run's totals, counted from the artifacts as they are now."""
        totals = RunTotals(self.fail_on)
        for artifact in self.artifacts:
            totals.add(artifact)
        totals.configuration = list(self.configuration)
        return totals

    def exit_code(self, fail_on: "Severity | str | None" = _CONFIGURED, *, require_audit: bool = True) -> ExitCode:  # type: ignore[assignment]
        """The exit code `regaudit check` gives for this result: see `RunTotals.exit_code`."""
        return self.totals().exit_code(fail_on, require_audit=require_audit)

    def failing(self, gate: Severity | None) -> int:
        """How many findings are at or above the gate."""
        return self.totals().failing(gate)


def _gate(fail_on: "Severity | str | None") -> Severity | None:
    if fail_on is None or fail_on == "never":
        return None
    try:
        return Severity(fail_on)
    except ValueError:
        raise ValueError(f"fail_on must be error, warning, info, never or None, not {fail_on!r}") from None
