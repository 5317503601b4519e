"""The JSON diff report: the machine contract of `regaudit diff`, versioned by `schema_version`
(see diff.schema.json). Regularizers and findings have the shapes of the check report's."""

from __future__ import annotations

import json

from regaudit import __version__
from regaudit.diff import ArtifactDiff, DiffResult, LayerChange, SlotChange
from regaudit.outcomes import ArtifactResult
from regaudit.reporters._diff import Row, rows, slot_verdict
from regaudit.reporters.json import _finding, _number, _regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, TextIO

SCHEMA_VERSION = 1


def render(result: DiffResult, context: Any, stream: TextIO) -> None:
    json.dump(document(result), stream, indent=2, allow_nan=False)
    stream.write("\n")


def document(result: DiffResult) -> dict[str, Any]:
    failing = {id(row.slot) for row in rows(result) if row.fails_gate}
    gate = result.gate
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "regaudit", "version": __version__},
        "gate": {
            "fail_on": gate.fail_on.value if gate.fail_on is not None else None,
            "fail_on_removed": gate.fail_on_removed,
            "max_weakening": gate.max_weakening,
            "exit_code": int(result.exit_code()),
        },
        "artifacts": [_artifact(artifact, failing) for artifact in result.artifacts],
        "summary": _summary(result),
    }


def _artifact(artifact: ArtifactDiff, failing: set[int]) -> dict[str, Any]:
    return {
        "key": artifact.key,
        "status": artifact.status,
        "old": _side(artifact.old),
        "new": _side(artifact.new),
        "matching": {how.value: count for how, count in artifact.matched.items()},
        "layers": [_layer(layer, failing) for layer in artifact.layers],
        "findings": {
            "introduced": [_finding(finding) for finding in artifact.introduced],
            "resolved": [_finding(finding) for finding in artifact.resolved],
        },
    }


def _side(side: ArtifactResult | None) -> dict[str, Any] | None:
    if side is None:
        return None
    error = side.error
    return {
        "path": side.path,
        "status": side.status.value,
        "format": side.format,
        "keras_version": side.keras_version,
        "error": {"code": error.code, "message": error.message} if error is not None else None,
    }


def _layer(layer: LayerChange, failing: set[int]) -> dict[str, Any]:
    return {
        "change": "added" if layer.old is None else "removed" if layer.new is None else "matched",
        "old_path": layer.old.path if layer.old is not None else None,
        "new_path": layer.new.path if layer.new is not None else None,
        "old_class_name": layer.old.class_name if layer.old is not None else None,
        "new_class_name": layer.new.class_name if layer.new is not None else None,
        "matched_by": layer.matched_by.value if layer.matched_by is not None else None,
        "weight_bearing": (layer.new or layer.old).is_weight_bearing,  # type: ignore[union-attr]
        "lost_all_regularization": layer.lost_all_regularization,
        "regularizers": [_slot(slot, id(slot) in failing) for slot in layer.slots],
    }


def _slot(slot: SlotChange, fails_gate: bool) -> dict[str, Any]:
    return {
        "slot": slot.slot,
        "change": slot.change.value,
        "verdict": slot_verdict(slot),
        "fields": list(slot.fields),
        "old": _regularizer(slot.old) if slot.old is not None else None,
        "new": _regularizer(slot.new) if slot.new is not None else None,
        "ratios": {name: _number(ratio) for name, ratio in slot.ratios.items()},
        "penalty": {"old": slot.penalty[0], "new": slot.penalty[1]} if slot.penalty is not None else None,
        "fails_gate": fails_gate,
    }


def _summary(result: DiffResult) -> dict[str, Any]:
    verdicts: dict[str, int] = {}
    found: list[Row] = rows(result)
    for row in found:
        verdicts[row.verdict] = verdicts.get(row.verdict, 0) + 1
    statuses: dict[str, int] = {}
    for artifact in result.artifacts:
        statuses[artifact.status] = statuses.get(artifact.status, 0) + 1
    return {
        "artifacts": statuses,
        "changes": verdicts,
        "lost_all_regularization": sum(
            1 for artifact in result.artifacts for layer in artifact.layers if layer.lost_all_regularization
        ),
        "removals_failing_gate": sum(1 for row in found if row.fails_gate),
        "findings_introduced": len(result.introduced),
        "findings_resolved": len(result.resolved),
    }
