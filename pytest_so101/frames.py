"""Joint frames and the conversions between them, vectorised over arrays of shape (..., 6).

Frames (domain.md sections 3-4):

- ``ticks``: Present_Position / Goal_Position as LeRobot decodes them (0..4095).
- ``raw``: the servo's mechanical encoder, ``raw = (ticks + homing_offset) mod 4096``.
- LeRobot ``degrees`` (DEGREES), ``range_m100_100`` (RANGE_M100_100), ``range_0_100``:
  LeRobot's normalized readings, computed with the same float operations, clamping,
  drive_mode handling and ``int()`` truncation as ``MotorsBus._normalize/_unnormalize``.
- LeRobot legacy degrees (before lerobot PR #777): arm-extended zero, shoulder_lift
  reversed (docs/source/backwardcomp.mdx).
- policy z-scores: ``(x - mean) / (std + eps)``.

Tick conversions take ``rounding``: ``"lerobot"`` (``int()``, toward zero, as LeRobot),
``"nearest"``, or ``None`` (continuous ticks, for comparing affine chains). ``clamp=False``
drops LeRobot's clamping so that the conversion stays affine over any input.
"""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import TYPE_CHECKING, Literal

import numpy as np

from .errors import config_error
from .joints import GRIPPER, MOTOR_NAMES, N_JOINTS

if TYPE_CHECKING:
    from .calibration import Calibration

RESOLUTION = 4096
#: LeRobot's DEGREES mode divides by the resolution minus one (``max_res``).
LEROBOT_MAX_RES = RESOLUTION - 1
DEG_PER_TICK = 360.0 / RESOLUTION
SPLINE_TEETH = 25                      # STS3215 output spline: a horn seats in 25 ways
TOOTH_TICKS = RESOLUTION / SPLINE_TEETH
TICKS_PER_RAD = RESOLUTION / (2 * np.pi)    # a servo turns with its joint

Rounding = Literal["lerobot", "nearest"] | None

#: Sign bit of each sign-magnitude register of the STS3215 (domain.md section 7).
REGISTER_SIGN_BITS: dict[str, int] = {
    "Homing_Offset": 11,
    "Goal_Position": 15,
    "Goal_Velocity": 15,
    "Present_Position": 15,
    "Present_Velocity": 15,
    "Present_Load": 10,
}

#: Legacy -> current degrees (lerobot backwardcomp.mdx): new = sign * (old - shift).
LEGACY_SIGN = np.array([1.0, -1.0, 1.0, 1.0, 1.0, 1.0])
LEGACY_SHIFT_DEG = np.array([0.0, 90.0, 90.0, 0.0, 0.0, 0.0])


class RobotUnit(StrEnum):
    """What a robot reports for one joint."""

    DEGREES = "degrees"
    RANGE_M100_100 = "range_m100_100"
    RANGE_0_100 = "range_0_100"
    TICKS = "ticks"


class PolicyFrame(StrEnum):
    """The frame a policy's normalization stats were recorded in."""

    LEROBOT_DEGREES = "lerobot-degrees"
    LEROBOT_RANGE = "lerobot-range"
    LEROBOT_LEGACY_DEGREES = "lerobot-legacy-degrees"
    TICKS = "ticks"

    @property
    def units(self) -> tuple[RobotUnit, ...]:
        """Per-joint robot units this frame is read in (the gripper follows LeRobot)."""
        if self is PolicyFrame.TICKS:
            return (RobotUnit.TICKS,) * N_JOINTS
        if self is PolicyFrame.LEROBOT_RANGE:
            return expand_units(RobotUnit.RANGE_M100_100)
        return expand_units(RobotUnit.DEGREES)

    @property
    def legacy(self) -> bool:
        return self is PolicyFrame.LEROBOT_LEGACY_DEGREES

    def unit_label(self, joint: int) -> str:
        unit = self.units[joint]
        if self.legacy and unit is RobotUnit.DEGREES:
            return "legacy deg"
        return {RobotUnit.DEGREES: "deg", RobotUnit.TICKS: "ticks"}.get(unit, "%")


