"""Compare two audits: what a change to a model artifact did to its regularization.

`compare(pairs)` takes (old, new) pairs of :class:`Side` (a finished audit of one artifact or one
directory, made by :func:`side`) and returns a :class:`DiffResult`: artifacts paired by relative
path, layers matched, regularized slots compared, findings introduced and resolved, and the
gate's verdict. Reading files is the engine's (and `regaudit.git_revision`'s, for an old revision);
rendering is the reporters' (`regaudit/reporters/diff_*.py`).

Layers are matched by path, then by name among the layers left, then by position: inside two
matched containers, the children left over are aligned around the matched ones, and one at the
same place with the same class is the same layer renamed. Each match says which of the three made
it.

Regularizers are compared by slot, never by argument spelling: Keras 1's `W_regularizer` and
Keras 2's `kernel_regularizer` are both the kernel's. The penalties of Keras's L1/L2 family (L1,
L2, L1L2 in Keras 2/3 and tf.keras; Keras 1's WeightRegularizer, ActivityRegularizer and
L1L2Regularizer) are all `l1 * sum(|x|) + l2 * sum(x**2)` (keras/src/regularizers/regularizers.py
in Keras 3.15; keras/regularizers.py in Keras 1.2.2), so two of them with the same l1 and l2 are
the same penalty, spelled differently. Factors are compared with a relative tolerance of 1e-6:
tf.keras saves float32 values (0.009999999776482582 for 0.01).

Findings have the identity the baseline gives them (regaudit.suppression: artifact, layer path,
rule, counted), with an old layer's path translated to its match's path.

With `--weights` (regaudit.evidence), each slot change carries the penalty Keras adds for it at
the stored weights on both sides, and slots whose regularizer did not change are listed too when
their penalty did (a retrain moves the weights under an unchanged L2).
"""

from __future__ import annotations

import difflib
import math
import os
from collections import Counter
from enum import Enum

from regaudit._namedtuple import NamedTuple
from regaudit.checks.keras_facts import KERAS1_L1L2_REGULARIZERS, adds_no_penalty, has_known_factors
from regaudit.outcomes import ArtifactResult, AuditResult, Diagnostic, ExitCode, Finding, Severity, Status
from regaudit.tree import Layer, ModelTree, Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Iterable, Iterator
    from regaudit.config import Settings
    from regaudit.evidence import Evidence

# Keras's L1/L2 family: one penalty, l1 * sum(|x|) + l2 * sum(x**2), under several class names.
L1L2_FAMILY = frozenset({"L1", "L2", "L1L2"}) | KERAS1_L1L2_REGULARIZERS
FACTOR_TOLERANCE = 1e-6
# Keras 1 Sequential configs list no InputLayer and Keras 2/3 ones do: not a change worth reporting.
_UNREPORTED_CLASSES = frozenset({"InputLayer"})
NOT_A_MODEL = "RA901"


class Matching(str, Enum):
    """How an old layer was found again in the new model."""

    PATH = "path"
    NAME = "name"
    POSITION = "position"


class Change(str, Enum):
    ADDED = "added"
    REMOVED = "removed"
    CHANGED = "changed"  # the penalty differs: factors, class, options or origin
    RESPELLED = "respelled"  # the same penalty written differently (argument or class name)
    UNCHANGED = "unchanged"  # the same regularizer; listed with --weights when its penalty moved


