"""What the reports show of the weight evidence (--weights): each regularized slot's penalty or
the reason it has none and each layer's share of the total (text and HTML), and the numbers an
RA6xx finding rests on (SARIF result properties)."""

from __future__ import annotations

from regaudit._namedtuple import NamedTuple
from regaudit.describe import regularizer_label
from regaudit.reporters._summary import slot_rank

TYPE_CHECKING = False
if TYPE_CHECKING:
    from regaudit.evidence import Evidence, SlotEvidence
    from regaudit.outcomes import Finding
    from regaudit.tree import ModelTree


class SlotPenalty(NamedTuple):
    layer: str
    slot: str
    regularizer: str  # as the text report labels it: L2(l2=0.01)
    penalty: float | None
    reason: str | None
    counted: bool  # False where Keras leaves the term out of the loss (a frozen layer in Keras 3)


class LayerShare(NamedTuple):
    layer: str
    penalty: float
    share: float  # of the artifact's total counted penalty, 0..1


class EvidenceView(NamedTuple):
    total: float
    not_computed: int
    problem: str | None
    slots: list[SlotPenalty]
    shares: list[LayerShare]  # largest first; layers whose counted penalty is 0 are left out


def penalty_cell(slot: "SlotEvidence | None") -> str:
    """The penalty Keras adds (4 significant digits), marked "frozen" where Keras leaves it out, or "n/a"."""
    if slot is None or slot.penalty is None:
        return "n/a"
    return f"{slot.penalty:.4g}" + ("" if slot.counted else " frozen")


def evidence_view(tree: "ModelTree", evidence: "Evidence") -> EvidenceView:
    slots = [
        SlotPenalty(layer.path, regularizer.slot, regularizer_label(regularizer), entry.penalty, entry.reason,
                    entry.counted)
        for layer in tree.layers()
        for regularizer in sorted(layer.regularizers, key=slot_rank)
        if (entry := evidence.slots.get((layer.path, regularizer.slot))) is not None
    ]
    total = evidence.total_penalty
    per_layer: dict[str, float] = {}
    for slot in slots:
        if slot.penalty is not None and slot.counted:
            per_layer[slot.layer] = per_layer.get(slot.layer, 0.0) + slot.penalty
    shares = [LayerShare(layer, value, value / total) for layer, value in per_layer.items() if value > 0 and total > 0]
    shares.sort(key=lambda share: -share.penalty)
    return EvidenceView(total, evidence.not_computed, evidence.problem, slots, shares)


def cited_evidence(tree: "ModelTree | None", evidence: "Evidence | None", finding: "Finding") -> dict | None:
    """The evidence an RA6xx finding rests on, for SARIF result properties: the slot's penalty
    and the statistics of the weights it names (the whole layer's for a finding on no slot)."""
    if tree is None or evidence is None or finding.layer is None or not finding.rule.startswith("RA6"):
        return None
    from regaudit.reporters.json import _weight

    layer = next((layer for layer in tree.layers() if layer.path == finding.layer), None)
    slot = next((r.slot for r in layer.regularizers if r.argument == finding.argument), None) if layer else None
    entry = evidence.slots.get((finding.layer, slot)) if slot is not None else None
    weights = [w for w in evidence.weights.get(finding.layer, ()) if slot is None or w.slot == slot]
    return {
        "slot": slot,
        "penalty": entry.penalty if entry is not None else None,
        "weights": [_weight(weight) for weight in weights],
    }