def expand_units(units: str | RobotUnit | Sequence[str | RobotUnit], *,
                 source: str | None = None, field: str = "units") -> tuple[RobotUnit, ...]:
    """Six per-joint units from one name or a list of six.

    A single ``degrees`` or ``range_m100_100`` follows LeRobot: the gripper is always
    read as ``range_0_100``. A single ``ticks`` applies to all six joints.
    """
    if isinstance(units, (str, RobotUnit)):
        unit = parse_unit(units, source=source, field=field)
        if unit in (RobotUnit.DEGREES, RobotUnit.RANGE_M100_100):
            return tuple(RobotUnit.RANGE_0_100 if i == GRIPPER else unit for i in range(N_JOINTS))
        return (unit,) * N_JOINTS
    units = list(units)
    if len(units) != N_JOINTS:
        raise config_error(f"must be one unit name or a list of {N_JOINTS}", source=source,
                           field=field, value=units)
    return tuple(parse_unit(u, source=source, field=field, joint=MOTOR_NAMES[i])
                 for i, u in enumerate(units))


def parse_unit(name: str | RobotUnit, *, source: str | None = None, field: str = "units",
               joint: str | None = None) -> RobotUnit:
    try:
        return RobotUnit(name)
    except ValueError:
        known = ", ".join(u.value for u in RobotUnit)
        raise config_error(f"unknown unit; expected one of {known}", source=source,
                           joint=joint, field=field, value=name) from None


def parse_policy_frame(name: str, *, source: str | None = None,
                       field: str = "policy.frame") -> PolicyFrame:
    try:
        return PolicyFrame(name)
    except ValueError:
        known = ", ".join(f.value for f in PolicyFrame)
        raise config_error(f"unknown policy frame; expected one of {known}", source=source,
                           field=field, value=name) from None


def _quantize(ticks: np.ndarray, rounding: Rounding) -> np.ndarray:
    if rounding is None:
        return ticks
    if rounding == "lerobot":
        return np.trunc(ticks).astype(np.int64)
    if rounding == "nearest":
        return np.floor(ticks + 0.5).astype(np.int64)
    raise ValueError(f"rounding must be 'lerobot', 'nearest' or None, not {rounding!r}")


def _joint_columns(values: np.ndarray, what: str) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim == 0 or values.shape[-1] != N_JOINTS:
        raise config_error(f"{what} must have shape (..., {N_JOINTS}) in motor order",
                           value=values.shape)
    return values


# -- LeRobot DEGREES -------------------------------------------------------------------

def ticks_to_degrees(ticks: np.ndarray, cal: Calibration) -> np.ndarray:
    """LeRobot DEGREES: ``(p - (m+M)/2) * 360 / 4095``; no clamping, no drive_mode."""
    p = _joint_columns(ticks, "ticks").astype(float)
    return (p - cal.range_mid) * 360 / LEROBOT_MAX_RES


def degrees_to_ticks(deg: np.ndarray, cal: Calibration, *,
                     rounding: Rounding = "lerobot") -> np.ndarray:
    """Inverse of :func:`ticks_to_degrees`: ``int(v * 4095 / 360 + (m+M)/2)``."""
    v = _joint_columns(deg, "degrees").astype(float)
    return _quantize((v * LEROBOT_MAX_RES / 360) + cal.range_mid, rounding)


# -- LeRobot RANGE_M100_100 / RANGE_0_100 ----------------------------------------------

def _bounded(ticks: np.ndarray, cal: Calibration, clamp: bool) -> np.ndarray:
    p = ticks.astype(float)
    return np.minimum(cal.range_max, np.maximum(cal.range_min, p)) if clamp else p


def ticks_to_range_m100_100(ticks: np.ndarray, cal: Calibration, *,
                            clamp: bool = True) -> np.ndarray:
    """LeRobot RANGE_M100_100: range ends at -100/+100, negated when drive_mode is 1."""
    b = _bounded(_joint_columns(ticks, "ticks"), cal, clamp)
    norm = (((b - cal.range_min) / (cal.range_max - cal.range_min)) * 200) - 100
    return np.where(cal.drive_mode == 1, -norm, norm)


def range_m100_100_to_ticks(pct: np.ndarray, cal: Calibration, *, rounding: Rounding = "lerobot",
                            clamp: bool = True) -> np.ndarray:
    v = _joint_columns(pct, "range_m100_100 values").astype(float)
    v = np.where(cal.drive_mode == 1, -v, v)
    if clamp:
        v = np.minimum(100.0, np.maximum(-100.0, v))
    return _quantize(((v + 100) / 200) * (cal.range_max - cal.range_min) + cal.range_min, rounding)