class SlotChange(NamedTuple):
    """One regularized slot (kernel, bias, activity, ...) of one matched layer, before and after.

    `ratios` holds new/old for every penalty factor whose value changed between two regularizers
    whose factors mean the same thing (0.0 for a factor set to zero, inf for one raised from zero).
    `fields` names what differs: class, factors, options, origin, argument. `penalty` is (old, new):
    the penalty Keras adds for the slot at each side's stored weights (None for a side without the
    slot or where it could not be computed); None without --weights.
    """

    slot: str
    change: Change
    old: Regularizer | None
    new: Regularizer | None
    ratios: dict[str, float]
    fields: tuple[str, ...]
    penalty: tuple[float | None, float | None] | None = None

    @property
    def weakening(self) -> float:
        """By how much the strongest-cut factor was divided (1.0 if none was; inf if set to zero)."""
        return max((1 / ratio if ratio > 0 else math.inf for ratio in self.ratios.values()), default=1.0)

    @property
    def strengthening(self) -> float:
        return max(self.ratios.values(), default=1.0)

    @property
    def takes_penalty_away(self) -> bool:
        """Removed, or changed into a regularizer that adds nothing to the loss (all factors zero)."""
        if self.change is Change.REMOVED:
            return self.old is not None and not adds_no_penalty(self.old)
        return (
            self.change is Change.CHANGED and self.old is not None and self.new is not None
            and adds_no_penalty(self.new) and not adds_no_penalty(self.old)
        )


class LayerChange(NamedTuple):
    """A layer added, removed, or matched (with how) and the changes to its regularized slots."""

    old: Layer | None
    new: Layer | None
    matched_by: Matching | None
    slots: tuple[SlotChange, ...]

    @property
    def path(self) -> str:
        layer = self.new if self.new is not None else self.old
        assert layer is not None
        return layer.path

    @property
    def class_name(self) -> str:
        layer = self.new if self.new is not None else self.old
        assert layer is not None
        return layer.class_name

    @property
    def renamed(self) -> bool:
        return self.old is not None and self.new is not None and self.old.path != self.new.path

    @property
    def lost_all_regularization(self) -> bool:
        """A weight-bearing layer whose weight penalties all went away (activity is not a weight penalty)."""
        if self.old is None or self.new is None or not self.new.is_weight_bearing:
            return False
        before = [r for r in self.old.weight_regularizers if not adds_no_penalty(r)]
        after = [r for r in self.new.weight_regularizers if not adds_no_penalty(r)]
        return bool(before) and not after

    def removals(self, max_weakening: float | None) -> list[SlotChange]:
        """The slot changes --fail-on-removed fails on: on a weight-bearing layer, a penalty taken
        away, or a factor divided by more than `max_weakening`."""
        if self.new is None or not self.new.is_weight_bearing:
            return []
        return [
            slot for slot in self.slots
            if slot.takes_penalty_away or (max_weakening is not None and slot.weakening > max_weakening)
        ]


class ArtifactDiff:
    """One artifact on both sides (or on one side only, when added or removed)."""

    def __init__(self, key: str, old: ArtifactResult | None, new: ArtifactResult | None) -> None:
        self.key = key  # the relative path that paired the two; "" for two named files
        self.old = old
        self.new = new
        self.layers: list[LayerChange] = []
        self.matched: Counter[Matching] = Counter()
        self.introduced: list[Finding] = []
        self.resolved: list[Finding] = []

    @property
    def path(self) -> str:
        side = self.new if self.new is not None else self.old
        assert side is not None
        return side.path

    @property
    def status(self) -> str:
        """added, removed, unreadable, skipped (a side with nothing to audit, e.g. weights only),
        changed or unchanged."""
        if self.old is None:
            return "added"
        if self.new is None:
            return "removed"
        if self.errors():
            return "unreadable"
        if self.old.tree is None or self.new.tree is None:
            return "skipped"
        if self.layers or self.introduced or self.resolved or self.format_change or self.keras_version_change:
            return "changed"
        return "unchanged"

    def diagnostics(self) -> list[tuple[str, Diagnostic]]:
        """("old"/"new", why) for each side that was skipped or could not be read."""
        return [
            (side, result.error)
            for side, result in (("old", self.old), ("new", self.new))
            if result is not None and result.error is not None
        ]

    def errors(self) -> list[tuple[str, Diagnostic]]:
        """The diagnostics of sides that could not be read (skipped ones are not errors, as in
        `regaudit check`)."""
        return [(side, error) for side, error in self.diagnostics() if getattr(self, side).status is Status.ERROR]

    @property
    def format_change(self) -> tuple[str, str] | None:
        return _changed(self.old and self.old.format, self.new and self.new.format)

    @property
    def keras_version_change(self) -> tuple[str, str] | None:
        return _changed(self.old and self.old.keras_version, self.new and self.new.keras_version)

    def slot_changes(self) -> Iterator[tuple[LayerChange, SlotChange]]:
        for layer in self.layers:
            for slot in layer.slots:
                yield layer, slot

    def removals(self, max_weakening: float | None) -> list[tuple[LayerChange, SlotChange]]:
        return [(layer, slot) for layer in self.layers for slot in layer.removals(max_weakening)]


