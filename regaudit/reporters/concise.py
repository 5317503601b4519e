"""`--format concise`: one line per finding, one per input not audited, and a summary, as ruff's
concise output; what the pre-commit hook prints.

    models/a.keras:d: RA301 [unregistered-custom-regularizer] kernel_regularizer: custom ...
    models/a.keras: RA202 [double-weight-decay] optimizer AdamW(weight_decay=0.004) decays ...
    models/w.h5: RA901 [not-auditable] skipped: weights-only HDF5 (written by save_weights) ...
    models/bad.keras: RA903 [corrupt-artifact] unreadable: not a zip archive ...
    (configuration): RA907 [unused-suppression] per-layer-ignores: ...
    3 artifacts (1 audited, 1 skipped, 1 unreadable); 2 findings (1 error, 1 warning)
    failed: 1 input could not be read; 1 finding at or above error

The place is the artifact's path, then the layer path for a finding about one layer. With
`context.quiet` only finding lines and unreadable inputs are printed (no skipped inputs, no
summary). Every line passes through `_escape.log_text`: line breaks and other control characters
in names are shown as escapes, so that every entry is one line, and no name forms a GitHub
Actions workflow command in the CI log the hook writes to.
"""

from __future__ import annotations

from regaudit import reporters
from regaudit.outcomes import ArtifactResult, Finding, RunTotals, Status
from regaudit.reporters._escape import log_text
from regaudit.reporters._summary import STATUS_WORDS, summary_parts, verdict_line

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

CONFIGURATION = "(configuration)"


class Reporter(reporters.Reporter):
    def piece(self, artifact: ArtifactResult) -> str:
        lines = []
        if artifact.error is not None and not (self.context.quiet and artifact.status is Status.SKIPPED):
            lines.append(_input_line(artifact, self.context))
        lines += [finding_line(artifact.path, finding) for finding in artifact.findings]
        return "".join(line + "\n" for line in lines)

    def end(self, totals: RunTotals) -> None:
        lines = [finding_line(CONFIGURATION, finding) for finding in totals.configuration]
        if not self.context.quiet:
            lines.append("; ".join(summary_parts(totals)))
            verdict = verdict_line(totals, self.context)
            if verdict:
                lines.append(verdict)
        self.stream.write("".join(line + "\n" for line in lines))


def finding_line(path: str, finding: Finding) -> str:
    """`path:layer: RA301 [name] argument: message`."""
    where = f"{path}:{finding.layer}" if finding.layer else path
    argument = f"{finding.argument}: " if finding.argument else ""
    return _one_line(f"{where}: {finding.rule} [{finding.name}] {argument}{finding.message}")


def _input_line(artifact: ArtifactResult, context: Any) -> str:
    assert artifact.error is not None
    described = context.catalog.get(artifact.error.code)
    name = f" [{described.name}]" if described is not None else ""
    status = STATUS_WORDS[artifact.status]
    return _one_line(f"{artifact.path}: {artifact.error.code}{name} {status}: {artifact.error.message}")


def _one_line(text: str) -> str:
    return log_text(text)
