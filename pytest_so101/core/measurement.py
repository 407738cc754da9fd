"""A check's result for one joint: value, unit, limits, margin and outcome (as OpenHTF does)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

#: Key under which measurements travel in a test report's user_properties (xdist-safe).
USER_PROPERTY = "so101_measurement"
#: Key under which pose pairs (expected vs read, for pictures of the arm) travel there.
POSE_PROPERTY = "so101_pose"
#: Fraction of the tolerance beyond which a passing value is reported MARGINAL.
DEFAULT_MARGINAL_FRACTION = 0.8


class Outcome(StrEnum):
    PASS = "PASS"
    MARGINAL = "MARGINAL"
    FAIL = "FAIL"


class Evidence(StrEnum):
    """What backs a measurement: what would disagree if the arm or a file were wrong.

    From weakest to strongest: ``files`` (the user's files agree with each other),
    ``servo`` (the servo's own registers or readings), ``twin`` (the twin's ground truth:
    proves something about the emulated arm only), ``physical`` (a servo reading against a
    reference neither the servo nor the files can fake: the rest pose on its stops,
    gravity, a person moving a named joint in a named direction).
    """

    FILES = "files"
    SERVO = "servo"
    TWIN = "twin"
    PHYSICAL = "physical"


@dataclass(frozen=True)
class Measurement:
    """One per-joint measurement. ``low``/``high`` are inclusive limits (None: unbounded)."""

    check: str
    joint: str
    value: float
    unit: str
    low: float | None = None
    high: float | None = None
    detail: str = ""
    marginal_fraction: float = DEFAULT_MARGINAL_FRACTION
    cause: str = ""      # the likely cause when it fails (docs/faults.md)
    fix: str = ""        # what to do about it
    evidence: Evidence = Evidence.FILES
    #: A heuristic: beyond its limit it is MARGINAL (with the reason in ``detail``), never a
    #: failure on its own.
    advisory: bool = False

    @property
    def margin(self) -> float:
        """Distance to the nearest limit, in ``unit``; negative when outside."""
        if not math.isfinite(self.value):
            return -math.inf
        distances = [self.value - self.low if self.low is not None else math.inf,
                     self.high - self.value if self.high is not None else math.inf]
        return min(distances)

    @property
    def outcome(self) -> Outcome:
        if self.margin < 0:
            return Outcome.MARGINAL if self.advisory else Outcome.FAIL
        if self.low is not None and self.high is not None:
            band = (1 - self.marginal_fraction) * (self.high - self.low) / 2
            if self.margin < band:
                return Outcome.MARGINAL
        return Outcome.PASS

    @property
    def passed(self) -> bool:
        return self.outcome is not Outcome.FAIL

    def limits_text(self) -> str:
        if self.low is not None and self.high is not None:
            if self.low == -self.high:
                return f"|value| <= {self.high:.4g} {self.unit}"
            return f"[{self.low:.4g}, {self.high:.4g}] {self.unit}"
        if self.low is not None:
            return f">= {self.low:.4g} {self.unit}"
        if self.high is not None:
            return f"<= {self.high:.4g} {self.unit}"
        return "no limit"

    def summary(self) -> str:
        """One line naming the joint, the value, the limit and the outcome; a failing
        one adds the likely cause and the fix."""
        text = (f"{self.joint}: {self.check} = {self.value:.4g} {self.unit} "
                f"(limit {self.limits_text()}) {self.outcome.value}")
        if self.detail:
            text = f"{text}: {self.detail}"
        if self.outcome is Outcome.FAIL:
            text += f". Likely cause: {self.cause}" if self.cause else ""
            text += f". Fix: {self.fix}" if self.fix else ""
        return text