class Gate(NamedTuple):
    """What fails a diff: findings NEW introduces at or above `fail_on`; with `fail_on_removed`, a
    penalty taken off a weight-bearing layer, or a factor divided by more than `max_weakening`."""

    fail_on: Severity | None = Severity.ERROR
    fail_on_removed: bool = False
    max_weakening: float | None = None


class DiffResult:
    """Every artifact compared, in input order, and the gate it is judged by; renders in every diff
    format and decides the exit code."""

    def __init__(self, artifacts: list[ArtifactDiff], gate: Gate = Gate()) -> None:
        self.artifacts = artifacts
        self.gate = gate

    @property
    def introduced(self) -> list[Finding]:
        return [finding for artifact in self.artifacts for finding in artifact.introduced]

    @property
    def resolved(self) -> list[Finding]:
        return [finding for artifact in self.artifacts for finding in artifact.resolved]

    def unreadable(self) -> list[ArtifactDiff]:
        return [artifact for artifact in self.artifacts if artifact.errors()]

    def removals(self) -> list[tuple[ArtifactDiff, LayerChange, SlotChange]]:
        """Regularization taken away or weakened beyond the gate's --max-weakening, on weight-bearing layers."""
        return [
            (artifact, layer, slot)
            for artifact in self.artifacts
            for layer, slot in artifact.removals(self.gate.max_weakening)
        ]

    def failing_findings(self) -> list[Finding]:
        """Introduced findings at or above the gate's --fail-on."""
        fail_on = self.gate.fail_on
        return [f for f in self.introduced if fail_on is not None and f.severity.rank >= fail_on.rank]

    def exit_code(self) -> ExitCode:
        """3 when either side of any pair could not be read, or nothing was compared (a gate must not
        pass on half its inputs); 1 when NEW introduces a finding at or above --fail-on, or, with
        --fail-on-removed, when :meth:`removals` finds any; else 0."""
        if self.unreadable() or not self.artifacts:
            return ExitCode.UNREADABLE
        if self.failing_findings() or (self.gate.fail_on_removed and self.removals()):
            return ExitCode.FINDINGS
        return ExitCode.OK


# --- pairing artifacts -----------------------------------------------------------------------------


class Side(NamedTuple):
    """One side's audit and the root it was given as (a file, or a directory walked)."""

    result: AuditResult
    root: str


def side(path: str | None, settings: "Settings", *, shown_as: str | None = None) -> Side:
    """Audit one side: a model file or a directory; None for a side that does not exist (every
    artifact of the other side is then added or removed). `shown_as` replaces `path` at the start
    of every artifact path (an old revision materialized in a temporary folder shows as its
    working-tree path)."""
    from regaudit.engine import audit

    if path is None:
        return Side(AuditResult(), shown_as or "")
    result = audit([path], settings)
    if shown_as is not None and shown_as != path:
        for artifact in result.artifacts:  # as the engine names files found in a walk: root joined with the rest
            artifact.path = os.path.normpath(os.path.join(shown_as, os.path.relpath(artifact.path, path)))
    return Side(result, shown_as if shown_as is not None else path)


def compare(sides: Iterable[tuple[Side, Side]], gate: Gate = Gate()) -> DiffResult:
    """Pair the artifacts of each (old, new) pair of audits by path relative to their roots, and
    compare each pair of artifacts; new artifacts in the new audit's order, removed ones after."""
    artifacts = []
    for old, new in sides:
        old_by_key, new_by_key = _keyed(old), _keyed(new)
        keys = list(new_by_key) + [key for key in old_by_key if key not in new_by_key]
        artifacts += [compare_artifacts(key, old_by_key.get(key), new_by_key.get(key)) for key in keys]
    return DiffResult(artifacts, gate)


