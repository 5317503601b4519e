"""Weight evidence: what each regularizer costs at the stored weights, read without Keras.

With `--weights` the engine calls :func:`collect` once per audited artifact and hands the
:class:`Evidence` to the RA6xx checks (through the rule context) and to the reporters (on the
artifact result). Loaders and rules never reach in here; nothing here imports numpy or h5py
until :func:`collect` runs, so an audit without `--weights` pays nothing.

Reading is streamed dataset by dataset (large tensors in chunks), so peak memory stays near the
largest single tensor. A file that cannot be read gives an :class:`Evidence` with a one-line
`problem`; the config audit of the same file is unaffected.
"""

from __future__ import annotations

import math
from pathlib import Path

from regaudit._namedtuple import NamedTuple

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Mapping
    from regaudit.tree import ModelTree


class WeightStats(NamedTuple):
    """One stored variable, with statistics over all its values (float64 accumulation).

    `name` is Keras's name for the variable (`kernel`, `recurrent_kernel`, `moving_mean`), or the
    stored name (`vars/3`, `dense/foo:0`) when regaudit could not map it. `slot` is the
    regularizer slot the variable belongs to (`kernel`, `recurrent`, `depthwise`), None for
    variables no regularizer argument covers and for unmapped ones.
    """

    name: str
    shape: tuple[int, ...]
    dtype: str
    sum_abs: float
    sum_squares: float
    max_abs: float
    zero_fraction: float  # exactly-zero values / size; 0.0 for an empty tensor
    nonfinite: int  # NaN and +/-Inf values
    slot: str | None = None
    mapped: bool = True
    reason: str | None = None  # why the values could not be read (then the numbers are NaN)
    near_zero_fraction: float | None = None  # values with |x| <= the near-zero setting / size

    @property
    def size(self) -> int:
        return math.prod(self.shape)

    @property
    def norm(self) -> float:
        return math.sqrt(self.sum_squares) if self.sum_squares >= 0 else math.nan


class SlotEvidence(NamedTuple):
    """The penalty Keras adds for one regularized slot at the stored weights, or why it is unknown."""

    penalty: float | None
    reason: str | None = None
    counted: bool = True  # False when Keras would not add it (the layer is frozen)


class Evidence(NamedTuple):
    """Everything read from one artifact's weights.

    `weights`: layer path -> its stored variables (layers with none read are absent).
    `slots`: (layer path, regularizer slot) -> penalty evidence, for every regularizer in the tree.
    `problem`: one line saying why the weights as a whole could not be read, else None.
    """

    weights: Mapping[str, tuple[WeightStats, ...]]
    slots: Mapping[tuple[str, str], SlotEvidence]
    problem: str | None = None
    source: str | None = None  # what was read: "model.weights.h5 in the archive", ...

    @property
    def total_penalty(self) -> float:
        return math.fsum(e.penalty for e in self.slots.values() if e.penalty is not None and e.counted)

    @property
    def not_computed(self) -> int:
        return sum(1 for e in self.slots.values() if e.penalty is None)

    def layer_penalty(self, path: str) -> float:
        return math.fsum(
            e.penalty for (layer, _), e in self.slots.items() if layer == path and e.penalty is not None and e.counted
        )

    def all_weights(self):
        """(layer path, weight) pairs, in stored order."""
        for path, weights in self.weights.items():
            for weight in weights:
                yield path, weight


def collect(path: Path, tree: "ModelTree", near_zero: float = 1e-3) -> Evidence:
    """Read the weights stored with the artifact at `path` and compute the evidence for `tree`.

    `near_zero` is the |value| at or below which a value counts toward `near_zero_fraction`.
    Never raises for bad input: unreadable, hostile or missing weights give `Evidence.problem`.
    """
    from regaudit.evidence.reading import collect_evidence

    return collect_evidence(path, tree, near_zero)


def from_values(tree: "ModelTree", values: Mapping[str, Mapping[str, object]], near_zero: float = 1e-3) -> Evidence:
    """Evidence from weight values given in memory, {layer path: {Keras weight name: nested list}}:
    what the rule catalog's cases use, through the same mapping, statistics and penalties."""
    from regaudit.evidence.reading import evidence_from_values

    return evidence_from_values(tree, values, near_zero)
