"""Which unit recorded these numbers? The servo's tick grid under a column of joint values.

A servo reports whole ticks, and LeRobot turns each into its unit with one affine map per
joint (``frames.py``): degrees ``(t - mid) * 360 / 4095``, -100..100 and 0..100 over the
calibrated range ``M - m``. So every value a real arm recorded lies on a grid whose step is
one tick in that unit (:func:`frames.tick_step`: 0.0879 deg, 200 / (M - m), ...). The grid
is evidence independent of the numbers' size and of the stats: one joint written in
radians lies on a grid of 0.00153, -100..100 declared as degrees on one of 200 / (M - m),
even where every value sits inside every limit and the frame fingerprint is content.

Grids are judged on the column's *distinct* values (a joint parked on one reading for most
of a recording lies on every grid frame by frame). Numbers that never were ticks (a
simulator's qpos, a policy's actions, resampled data) lie on no grid; numbers rounded to
decimals or stored as float16 lie on a grid of a power of ten or two, which no servo
gives: neither is judged.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

#: A value lies on a grid when within this fraction of a step of it.
ON_GRID = 0.02
#: A column is on a grid when this fraction of its distinct values is.
GRID_FRACTION = 0.98
#: Fewer distinct values, or a span of fewer steps, say nothing about a grid.
MIN_DISTINCT = 20
MIN_SPAN_STEPS = 30
#: A step within this many float32 rounding units of the values' magnitude cannot be seen.
MIN_STEP_ULPS = 200
#: The smallest gap between distinct values may span this many ticks at most.
MAX_TICKS_IN_GAP = 8
#: Values judged per column (evenly spaced through the dataset).
SAMPLE = 100_000


@dataclass(frozen=True)
class GridFit:
    """How well a column lies on one unit's grid."""

    unit: str
    step: float
    fraction: float              # of the distinct values on the grid
    span_steps: float            # (max - min) / step

    @property
    def on_grid(self) -> bool:
        return self.fraction >= GRID_FRACTION


def distinct(values: np.ndarray, limit: int = SAMPLE) -> np.ndarray:
    """The distinct values of a column (of at most ``limit`` frames evenly spaced),
    sorted."""
    stride = max(1, len(values) // limit)
    return np.unique(np.asarray(values[::stride], dtype=np.float64))


def _smallest_visible(values: np.ndarray) -> float:
    """The smallest step float32 storage lets a grid show at these values' magnitude."""
    return float(np.abs(values).max()) * float(np.finfo(np.float32).eps) * MIN_STEP_ULPS


def fit(values: np.ndarray, unit: str, step: float) -> GridFit | None:
    """The fraction of the distinct ``values`` on a grid of ``step`` (any phase), or None
    when the grid cannot be seen: few distinct values, a span of few steps, or a step lost
    in float32 rounding."""
    if len(values) < MIN_DISTINCT:
        return None
    span = float(values[-1] - values[0]) / step
    if span < MIN_SPAN_STEPS or step < _smallest_visible(values):
        return None
    turns = values / step
    phase = np.angle(np.mean(np.exp(2j * np.pi * turns))) / (2 * np.pi)
    off = turns - phase
    off -= np.round(off)
    return GridFit(unit, step, float(np.mean(np.abs(off) <= ON_GRID)), span)


def first_grid(values: np.ndarray, steps: dict[str, float]) -> GridFit | None:
    """The first unit of ``steps`` (coarsest grid first: data on a grid also lies on its
    halves) whose grid ``values`` lie on."""
    for unit, step in sorted(steps.items(), key=lambda item: -item[1]):
        found = fit(values, unit, step)
        if found is not None and found.on_grid:
            return found
    return None


def _storage_grid(step: float) -> bool:
    """A power of two (float16, float32 at small magnitudes) or of ten (rounded decimals):
    a grid of the storage or of a script's rounding, not of a servo."""
    for base in (2.0, 10.0):
        exponent = math.log(step, base)
        if abs(exponent - round(exponent)) < 1e-6:
            return True
    return False


def estimated_grid(values: np.ndarray) -> GridFit | None:
    """The column's own grid, when it has one a servo could give: the smallest gap between
    distinct values (a joint moving through its range visits neighbouring ticks), checked
    on every distinct value."""
    if len(values) < MIN_DISTINCT:
        return None
    gaps = np.diff(values)
    gaps = gaps[gaps >= _smallest_visible(values)]
    if not len(gaps):
        return None
    smallest = float(gaps.min())
    # the smallest gap is one tick, or a few where the joint jumped (a gripper snapped open
    # and shut): its whole fractions, the largest first
    for ticks_in_gap in range(1, MAX_TICKS_IN_GAP + 1):
        step = smallest / ticks_in_gap
        if step < _smallest_visible(values):
            break
        for _ in range(2):   # refine: float32 rounds each gap, a least-squares slope does not
            ticks = np.round((values - values[0]) / step)
            centred = ticks - ticks.mean()
            step = float(np.sum(centred * (values - values.mean())) / np.sum(centred ** 2))
        if _storage_grid(step):
            return None
        found = fit(values, "a step found in the data", step)
        if found is not None and found.on_grid:
            return found
    return None