def _keyed(side: Side) -> dict[str, ArtifactResult]:
    artifacts = side.result.artifacts
    root = os.path.normpath(side.root)
    if len(artifacts) == 1 and os.path.normpath(artifacts[0].path) == root:
        if _is_empty_directory(artifacts[0], root):
            return {}
        return {"": artifacts[0]}
    return {os.path.relpath(artifact.path, root).replace(os.sep, "/"): artifact for artifact in artifacts}


def _is_empty_directory(artifact: ArtifactResult, root: str) -> bool:
    # A directory with no model in it (RA901 "no Keras model files found"): nothing on this side,
    # rather than an unreadable input. A Keras directory artifact that is broken is RA903.
    error = artifact.error
    return artifact.status is Status.ERROR and error is not None and error.code == NOT_A_MODEL and os.path.isdir(root)


def compare_artifacts(key: str, old: ArtifactResult | None, new: ArtifactResult | None) -> ArtifactDiff:
    diff = ArtifactDiff(key, old, new)
    old_tree = old.tree if old is not None else None
    new_tree = new.tree if new is not None else None
    if old is not None and new is not None and (old_tree is None or new_tree is None):
        return diff  # a side unreadable (the gate says so) or skipped: nothing to compare
    if old is None or new is None:  # added or removed as a whole: its findings, not each of its layers
        diff.introduced = new.findings if new is not None else []
        diff.resolved = old.findings if old is not None else []
        return diff
    matches = match_layers(old_tree, new_tree)
    diff.matched = Counter(matched_by for _, _, matched_by in matches if matched_by is not None)
    penalties = _Penalties(old.evidence, new.evidence) if old.evidence is not None or new.evidence is not None else None
    diff.layers = [change for change in (_layer_change(*match, penalties) for match in matches) if change is not None]
    translate = {o.path: n.path for o, n, _ in matches if o is not None and n is not None}
    diff.introduced, diff.resolved = _finding_changes(
        old.findings if old is not None else [], new.findings if new is not None else [], translate
    )
    return diff


def _changed(old: str | None, new: str | None) -> tuple[str, str] | None:
    return (old or "", new or "") if old is not None and new is not None and old != new else None


# --- matching layers -------------------------------------------------------------------------------

Match = tuple["Layer | None", "Layer | None", "Matching | None"]


def match_layers(old: ModelTree | None, new: ModelTree | None) -> list[Match]:
    """Every layer of both trees once: (old, new, how) for matches, (old, None, None) for removed
    layers, (None, new, None) for added ones; in the new tree's order, removed layers after their
    old predecessor's match."""
    old_layers = list(old.layers()) if old is not None else []
    new_layers = list(new.layers()) if new is not None else []
    pairs: dict[int, tuple[Layer, Matching]] = {}  # id(old layer) -> (new layer, how)
    taken: set[int] = set()

    def pair(o: Layer, n: Layer, how: Matching) -> None:
        pairs[id(o)] = (n, how)
        taken.add(id(n))

    by_path = {layer.path: layer for layer in new_layers}
    for layer in old_layers:
        found = by_path.get(layer.path)
        if found is not None:
            pair(layer, found, Matching.PATH)
    old_names = _unique_names(layer for layer in old_layers if id(layer) not in pairs)
    new_names = _unique_names(layer for layer in new_layers if id(layer) not in taken)
    for name, layer in old_names.items():
        if name in new_names:
            pair(layer, new_names[name], Matching.NAME)
    if old is not None and new is not None:
        _match_by_position(old.root, new.root, pairs, taken, pair)
    return _in_order(old_layers, new_layers, pairs, taken)


def _unique_names(layers: Iterable[Layer]) -> dict[str, Layer]:
    counts: Counter[str] = Counter()
    found: dict[str, Layer] = {}
    for layer in layers:
        counts[layer.name] += 1
        found[layer.name] = layer
    return {name: layer for name, layer in found.items() if counts[name] == 1 and name}


