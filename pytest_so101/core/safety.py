"""The safety envelope of a real arm, in one place: where a goal may go, and how far.

Targets must lie inside the calibrated range shrunk by a margin; a joint found outside
(an arm resting at a range end) may only hold still or head back in. No joint may be
asked to step further than a cap from where it is. A violation raises
:class:`SafetyError` naming the joint, the value and the limit; nothing is sent.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .calibration import Calibration
from .joints import MOTOR_NAMES, N_JOINTS

DEFAULT_MARGIN_FRACTION = 0.05
DEFAULT_MAX_STEP_TICKS = 200  # ~17.6 deg per command
#: A goal this close to where a joint is counts as holding it, allowed even outside the
#: envelope (an arm resting at a range end, e.g. the rest pose, may be told to stay).
HOLD_TICKS = 12


class SafetyError(RuntimeError):
    """A goal outside the safety envelope; nothing was sent to the arm."""


@dataclass(frozen=True)
class SafetyEnvelope:
    """Allowed goal ticks per joint (motor order) and the largest step per command."""

    low_ticks: np.ndarray
    high_ticks: np.ndarray
    max_step_ticks: float = DEFAULT_MAX_STEP_TICKS

    @classmethod
    def from_calibration(cls, cal: Calibration, *, margin_fraction: float = DEFAULT_MARGIN_FRACTION,
                         max_step_ticks: float = DEFAULT_MAX_STEP_TICKS) -> SafetyEnvelope:
        margin = (cal.range_max - cal.range_min) * margin_fraction
        return cls(cal.range_min + margin, cal.range_max - margin, max_step_ticks)

    def check(self, goal_ticks: np.ndarray, present_ticks: np.ndarray | None = None) -> np.ndarray:
        """Return the goals as integer ticks, or raise :class:`SafetyError`."""
        goal = np.asarray(goal_ticks, dtype=float)
        if goal.shape != (N_JOINTS,) or not np.all(np.isfinite(goal)):
            raise SafetyError(f"goal must be {N_JOINTS} finite tick values, got {goal!r}")
        for j, joint in enumerate(MOTOR_NAMES):
            if not self.low_ticks[j] <= goal[j] <= self.high_ticks[j] and \
                    not self._retreating(j, goal[j], present_ticks):
                raise SafetyError(
                    f"{joint}: goal {goal[j]:.0f} ticks is outside the safety envelope "
                    f"[{self.low_ticks[j]:.0f}, {self.high_ticks[j]:.0f}] ticks")
            if present_ticks is not None and \
                    abs(goal[j] - present_ticks[j]) > self.max_step_ticks:
                raise SafetyError(
                    f"{joint}: step of {goal[j] - present_ticks[j]:+.0f} ticks from "
                    f"{present_ticks[j]:.0f} exceeds the cap of {self.max_step_ticks:.0f} ticks")
        return np.rint(goal).astype(np.int64)

    def _outside(self, j: int, ticks: float) -> float:
        return max(self.low_ticks[j] - ticks, ticks - self.high_ticks[j], 0.0)

    def _retreating(self, j: int, goal: float, present: np.ndarray | None) -> bool:
        """Outside the envelope, a joint may hold still or head back in, never go further."""
        if present is None:
            return False
        return abs(goal - present[j]) <= HOLD_TICKS or \
            self._outside(j, goal) < self._outside(j, present[j])