def ticks_to_range_0_100(ticks: np.ndarray, cal: Calibration, *, clamp: bool = True) -> np.ndarray:
    """LeRobot RANGE_0_100: range ends at 0/100, mirrored (100 - n) when drive_mode is 1."""
    b = _bounded(_joint_columns(ticks, "ticks"), cal, clamp)
    norm = ((b - cal.range_min) / (cal.range_max - cal.range_min)) * 100
    return np.where(cal.drive_mode == 1, 100 - norm, norm)


def range_0_100_to_ticks(pct: np.ndarray, cal: Calibration, *, rounding: Rounding = "lerobot",
                         clamp: bool = True) -> np.ndarray:
    v = _joint_columns(pct, "range_0_100 values").astype(float)
    v = np.where(cal.drive_mode == 1, 100 - v, v)
    if clamp:
        v = np.minimum(100.0, np.maximum(0.0, v))
    return _quantize((v / 100) * (cal.range_max - cal.range_min) + cal.range_min, rounding)


# -- per-joint units -------------------------------------------------------------------

def ticks_to_units(ticks: np.ndarray, cal: Calibration, units: Sequence[RobotUnit], *,
                   clamp: bool = True) -> np.ndarray:
    """Read ticks in each joint's unit (a tuple of six :class:`RobotUnit`)."""
    p = _joint_columns(ticks, "ticks")
    out = np.empty(p.shape, dtype=float)
    for unit in set(units):
        cols = np.array([u is unit for u in units])
        if unit is RobotUnit.DEGREES:
            converted = ticks_to_degrees(p, cal)
        elif unit is RobotUnit.RANGE_M100_100:
            converted = ticks_to_range_m100_100(p, cal, clamp=clamp)
        elif unit is RobotUnit.RANGE_0_100:
            converted = ticks_to_range_0_100(p, cal, clamp=clamp)
        else:
            converted = p.astype(float)
        out[..., cols] = converted[..., cols]
    return out


def units_to_ticks(values: np.ndarray, cal: Calibration, units: Sequence[RobotUnit], *,
                   rounding: Rounding = "lerobot", clamp: bool = True) -> np.ndarray:
    """Ticks for values given in each joint's unit; inverse of :func:`ticks_to_units`."""
    v = _joint_columns(values, "values")
    out = np.empty(v.shape, dtype=float)
    for unit in set(units):
        cols = np.array([u is unit for u in units])
        if unit is RobotUnit.DEGREES:
            converted = degrees_to_ticks(v, cal, rounding=None)
        elif unit is RobotUnit.RANGE_M100_100:
            converted = range_m100_100_to_ticks(v, cal, rounding=None, clamp=clamp)
        elif unit is RobotUnit.RANGE_0_100:
            converted = range_0_100_to_ticks(v, cal, rounding=None, clamp=clamp)
        else:
            converted = v.astype(float)
        out[..., cols] = converted[..., cols]
    return _quantize(out, rounding)


# -- raw encoder and sign-magnitude registers ------------------------------------------

def ticks_to_raw(ticks: np.ndarray, homing_offset: np.ndarray) -> np.ndarray:
    """Mechanical encoder value of a Present_Position: ``(ticks + homing_offset) mod 4096``."""
    return np.mod(np.asarray(ticks, dtype=np.int64) + np.asarray(homing_offset), RESOLUTION)


def raw_to_ticks(raw: np.ndarray, homing_offset: np.ndarray) -> np.ndarray:
    """Present_Position the servo reports: ``(raw - homing_offset) mod 4096``."""
    return np.mod(np.asarray(raw, dtype=np.int64) - np.asarray(homing_offset), RESOLUTION)


def encode_sign_magnitude(value: np.ndarray | int, sign_bit: int) -> np.ndarray:
    """Sign-magnitude encoding: magnitude in the low ``sign_bit`` bits, sign in bit ``sign_bit``."""
    v = np.asarray(value, dtype=np.int64)
    limit = (1 << sign_bit) - 1
    too_big = np.abs(v) > limit
    if np.any(too_big):
        bad = int(v[too_big].flat[0]) if v.ndim else int(v)
        raise config_error(f"magnitude exceeds {limit} (sign bit {sign_bit})", value=bad)
    return np.where(v < 0, (1 << sign_bit) | -v, v)