def _match_by_position(old_root: Layer, new_root: Layer, pairs, taken, pair) -> None:
    """Inside matched containers (the roots first), align the unmatched children around the matched
    ones; an unmatched old child and an unmatched new child at the same place with the same class
    are one layer renamed."""
    pending = [(old_root, new_root)]
    while pending:
        old_parent, new_parent = pending.pop()
        old_tokens = [_token(child, pairs.get(id(child), (None,))[0]) for child in old_parent.children]
        new_tokens = [_token(child, child if id(child) in taken else None) for child in new_parent.children]
        matcher = difflib.SequenceMatcher(None, old_tokens, new_tokens, autojunk=False)
        for tag, old_start, old_end, new_start, new_end in matcher.get_opcodes():
            if tag == "equal":
                for o, n in zip(old_parent.children[old_start:old_end], new_parent.children[new_start:new_end]):
                    if id(o) not in pairs:
                        pair(o, n, Matching.POSITION)
        for child in old_parent.children:
            matched = pairs.get(id(child))
            if matched is not None and child.children and matched[0].children:
                pending.append((child, matched[0]))


def _token(layer: Layer, counterpart: Layer | None) -> tuple:
    # Matched layers align only with their own match; unmatched ones with any unmatched layer of their class.
    return ("matched", id(counterpart)) if counterpart is not None else ("free", layer.class_name)


def _in_order(old_layers: list[Layer], new_layers: list[Layer], pairs, taken) -> list[Match]:
    matched_old = {id(pairs[id(old)][0]): old for old in old_layers if id(old) in pairs}
    removed_after: dict[int | None, list[Layer]] = {}
    previous: int | None = None
    for layer in old_layers:
        if id(layer) in pairs:
            previous = id(pairs[id(layer)][0])
        else:
            removed_after.setdefault(previous, []).append(layer)
    result: list[Match] = [(layer, None, None) for layer in removed_after.get(None, [])]
    for layer in new_layers:
        old = matched_old.get(id(layer))
        result.append((old, layer, pairs[id(old)][1]) if old is not None else (None, layer, None))
        result += [(removed, None, None) for removed in removed_after.get(id(layer), [])]
    return result


# --- comparing layers and slots --------------------------------------------------------------------


def _layer_change(
    old: Layer | None, new: Layer | None, matched_by: Matching | None, penalties: "_Penalties | None" = None
) -> LayerChange | None:
    """The change to one layer, or None when there is nothing to report about it."""
    if old is None or new is None:
        layer = old if old is not None else new
        assert layer is not None
        if layer.class_name in _UNREPORTED_CLASSES:
            return None
        return LayerChange(old, new, None, ())
    slots = tuple(compare_slots(old.regularizers, new.regularizers))
    if penalties is not None:
        slots = penalties.weigh(old, new, slots)
    if not slots and old.path == new.path and old.class_name == new.class_name:
        return None
    return LayerChange(old, new, matched_by, slots)


def compare_slots(old: Iterable[Regularizer], new: Iterable[Regularizer]) -> Iterator[SlotChange]:
    """Slot by slot, in the new layer's order then the slots only the old one had."""
    before = {regularizer.slot: regularizer for regularizer in old}
    after = {regularizer.slot: regularizer for regularizer in new}
    for slot in list(after) + [slot for slot in before if slot not in after]:
        change = compare_regularizers(before.get(slot), after.get(slot))
        if change is not None:
            yield change


class _Penalties:
    """Each side's weight evidence (`--weights`): the penalty of every regularized slot."""

    def __init__(self, old: "Evidence | None", new: "Evidence | None") -> None:
        self.old, self.new = old, new

    def weigh(self, old: Layer, new: Layer, changes: tuple[SlotChange, ...]) -> tuple[SlotChange, ...]:
        """The changes with their penalties, plus the unchanged slots whose penalty moved."""
        weighed = [change._replace(penalty=self.pair(old, new, change.slot)) for change in changes]
        changed = {change.slot for change in changes}
        before = {regularizer.slot: regularizer for regularizer in old.regularizers}
        for regularizer in new.regularizers:
            if regularizer.slot in before and regularizer.slot not in changed:
                penalty = self.pair(old, new, regularizer.slot)
                if penalty[0] != penalty[1] and not (None not in penalty and _close(*penalty)):
                    weighed.append(SlotChange(regularizer.slot, Change.UNCHANGED, before[regularizer.slot],
                                              regularizer, {}, (), penalty))
        return tuple(weighed)

    def pair(self, old: Layer, new: Layer, slot: str) -> tuple[float | None, float | None]:
        return _penalty(self.old, old.path, slot), _penalty(self.new, new.path, slot)


