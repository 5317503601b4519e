"""The term each built-in regularizer adds to the loss, computed as Keras computes it.

Sources (read at these versions; the cross-check test calls the real regularizers on every
fixture's variables):
- keras/src/regularizers/regularizers.py (Keras 3.15): L1 = l1 * sum(|x|); L2 = l2 * sum(x**2);
  L1L2 adds each term whose factor is non-zero; the base `Regularizer` returns 0.
  OrthogonalRegularizer: L2-normalize the rows (mode "rows") or columns ("columns") with
  `keras.ops.normalize`, i.e. x * min(rsqrt(sum x**2), 1 / epsilon) with epsilon = 1e-7; take
  the Gram matrix without its diagonal; factor * 0.5 * sum(|off-diagonal|) / (n * (n - 1) / 2).
  Rank other than 2 raises ValueError in Keras.
- tf_keras/src/regularizers.py (tf_keras 2.21, as tf.keras 2.x): the same formulas (L2 spelled
  2 * l2 * tf.nn.l2_loss(x)); OrthogonalRegularizer normalizes with tf.math.l2_normalize,
  x * rsqrt(max(sum x**2, 1e-12)), so only all-zero and near-zero rows differ from Keras 3.
- Keras 1 `WeightRegularizer` / `L1L2Regularizer` (keras/regularizers.py, Keras 1.2):
  sum(l1 * |p|) + sum(l2 * p**2), the same as L1L2.
- TF.js layers (tfjs-layers/src/regularizers.ts): L1L2 as above.
"""

from __future__ import annotations

import math

from regaudit._namedtuple import NamedTuple
from regaudit.tree import Origin, Regularizer

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable

# Per Keras line: how OrthogonalRegularizer bounds 1 / norm of an all-zero row.
ORTHOGONAL_INVERSE_NORM_CAP = {"keras3": 1.0 / 1e-7, "tf_keras": 1.0 / math.sqrt(1e-12)}
_KERAS1_CLASSES = frozenset({"WeightRegularizer", "L1L2Regularizer"})


class Term(NamedTuple):
    penalty: float | None
    reason: str | None = None


class Values(NamedTuple):
    """What a penalty needs of one variable: its sums, and a way to get the values themselves."""

    sum_abs: float
    sum_squares: float
    shape: tuple[int, ...]
    load: Callable[[], Any]  # the whole tensor as a numpy array (only OrthogonalRegularizer asks)


def penalty(regularizer: Regularizer, values: Values, line: str) -> Term:
    """The term Keras adds for `regularizer` on one variable, in the Keras line `line`."""
    if regularizer.origin is Origin.LEGACY and regularizer.class_name in _KERAS1_CLASSES:
        return _l1_l2(regularizer.factors.get("l1", 0.0), regularizer.factors.get("l2", 0.0), values)
    if regularizer.origin is not Origin.BUILTIN:
        return Term(None, f"{regularizer.origin.value} regularizer {regularizer.class_name or ''}: "
                          "regaudit never runs custom code, so its penalty is not computed".replace(" :", ":"))
    factors = regularizer.factors
    if regularizer.class_name == "L1":
        return _l1_l2(factors.get("l1", 0.0), 0.0, values)
    if regularizer.class_name == "L2":
        return _l1_l2(0.0, factors.get("l2", 0.0), values)
    if regularizer.class_name == "L1L2":
        return _l1_l2(factors.get("l1", 0.0), factors.get("l2", 0.0), values)
    if regularizer.class_name == "Regularizer":
        return Term(0.0)
    if regularizer.class_name == "OrthogonalRegularizer":
        return _orthogonal(factors.get("factor", 0.01), str(regularizer.options.get("mode", "rows")), values, line)
    return Term(None, f"no formula for {regularizer.class_name}")


def _l1_l2(l1: float, l2: float, values: Values) -> Term:
    total = 0.0
    if l1:
        total += l1 * values.sum_abs
    if l2:
        total += l2 * values.sum_squares
    return _finite(total)


def _orthogonal(factor: float, mode: str, values: Values, line: str) -> Term:
    import numpy

    if len(values.shape) != 2:
        return Term(None, f"OrthogonalRegularizer on a rank-{len(values.shape)} weight: Keras raises "
                          "ValueError (it needs rank 2)")
    if mode not in ("rows", "columns"):
        return Term(None, f"OrthogonalRegularizer mode {mode!r} is not rows or columns: Keras refuses it")
    matrix = numpy.asarray(values.load(), dtype=numpy.float64)
    axis = 1 if mode == "rows" else 0
    inverse = 1.0 / numpy.sqrt(numpy.sum(numpy.square(matrix), axis=axis, keepdims=True))
    normalized = matrix * numpy.minimum(inverse, ORTHOGONAL_INVERSE_NORM_CAP[line])
    product = normalized @ normalized.T if mode == "rows" else normalized.T @ normalized
    size = product.shape[0]
    off_diagonal = numpy.abs(product).sum() - numpy.abs(numpy.diagonal(product)).sum()
    pairs = size * (size - 1.0) / 2.0
    if pairs == 0:
        # 0 / 0 in Keras too: a single row (or column) gives NaN.
        return Term(None, "OrthogonalRegularizer on a single row or column: Keras computes 0/0 (NaN)")
    return _finite(factor * 0.5 * float(off_diagonal) / pairs)


def _finite(value: float) -> Term:
    if math.isfinite(value):
        return Term(value)
    return Term(None, f"the weights hold NaN or infinite values, so Keras's penalty is {value}")
