"""The tolerances of the checks, with their defaults: a core notion, stdlib only.

The plugin's options and ``so101-diagnose`` fill them from the user; the checks read them.
"""

from __future__ import annotations

from dataclasses import dataclass

from .measurement import DEFAULT_MARGINAL_FRACTION


@dataclass(frozen=True)
class Tolerances:
    """Tolerances of the checks; the report header prints them (``describe``)."""

    deg: float = 1.0      # degrees of joint motion: maps, poses, jogs
    z: float = 2.0        # std units: the (advisory) normalized-near-zero invariant
    ticks: float = 4.0    # servo ticks: read noise peak to peak, tracking
    tracking_deg: float = 2.0   # deg: largest steady-state error of a joint at its goal
    marginal_fraction: float = DEFAULT_MARGINAL_FRACTION

    def describe(self) -> str:
        """In words and units, e.g. for the report."""
        return (f"angles within {self.deg:g} deg of joint motion; servo readings within "
                f"{self.ticks:g} ticks; goals reached within {self.tracking_deg:g} deg; the "
                f"reference pose within {self.z:g} std of the "
                f"stats (advisory); MARGINAL in the last {1 - self.marginal_fraction:.0%} "
                "of a two-sided band")


#: Joints no stop holds in the folded rest pose: a person places them by eye (the base
#: pointing forward, the gripper's jaws level), to within a few degrees.
PLACED_BY_EYE = ("shoulder_pan", "wrist_roll")
#: How far from the rest pose a person's placement by eye may be (deg): the rest checks
#: on a real arm allow this much on :data:`PLACED_BY_EYE` (a horn re-seated by a tooth,
#: 14.4 deg, stays well beyond it).
REST_BY_EYE_DEG = 5.0


def rest_tolerance_deg(joint: str, tolerances: Tolerances, *, placed_by_hand: bool) -> float:
    """How far ``joint`` may read from the rest pose: the angle tolerance, or on an arm a
    person folded (a real one), :data:`REST_BY_EYE_DEG` on a joint placed by eye."""
    if placed_by_hand and joint in PLACED_BY_EYE:
        return max(tolerances.deg, REST_BY_EYE_DEG)
    return tolerances.deg
