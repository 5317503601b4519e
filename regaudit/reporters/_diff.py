"""Wording shared by the diff reports (text, JSON, Markdown, GitHub): what each change is called,
the order changes are listed in (what takes regularization away first), factor ratios, and the
one-sentence outcome."""

from __future__ import annotations

import math

from regaudit._namedtuple import NamedTuple
from regaudit.describe import factor, regularizer_label
from regaudit.diff import ArtifactDiff, Change, DiffResult, LayerChange, SlotChange
from regaudit.reporters._summary import plural

# Verdicts in the order a reviewer needs them: what takes regularization away comes first.
VERDICTS = (
    "removed", "weakened", "changed", "strengthened", "added", "layer removed", "layer added", "renamed", "respelled",
    "unchanged",  # with --weights only: the same regularizer, whose penalty moved
)


class Row(NamedTuple):
    """One line of a diff report: a slot change, or a layer-level change (slot is None)."""

    artifact: ArtifactDiff
    layer: LayerChange
    slot: SlotChange | None
    verdict: str
    fails_gate: bool


def rows(result: DiffResult) -> list[Row]:
    """Every change of every artifact, most important first (stable within a verdict)."""
    failing = {id(slot) for _, _, slot in result.removals()} if result.gate.fail_on_removed else set()
    found = []
    for artifact in result.artifacts:
        for layer in artifact.layers:
            if not layer.slots:
                found.append(Row(artifact, layer, None, layer_verdict(layer), False))
            for slot in layer.slots:
                found.append(Row(artifact, layer, slot, slot_verdict(slot), id(slot) in failing))
    return sorted(found, key=lambda row: (not row.fails_gate, VERDICTS.index(row.verdict)))


def slot_verdict(slot: SlotChange) -> str:
    if slot.change is Change.CHANGED:
        if slot.takes_penalty_away:
            return "removed"
        weaker, stronger = slot.weakening > 1, slot.strengthening > 1
        if weaker != stronger:
            return "weakened" if weaker else "strengthened"
        return "changed"
    return slot.change.value


def layer_verdict(layer: LayerChange) -> str:
    if layer.old is None:
        return "layer added"
    if layer.new is None:
        return "layer removed"
    return "renamed"


def ratio_text(slot: SlotChange) -> str:
    """`l2 x100`, `l2 /20`, `l1 -> 0`, `l2 from 0`; several joined by commas."""
    parts = []
    for name, ratio in slot.ratios.items():
        if ratio == 0:
            parts.append(f"{name} -> 0")
        elif math.isinf(ratio):
            parts.append(f"{name} from 0")
        elif ratio >= 1:
            parts.append(f"{name} x{factor(ratio)}")
        else:
            parts.append(f"{name} /{factor(1 / ratio)}")
    return ", ".join(parts)


def penalty_text(slot: SlotChange) -> str:
    """`penalty 0.00167 -> 0.165` at the stored weights: 0 on a side without the regularizer, `?`
    where it could not be computed."""
    assert slot.penalty is not None

    def spelled(value: float | None, regularizer) -> str:
        if regularizer is None:
            return "0"
        return factor(value) if value is not None else "?"

    return f"penalty {spelled(slot.penalty[0], slot.old)} -> {spelled(slot.penalty[1], slot.new)}"


def label(regularizer) -> str:
    return regularizer_label(regularizer) if regularizer is not None else "none"


def layer_place(layer: LayerChange) -> str:
    """`encoder`, or `fc1 -> encoder` for a layer renamed or moved."""
    if layer.renamed:
        assert layer.old is not None and layer.new is not None
        return f"{layer.old.path} -> {layer.new.path}"
    return layer.path


