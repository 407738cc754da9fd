"""Joint frames and the conversions between them, vectorised over arrays of shape (..., 6).

Frames (docs/domain.md sections 3-4):

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

import functools
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

#: Sign bit of each sign-magnitude register of the STS3215 (docs/domain.md section 7).
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


def _joint_columns(values: np.ndarray, what: str) -> np.ndarray:
    values = np.asarray(values)
    if values.ndim == 0 or values.shape[-1] != N_JOINTS:
        raise config_error(f"{what} must have shape (..., {N_JOINTS}) in motor order",
                           value=values.shape)
    return values


# -- LeRobot's normalization ------------------------------------------------------------
#
# LeRobot (MotorsBus._normalize / _unnormalize), b the ticks clamped to [m, M]:
#   DEGREES          v = (p - (m+M)/2) * 360 / 4095        p = v * 4095 / 360 + (m+M)/2
#   RANGE_M100_100   v = (b - m) / (M - m) * 200 - 100     p = (v + 100) / 200 * (M - m) + m
#   RANGE_0_100      v = (b - m) / (M - m) * 100           p = v / 100 * (M - m) + m
# drive_mode 1 negates a -100..100 value and mirrors a 0..100 one (100 - v); DEGREES
# ignores it, and does not clamp. All three are one sequence of operations with per-joint
# constants, a step a unit lacks being an exact no-op (x * 1, x - 0, a clamp to +-inf):
# applied to the six joints at once it is bit-identical to LeRobot's per-motor loop
# (tests/test_frames.py). The constants are repeated down a block of rows (an operation
# between two arrays of one shape runs several times faster than one broadcasting a row
# of six) and cached; rows go through in blocks so that every temporary is small and
# reused (a fresh array the size of a large batch costs more in page faults than the
# arithmetic).

BLOCK_ROWS = 2048
_FULL = {RobotUnit.RANGE_M100_100: 200.0, RobotUnit.RANGE_0_100: 100.0}


@functools.lru_cache(maxsize=32)
def _tiled_constants(units: tuple[RobotUnit, ...], range_min: tuple[int, ...],
                     range_max: tuple[int, ...], drive_mode: tuple[int, ...], clamp: bool,
                     rows: int) -> dict[str, np.ndarray]:
    units = tuple(RobotUnit(u) for u in units)
    low, high = np.asarray(range_min, dtype=float), np.asarray(range_max, dtype=float)
    degrees = np.array([u is RobotUnit.DEGREES for u in units])
    ranged = np.array([u in _FULL for u in units])
    full = np.array([_FULL.get(u, 1.0) for u in units])
    inf = np.full(N_JOINTS, np.inf)
    bounded = ranged & clamp
    found = {
        "origin": np.where(degrees, (low + high) / 2, np.where(ranged, low, 0.0)),
        "tick_low": np.where(bounded, low, -inf), "tick_high": np.where(bounded, high, inf),
        "value_low": np.where(bounded, 100 - full, -inf),
        "value_high": np.where(bounded, 100.0, inf),
        "degrees_times": np.where(degrees, 360.0, 1.0),       # DEGREES: * 360 / 4095
        "degrees_over": np.where(degrees, float(LEROBOT_MAX_RES), 1.0),
        "span": np.where(ranged, high - low, 1.0),             # ranges: / (M-m) * full
        "full": full,
        "shift": np.where(ranged, full - 100, 0.0),            # - 100 (-100..100), - 0
    }
    mirrored = ranged & (np.asarray(drive_mode) == 1)
    if mirrored.any():
        found["sign"] = np.where(mirrored, -1.0, 1.0)
        found["mirror_add"] = np.where(mirrored & (full == 100), 100.0, 0.0)
    tiled = {name: np.tile(value, (rows, 1)) for name, value in found.items()}
    for value in tiled.values():
        value.flags.writeable = False
    return tiled


def tick_step(unit: RobotUnit, range_ticks: float | None = None) -> float | None:
    """What one servo tick is worth in ``unit`` (LeRobot's formulas above): 360 / 4095 deg,
    200 or 100 / (M - m) for the ranges (None without the calibrated range ``M - m``), 1 tick."""
    unit = RobotUnit(unit)
    if unit is RobotUnit.DEGREES:
        return 360.0 / LEROBOT_MAX_RES
    if unit is RobotUnit.TICKS:
        return 1.0
    return None if not range_ticks else _FULL[unit] / float(range_ticks)


def _constants(cal: Calibration, units: Sequence[RobotUnit], clamp: bool, rows: int
               ) -> dict[str, np.ndarray]:
    return _tiled_constants(tuple(units), tuple(int(v) for v in cal.range_min),
                            tuple(int(v) for v in cal.range_max),
                            tuple(int(v) for v in cal.drive_mode), bool(clamp), rows)


def _blocks(n: int, tiled: dict[str, np.ndarray]):
    """(rows, constants) per block of at most BLOCK_ROWS rows."""
    for start in range(0, n, BLOCK_ROWS):
        rows = slice(start, min(n, start + BLOCK_ROWS))
        size = rows.stop - rows.start
        yield rows, tiled if size == BLOCK_ROWS or size == n else \
            {k: v[:size] for k, v in tiled.items()}


def ticks_to_units(ticks: np.ndarray, cal: Calibration, units: Sequence[RobotUnit], *,
                   clamp: bool = True) -> np.ndarray:
    """Read ticks in each joint's unit (a tuple of six :class:`RobotUnit`)."""
    p = _joint_columns(ticks, "ticks")
    x = p.reshape(-1, N_JOINTS)
    out = np.empty(x.shape)
    bounded = clamp and any(RobotUnit(u) in _FULL for u in units)
    tiled = _constants(cal, units, clamp, min(BLOCK_ROWS, len(x)))
    for rows, c in _blocks(len(x), tiled):
        dest = out[rows]
        if bounded:
            np.maximum(x[rows], c["tick_low"], out=dest)
            np.minimum(dest, c["tick_high"], out=dest)
            dest -= c["origin"]
        else:
            np.subtract(x[rows], c["origin"], out=dest)
        dest *= c["degrees_times"]
        dest /= c["degrees_over"]
        dest /= c["span"]
        dest *= c["full"]
        dest -= c["shift"]
        if "sign" in c:
            dest *= c["sign"]
            dest += c["mirror_add"]
    return out.reshape(p.shape)


def units_to_ticks(values: np.ndarray, cal: Calibration, units: Sequence[RobotUnit], *,
                   rounding: Rounding = "lerobot", clamp: bool = True) -> np.ndarray:
    """Ticks for values given in each joint's unit; inverse of :func:`ticks_to_units`.
    ``rounding``: ``"lerobot"`` (``int()``, toward zero), ``"nearest"`` or None."""
    if rounding not in (None, "lerobot", "nearest"):
        raise ValueError(f"rounding must be 'lerobot', 'nearest' or None, not {rounding!r}")
    v = _joint_columns(values, "values")
    x = v.reshape(-1, N_JOINTS)
    out = np.empty(x.shape, dtype=float if rounding is None else np.int64)
    buffer = None if rounding is None else np.empty((min(BLOCK_ROWS, len(x)), N_JOINTS))
    bounded = clamp and any(RobotUnit(u) in _FULL for u in units)
    tiled = _constants(cal, units, clamp, min(BLOCK_ROWS, len(x)))
    for rows, c in _blocks(len(x), tiled):
        src = x[rows]
        dest = out[rows] if buffer is None else buffer[: len(src)]
        if "sign" in c:
            np.multiply(src, c["sign"], out=dest)
            dest += c["mirror_add"]
            src = dest
        if bounded:
            np.maximum(src, c["value_low"], out=dest)
            np.minimum(dest, c["value_high"], out=dest)
            src = dest
        np.add(src, c["shift"], out=dest)
        dest *= c["degrees_over"]             # DEGREES: * 4095 / 360
        dest /= c["degrees_times"]
        dest /= c["full"]                     # ranges: / full * (M - m)
        dest *= c["span"]
        dest += c["origin"]
        if buffer is not None:
            if rounding == "nearest":
                dest += 0.5
                np.floor(dest, out=dest)
            out[rows] = dest                  # float -> int64: int(), toward zero
    return out.reshape(v.shape)


def _all(unit: RobotUnit) -> tuple[RobotUnit, ...]:
    return (unit,) * N_JOINTS


def ticks_to_degrees(ticks: np.ndarray, cal: Calibration) -> np.ndarray:
    """LeRobot DEGREES: ``(p - (m+M)/2) * 360 / 4095``; no clamping, no drive_mode."""
    return ticks_to_units(ticks, cal, _all(RobotUnit.DEGREES))


def degrees_to_ticks(deg: np.ndarray, cal: Calibration, *,
                     rounding: Rounding = "lerobot") -> np.ndarray:
    """Inverse of :func:`ticks_to_degrees`: ``int(v * 4095 / 360 + (m+M)/2)``."""
    return units_to_ticks(_joint_columns(deg, "degrees"), cal, _all(RobotUnit.DEGREES),
                          rounding=rounding)


def ticks_to_range_m100_100(ticks: np.ndarray, cal: Calibration, *,
                            clamp: bool = True) -> np.ndarray:
    """LeRobot RANGE_M100_100: range ends at -100/+100, negated when drive_mode is 1."""
    return ticks_to_units(ticks, cal, _all(RobotUnit.RANGE_M100_100), clamp=clamp)


def range_m100_100_to_ticks(pct: np.ndarray, cal: Calibration, *, rounding: Rounding = "lerobot",
                            clamp: bool = True) -> np.ndarray:
    return units_to_ticks(_joint_columns(pct, "range_m100_100 values"), cal,
                          _all(RobotUnit.RANGE_M100_100), rounding=rounding, clamp=clamp)


def ticks_to_range_0_100(ticks: np.ndarray, cal: Calibration, *, clamp: bool = True) -> np.ndarray:
    """LeRobot RANGE_0_100: range ends at 0/100, mirrored (100 - n) when drive_mode is 1."""
    return ticks_to_units(ticks, cal, _all(RobotUnit.RANGE_0_100), clamp=clamp)


def range_0_100_to_ticks(pct: np.ndarray, cal: Calibration, *, rounding: Rounding = "lerobot",
                         clamp: bool = True) -> np.ndarray:
    return units_to_ticks(_joint_columns(pct, "range_0_100 values"), cal,
                          _all(RobotUnit.RANGE_0_100), rounding=rounding, clamp=clamp)


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


def ticks_roundtrip_error(cal: Calibration, units: Sequence[RobotUnit], *,
                          rounding: str) -> np.ndarray:
    """Worst |ticks -> units -> ticks - ticks| per joint over every tick of each range."""
    span = int((cal.range_max - cal.range_min).max()) + 1
    steps = np.arange(span)[:, None]
    ticks = np.minimum(cal.range_min + steps, cal.range_max)
    back = units_to_ticks(ticks_to_units(ticks, cal, units), cal, units, rounding=rounding)
    return np.abs(back - ticks).max(axis=0)
