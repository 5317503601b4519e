"""Per-tensor statistics, accumulated chunk by chunk so that no tensor is ever copied whole."""

from __future__ import annotations

import math

import numpy

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Iterable

# Values converted to float64 at a time: 2 M values = 16 MB per chunk, whatever the tensor size.
CHUNK_VALUES = 2 * 1024 * 1024


class Accumulator:
    """Sums of |x| and x**2, max |x|, exact zeros and non-finite values over chunks of one tensor."""

    def __init__(self, near_zero: float = 0.0) -> None:
        self.near_zero_threshold = near_zero
        self.near_zero = 0
        self.size = 0
        self.sum_abs = 0.0
        self.sum_squares = 0.0
        self.max_abs = 0.0
        self.zeros = 0
        self.nonfinite = 0

    def add(self, chunk: Any) -> None:
        values = _floating(numpy.asarray(chunk).reshape(-1))
        if not values.size:
            return
        self.size += values.size
        # One |x| array serves the sum, the maximum and the near-zero mask. Sums accumulate in
        # float64; float32 values are squared in float32 (relative error below 1e-7).
        absolute = numpy.abs(values)
        sum_abs = float(absolute.sum(dtype=numpy.float64))
        if not math.isfinite(sum_abs):  # only then is counting worth a pass
            self.nonfinite += values.size - int(numpy.count_nonzero(numpy.isfinite(values)))
        self.sum_abs += sum_abs
        self.sum_squares += float(numpy.square(values).sum(dtype=numpy.float64))
        near = absolute <= self.near_zero_threshold
        self.near_zero += int(numpy.count_nonzero(near))
        # Exact zeros are among the near-zero values (the threshold is never negative).
        self.zeros += int(numpy.count_nonzero(values[near] == 0))
        largest = float(absolute.max())
        # NaN wins, as numpy's own max would have it over the whole tensor.
        self.max_abs = largest if math.isnan(largest) or largest > self.max_abs else self.max_abs

    @property
    def zero_fraction(self) -> float:
        return self.zeros / self.size if self.size else 0.0

    @property
    def near_zero_fraction(self) -> float:
        return self.near_zero / self.size if self.size else 0.0


def _floating(values: Any) -> Any:
    """float32 and float64 as stored; narrower floats as float32, integers and booleans as float64."""
    if values.dtype in (numpy.float32, numpy.float64):
        return values
    if values.dtype.kind == "f":
        return values.astype(numpy.float32)
    return values.astype(numpy.float64)


def accumulate(chunks: Iterable[Any], near_zero: float = 0.0) -> Accumulator:
    accumulator = Accumulator(near_zero)
    for chunk in chunks:
        accumulator.add(chunk)
    return accumulator