def describe(row: Row) -> str:
    """The change in one sentence, without the layer's place: for messages and table cells."""
    layer, slot = row.layer, row.slot
    if slot is None:
        how = f", matched by {layer.matched_by.value}" if layer.matched_by is not None else ""
        return f"({layer.class_name}{how})"
    text = f"{slot.slot}: {label(slot.new)}" if slot.change is Change.UNCHANGED else (
        f"{slot.slot}: {label(slot.old)} -> {label(slot.new)}")
    if slot.ratios:
        text += f" ({ratio_text(slot)})"
    if slot.change is Change.RESPELLED:
        text += ", the same penalty"
    if slot.penalty is not None:
        text += f"; {penalty_text(slot)}"
    if layer.lost_all_regularization and row.verdict == "removed":
        text += f"; {layer.class_name} {layer.path} has no weight regularizer left"
    return text


def outcome(result: DiffResult) -> str:
    """What decides the exit code, stated as facts."""
    facts = []
    unreadable = result.unreadable()
    if unreadable:
        facts.append(f"{plural(len(unreadable), 'artifact')} could not be read")
    gate = result.gate
    if gate.fail_on is None:
        facts.append(f"{plural(len(result.introduced), 'finding')} introduced, no gate")
    else:
        failing = len(result.failing_findings())
        facts.append(f"{plural(failing, 'finding') if failing else 'no finding'} introduced at or above {gate.fail_on.value}")
    removals = len(result.removals())
    if gate.fail_on_removed:
        weakening = f" or weakened over {factor(gate.max_weakening)}x" if gate.max_weakening is not None else ""
        facts.append(f"regularization removed{weakening} on {plural(removals, 'slot')}")
    return ", ".join(facts)


def summary(result: DiffResult) -> str:
    """`2 artifacts compared (1 changed, 1 unchanged); 3 regularizer changes (1 removed, ...); ...`."""
    statuses: dict[str, int] = {}
    for artifact in result.artifacts:
        statuses[artifact.status] = statuses.get(artifact.status, 0) + 1
    artifacts = f"{plural(len(result.artifacts), 'artifact')} compared ({', '.join(f'{n} {s}' for s, n in statuses.items()) or 'none'})"
    verdicts: dict[str, int] = {}
    for row in rows(result):
        if row.slot is not None:
            verdicts[row.verdict] = verdicts.get(row.verdict, 0) + 1
    total = sum(verdicts.values())
    changes = plural(total, "regularizer change") + (f" ({', '.join(f'{n} {v}' for v, n in verdicts.items())})" if total else "")
    lost = sum(1 for artifact in result.artifacts for layer in artifact.layers if layer.lost_all_regularization)
    parts = [artifacts, changes]
    if lost:
        parts.append(f"{plural(lost, 'layer')} lost all weight regularization")
    parts.append(f"{plural(len(result.introduced), 'finding')} introduced, {len(result.resolved)} resolved")
    return "; ".join(parts)


def matching(artifact: ArtifactDiff) -> str:
    """`4 layers matched by path, 1 by position`."""
    if not artifact.matched:
        return "no layers matched"
    parts = [f"{count} by {how.value}" for how, count in sorted(artifact.matched.items(), key=lambda item: list(type(item[0])).index(item[0]))]
    total = sum(artifact.matched.values())
    return f"{plural(total, 'layer')} matched: " + ", ".join(parts)


def sides(artifact: ArtifactDiff) -> str:
    """`keras-zip, Keras 3.15.1`, or `hdf5 -> keras-zip, Keras 2.21.0 -> 3.15.1` when they changed."""
    def pair(old, new):
        if old is None or new is None or old == new:
            return new if new is not None else old or ""
        return f"{old} -> {new}"

    old, new = artifact.old, artifact.new
    formats = pair(old and old.format, new and new.format)
    versions = pair(old and old.keras_version, new and new.keras_version)
    # "tfjs-layers 4.22.0" names itself; a bare number is a Keras version.
    versions = f"Keras {versions}" if versions[:1].isdigit() else versions
    return ", ".join(part for part in (formats, versions) if part)
