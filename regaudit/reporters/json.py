"""The JSON report: the machine contract, versioned by `schema_version` (see report.schema.json)."""

from __future__ import annotations

import math

from regaudit import __version__, reporters
from regaudit.outcomes import ArtifactResult, Finding, RunTotals, Severity, Status
from regaudit.reporters import _json_text as json_text
from regaudit.reporters._escape import json_for_logs
from regaudit.tree import Layer, Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO
    from regaudit.evidence import Evidence, WeightStats

SCHEMA_VERSION = 1


class Reporter(reporters.Reporter):
    """The document written as the run goes: its head, each artifact's object as it arrives, then
    the configuration findings and the summary. The bytes are those of `json.dumps(document,
    indent=2)` of the whole document: each artifact's object is dumped alone, indented to its
    depth in the `artifacts` list (`_json_text.dumps`, which writes what json.dumps writes)."""

    def begin(self) -> None:
        head = _dumps({"schema_version": SCHEMA_VERSION, "tool": {"name": "regaudit", "version": __version__}})
        self.stream.write(head[: -len("\n}")] + ',\n  "artifacts": [')
        self.written = 0

    def piece(self, artifact: ArtifactResult) -> str:
        # One string per artifact: json.dump would write every token separately, which costs
        # more than encoding them (bench/RESULTS.md).
        return _ITEM_DEPTH * "  " + _dumps(_artifact(artifact), _ITEM_DEPTH)

    def artifact(self, artifact: ArtifactResult, piece: str | None = None) -> None:
        self.stream.write(("\n" if not self.written else ",\n") + (self.piece(artifact) if piece is None else piece))
        self.written += 1

    def end(self, totals: RunTotals) -> None:
        tail = _dumps({
            "configuration": [_finding(finding) for finding in totals.configuration],
            "summary": {
                "artifacts": totals.artifacts,
                **{status.value: totals.status_count(status) for status in Status},
                "findings": _severity_counts(totals),
            },
        })
        self.stream.write(("\n  ]" if self.written else "]") + ",\n" + tail[len("{\n"):] + "\n")


_ITEM_DEPTH = 2  # an artifact's object, inside the document's `artifacts` list


def _dumps(value: Any, depth: int = 0) -> str:
    return json_for_logs(json_text.dumps(value, depth, allow_nan=False))


def _artifact(artifact: ArtifactResult) -> dict[str, Any]:
    tree = artifact.tree
    coverage = tree.coverage() if tree is not None else None
    evidence = artifact.evidence
    return {
        "path": artifact.path,
        "format": artifact.format,
        "keras_version": artifact.keras_version,
        "status": artifact.status.value,
        "error": {"code": artifact.error.code, "message": artifact.error.message} if artifact.error else None,
        "layers": [_layer(layer, evidence) for layer in tree.layers()] if tree is not None else [],
        "findings": [_finding(finding) for finding in artifact.findings],
        "summary": {
            "layers": coverage.layers if coverage else 0,
            "weight_bearing_layers": coverage.weight_bearing if coverage else 0,
            "covered_layers": coverage.covered if coverage else 0,
            "regularizers": coverage.regularizers if coverage else 0,
            "findings": _severity_counts(artifact),
            "suppressed": artifact.suppressed,
            "weight_penalty": _weight_penalty(evidence) if evidence is not None else None,
        },
    }


def _layer(layer: Layer, evidence: Evidence | None) -> dict[str, Any]:
    return {
        "path": layer.path,
        "name": layer.name,
        "class_name": layer.class_name,
        "kind": layer.kind.value,
        "trainable": layer.trainable,
        "weight_bearing": layer.is_weight_bearing,
        "regularizers": [
            {**_regularizer(regularizer), "evidence": _slot_evidence(layer, regularizer, evidence)}
            for regularizer in layer.regularizers
        ],
        "weights": [_weight(weight) for weight in evidence.weights.get(layer.path, ())] if evidence else None,
    }


def _regularizer(regularizer: Regularizer) -> dict[str, Any]:
    return {
        "slot": regularizer.slot,
        "argument": regularizer.argument,
        "class_name": regularizer.class_name,
        "factors": {name: _number(value) for name, value in regularizer.factors.items()},
        "options": {name: _plain(value) for name, value in regularizer.options.items()},
        "origin": regularizer.origin.value,
        "module": regularizer.module,
        "registered_name": regularizer.registered_name,
    }


def _slot_evidence(layer: Layer, regularizer: Regularizer, evidence: Evidence | None) -> dict[str, Any] | None:
    slot = evidence.slots.get((layer.path, regularizer.slot)) if evidence is not None else None
    return {"penalty": slot.penalty, "reason": slot.reason} if slot is not None else None


def _weight(weight: WeightStats) -> dict[str, Any]:
    # Statistics of a weight whose values were not read are null, beside the reason.
    read = weight.reason is None
    return {
        "name": weight.name,
        "slot": weight.slot,
        "mapped": weight.mapped,
        "shape": list(weight.shape),
        "dtype": weight.dtype,
        **{name: _number(getattr(weight, name)) if read else None for name in ("sum_abs", "sum_squares", "max_abs")},
        **{name: getattr(weight, name) if read else None for name in ("zero_fraction", "near_zero_fraction")},
        "nonfinite": weight.nonfinite,
        "reason": weight.reason,
    }


def _weight_penalty(evidence: Evidence) -> dict[str, Any]:
    return {
        "sum": evidence.total_penalty,
        "not_computed": evidence.not_computed,
        "unmapped_weights": sum(1 for _, weight in evidence.all_weights() if not weight.mapped),
        "source": evidence.source,
        "reason": evidence.problem,
    }


def _finding(finding: Finding) -> dict[str, Any]:
    return {
        "rule": finding.rule,
        "name": finding.name,
        "severity": finding.severity.value,
        "layer": finding.layer,
        "argument": finding.argument,
        "message": finding.message,
    }


def _severity_counts(source: RunTotals | ArtifactResult) -> dict[str, int]:
    return {severity.value: count for severity, count in source.severity_counts().items()}


def _plain(value: Any) -> Any:
    """An option as JSON can hold it: nested values kept, non-finite numbers spelled out."""
    if isinstance(value, float):
        return _number(value)
    if isinstance(value, dict):
        return {str(key): _plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(item) for item in value]
    return value


def _number(value: float) -> float | str:
    # JSON has no NaN or infinity; a hand-edited factor can be either, so it is spelled out.
    return value if math.isfinite(value) else str(value)
