"""Which unit recorded these numbers? The servo's tick grid under a column of joint values.

A servo reports whole ticks, and LeRobot turns each into its unit with one affine map per
joint (``frames.py``): degrees ``(t - mid) * 360 / 4095``, -100..100 and 0..100 over the
calibrated range ``M - m``. So every value a real arm recorded lies on a grid whose step is
one tick in that unit (:func:`frames.tick_step`: 0.0879 deg, 200 / (M - m), ...). The grid
is evidence independent of the numbers' size and of the stats: one joint written in
radians lies on a grid of 0.00153, -100..100 declared as degrees on one of 200 / (M - m),
even where every value sits inside every limit and the frame fingerprint is content.

Numbers that never were ticks (a simulator's qpos, a policy's actions, resampled or
float16 columns) lie on no grid: they are not judged, never failed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: A value lies on a grid when within this fraction of a step of it.
ON_GRID = 0.02
#: A column is on a grid when this fraction of its values is.
GRID_FRACTION = 0.98
#: Fewer distinct values, or a span of fewer steps, say nothing about a grid (a joint held
#: still lies on every grid).
MIN_DISTINCT = 20
MIN_SPAN_STEPS = 30
#: A step within this many float32 rounding units of the values' magnitude cannot be seen.
MIN_STEP_ULPS = 200
#: Values judged per column (evenly spaced through the dataset).
SAMPLE = 100_000


@dataclass(frozen=True)
class GridFit:
    """How well a column lies on one unit's grid."""

    unit: str
    step: float
    fraction: float              # of the values on the grid
    span_steps: float            # (max - min) / step

    @property
    def on_grid(self) -> bool:
        return self.fraction >= GRID_FRACTION


def sample(values: np.ndarray, limit: int = SAMPLE) -> np.ndarray:
    """At most ``limit`` values of a column, evenly spaced."""
    stride = max(1, len(values) // limit)
    return np.asarray(values[::stride], dtype=np.float64)


def judgeable(values: np.ndarray) -> bool:
    """Enough distinct values to say anything about a grid."""
    return len(np.unique(values[: 50 * MIN_DISTINCT])) >= MIN_DISTINCT or \
        len(np.unique(values)) >= MIN_DISTINCT


def fit(values: np.ndarray, unit: str, step: float) -> GridFit | None:
    """The fraction of ``values`` on a grid of ``step`` (any phase), or None when the grid
    cannot be seen: a span of few steps, or a step lost in float32 rounding."""
    span = float(values.max() - values.min()) / step
    ulp = float(np.abs(values).max()) * np.finfo(np.float32).eps
    if span < MIN_SPAN_STEPS or step < MIN_STEP_ULPS * ulp:
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
