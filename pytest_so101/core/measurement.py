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
#: What a measurement may be of besides one of the six joints: the arm as a whole (the
#: gripper frame, a latency, a dataset's frame count) and the servo bus (a scan of its ids).
ARM = "all"
BUS = "bus"
ARM_LEVEL: tuple[str, ...] = (ARM, BUS)


class Outcome(StrEnum):
    PASS = "PASS"
    MARGINAL = "MARGINAL"
    FAIL = "FAIL"


#: A record's outcome of a measurement that failed against the previous baseline and that
#: the owner acknowledged (``--so101-accept-changes``): a change, recorded, not a failure.
ACKNOWLEDGED = "ACKNOWLEDGED"


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

    def __post_init__(self) -> None:
        from .joints import MOTOR_NAMES  # numpy: not at import (the plugin imports this)

        if self.joint not in MOTOR_NAMES and self.joint not in ARM_LEVEL:
            raise ValueError(
                f"Measurement {self.check!r}: joint {self.joint!r} is not a joint: use one "
                f"of {', '.join(MOTOR_NAMES)}, {ARM!r} (the arm as a whole) or {BUS!r} (the "
                "servo bus)")

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
        return limits_text(self.low, self.high, self.unit)

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


def format_number(value: float | None, *, digits: int = 4, signed: bool = False) -> str:
    """A number as a person reads it: ``digits`` significant digits without an exponent
    (150, 1.5, 0.03, 4095; not 1.5e+02), "n/a" for None or a non-finite value."""
    if value is None or not math.isfinite(value):
        return "n/a"
    sign = "+" if signed and value > 0 else ""
    if value == 0:
        return f"{sign}0"
    magnitude = math.floor(math.log10(abs(value)))
    if magnitude < -4:
        return f"{value:+.2g}" if signed else f"{value:.2g}"
    decimals = max(0, digits - 1 - magnitude)
    text = f"{value:.{decimals}f}"
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return sign + ("0" if text in ("-0", "") else text)


def format_quantity(value: float | None, unit: str, *, digits: int = 4,
                    signed: bool = False) -> str:
    """A number and its unit ("+1.5 deg", "4 ticks", "0.8" when unitless)."""
    text = format_number(value, digits=digits, signed=signed)
    return f"{text} {unit}" if unit and text != "n/a" else text


def limits_text(low: float | None, high: float | None, unit: str) -> str:
    """A limit in words: ``|value| <= 1 deg``, ``[-100, 100] deg``, ``>= 0``, ``no limit``."""
    if low is not None and high is not None:
        if low == -high:
            return f"|value| <= {format_quantity(high, unit)}"
        return f"[{format_number(low)}, {format_number(high)}] {unit}".rstrip()
    if low is not None:
        return f">= {format_quantity(low, unit)}"
    if high is not None:
        return f"<= {format_quantity(high, unit)}"
    return "no limit"