def decode_sign_magnitude(encoded: np.ndarray | int, sign_bit: int) -> np.ndarray:
    """Inverse of :func:`encode_sign_magnitude`; bits above the sign bit are ignored."""
    e = np.asarray(encoded, dtype=np.int64)
    magnitude = e & ((1 << sign_bit) - 1)
    return np.where((e >> sign_bit) & 1, -magnitude, magnitude)


def encode_register(register: str, value: np.ndarray | int) -> np.ndarray:
    """Encode a signed value for a named STS3215 register (unsigned registers unchanged)."""
    if register not in REGISTER_SIGN_BITS:
        v = np.asarray(value, dtype=np.int64)
        if np.any(v < 0):
            raise config_error("negative value for an unsigned register", field=register,
                               value=int(v.min()))
        return v
    return encode_sign_magnitude(value, REGISTER_SIGN_BITS[register])


def decode_register(register: str, encoded: np.ndarray | int) -> np.ndarray:
    if register not in REGISTER_SIGN_BITS:
        return np.asarray(encoded, dtype=np.int64)
    return decode_sign_magnitude(encoded, REGISTER_SIGN_BITS[register])


# -- LeRobot legacy degrees ------------------------------------------------------------

def legacy_degrees_to_degrees(legacy_deg: np.ndarray) -> np.ndarray:
    """``shoulder_lift = -(x - 90)``, ``elbow_flex = x - 90``, other joints unchanged."""
    x = _joint_columns(legacy_deg, "legacy degrees").astype(float)
    return LEGACY_SIGN * (x - LEGACY_SHIFT_DEG)


def degrees_to_legacy_degrees(deg: np.ndarray) -> np.ndarray:
    """Inverse of :func:`legacy_degrees_to_degrees`.

    ``lift_old = 90 - lift``, ``elbow_old = elbow + 90``.
    """
    x = _joint_columns(deg, "degrees").astype(float)
    return LEGACY_SIGN * x + LEGACY_SHIFT_DEG


# -- policy frames ---------------------------------------------------------------------

def ticks_to_policy_frame(ticks: np.ndarray, cal: Calibration, frame: PolicyFrame, *,
                          clamp: bool = True) -> np.ndarray:
    """What a robot at ``ticks`` reads in the policy's frame."""
    values = ticks_to_units(ticks, cal, frame.units, clamp=clamp)
    if frame.legacy:
        values = degrees_to_legacy_degrees(values)
    return values


def policy_frame_to_ticks(values: np.ndarray, cal: Calibration, frame: PolicyFrame, *,
                          rounding: Rounding = "lerobot", clamp: bool = True) -> np.ndarray:
    v = _joint_columns(values, "policy-frame values").astype(float)
    if frame.legacy:
        v = legacy_degrees_to_degrees(v)
    return units_to_ticks(v, cal, frame.units, rounding=rounding, clamp=clamp)


# -- policy z-scores -------------------------------------------------------------------

def to_z_score(x: np.ndarray, mean: np.ndarray, std: np.ndarray, eps: float) -> np.ndarray:
    """Policy input: ``(x - mean) / (std + eps)`` (LeRobot MEAN_STD)."""
    return (np.asarray(x, dtype=float) - mean) / (std + eps)


def from_z_score(z: np.ndarray, mean: np.ndarray, std: np.ndarray, eps: float) -> np.ndarray:
    """Inverse of :func:`to_z_score`: ``z * (std + eps) + mean``."""
    return np.asarray(z, dtype=float) * (std + eps) + mean


def _min_max_span(low: np.ndarray, high: np.ndarray, eps: float) -> np.ndarray:
    span = np.asarray(high, dtype=float) - low
    return np.where(span == 0, eps, span)


def to_min_max(x: np.ndarray, low: np.ndarray, high: np.ndarray, eps: float) -> np.ndarray:
    """LeRobot MIN_MAX: ``2 * (x - min) / (max - min) - 1``, a zero span replaced by eps."""
    return 2 * (np.asarray(x, dtype=float) - low) / _min_max_span(low, high, eps) - 1


def from_min_max(n: np.ndarray, low: np.ndarray, high: np.ndarray, eps: float) -> np.ndarray:
    """Inverse of :func:`to_min_max`."""
    return (np.asarray(n, dtype=float) + 1) / 2 * _min_max_span(low, high, eps) + low
