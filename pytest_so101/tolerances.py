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
    marginal_fraction: float = DEFAULT_MARGINAL_FRACTION

    def describe(self) -> str:
        """In words and units, e.g. for the report."""
        return (f"angles within {self.deg:g} deg of joint motion; servo readings within "
                f"{self.ticks:g} ticks; the reference pose within {self.z:g} std of the "
                f"stats (advisory); MARGINAL in the last {1 - self.marginal_fraction:.0%} "
                "of a two-sided band")