def _penalty(evidence: "Evidence | None", path: str, slot: str) -> float | None:
    found = evidence.slots.get((path, slot)) if evidence is not None else None
    return found.penalty if found is not None else None


def compare_regularizers(old: Regularizer | None, new: Regularizer | None) -> SlotChange | None:
    """How one slot's regularizer changed, or None when it did not."""
    if old is None or new is None:
        present = old if old is not None else new
        assert present is not None
        return SlotChange(present.slot, Change.ADDED if old is None else Change.REMOVED, old, new, {}, ())
    fields = tuple(name for name, differs in (
        ("class", old.class_name != new.class_name),
        ("origin", old.origin is not new.origin),
        ("factors", not _same_factors(old.factors, new.factors)),
        ("options", dict(old.options) != dict(new.options)),
        ("argument", old.argument != new.argument),
    ) if differs)
    if not fields:
        return None
    old_terms, new_terms = _penalty_terms(old), _penalty_terms(new)
    comparable = old_terms is not None and new_terms is not None
    if comparable and _same_factors(old_terms, new_terms) and dict(old.options) == dict(new.options):
        return SlotChange(new.slot, Change.RESPELLED, old, new, {}, fields)
    ratios = _ratios(old_terms, new_terms) if comparable else _ratios(old.factors, new.factors) if (
        old.class_name == new.class_name and old.origin is new.origin) else {}
    return SlotChange(new.slot, Change.CHANGED, old, new, ratios, fields)


def _penalty_terms(regularizer: Regularizer) -> dict[str, float] | None:
    """{"l1": .., "l2": ..} for Keras's L1/L2 family, whatever the class is called; None otherwise."""
    if not has_known_factors(regularizer) or regularizer.class_name not in L1L2_FAMILY:
        return None
    return {"l1": regularizer.factors.get("l1", 0.0), "l2": regularizer.factors.get("l2", 0.0)}


def _same_factors(old, new) -> bool:
    return set(old) == set(new) and all(_close(old[name], new[name]) for name in old)


def _close(a: float, b: float) -> bool:
    return a == b or math.isclose(a, b, rel_tol=FACTOR_TOLERANCE)


def _ratios(old, new) -> dict[str, float]:
    ratios = {}
    for name in old:
        if name in new and not _close(old[name], new[name]):
            before, after = old[name], new[name]
            if math.isfinite(before) and math.isfinite(after) and before >= 0 and after >= 0:
                ratios[name] = after / before if before else math.inf
    return ratios


# --- findings ----------------------------------------------------------------------------------------


def _finding_changes(
    old: list[Finding], new: list[Finding], translate: dict[str, str]
) -> tuple[list[Finding], list[Finding]]:
    """(introduced, resolved): findings counted per (layer path, rule), as the baseline counts them,
    with old layer paths translated to their matches' paths."""
    def key(finding: Finding, paths: dict[str, str]) -> tuple[str | None, str]:
        return (paths.get(finding.layer, finding.layer) if finding.layer is not None else None, finding.rule)

    remaining = Counter(key(finding, translate) for finding in old)
    introduced = []
    for finding in new:
        if remaining[key(finding, {})] > 0:
            remaining[key(finding, {})] -= 1
        else:
            introduced.append(finding)
    still_there = Counter(key(finding, {}) for finding in new)
    resolved = []
    for finding in old:
        if still_there[key(finding, translate)] > 0:
            still_there[key(finding, translate)] -= 1
        else:
            resolved.append(finding)
    return introduced, resolved
