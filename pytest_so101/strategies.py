"""Public Hypothesis strategies: joint vectors within limits in any frame, calibrations, maps.

Use them in your own property tests::

    from pytest_so101 import strategies as so101_st

    @given(q=so101_st.joint_vectors())
    def test_my_controller(q): ...
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from .core.calibration import MAX_HOMING_OFFSET, MAX_TICK, Calibration, MotorCalibration
from .core.frames import PolicyFrame, RobotUnit, ticks_to_policy_frame, ticks_to_units
from .core.joints import MOTOR_IDS, MOTOR_NAMES, N_JOINTS, SO101_NEW_CALIB_LIMITS, JointLimits
from .core.mapping import JointMap

SIM_FRAMES = ("sim_rad", "sim_deg")


def _bounded_vectors(lower: np.ndarray, upper: np.ndarray) -> st.SearchStrategy[np.ndarray]:
    return st.tuples(*[
        st.floats(float(lo), float(hi), allow_nan=False, allow_infinity=False)
        for lo, hi in zip(lower, upper, strict=True)
    ]).map(lambda values: np.array(values, dtype=float))


def joint_vectors(limits: JointLimits = SO101_NEW_CALIB_LIMITS, *, frame: str = "sim_rad",
                  calibration: Calibration | None = None) -> st.SearchStrategy[np.ndarray]:
    """Arrays of shape (6,) inside the joint range, expressed in ``frame``.

    ``frame`` is ``sim_rad`` or ``sim_deg`` (bounded by ``limits``), ``ticks`` (integers in
    the calibrated range), a LeRobot unit (``degrees``, ``range_m100_100``, ``range_0_100``)
    or a policy frame (``lerobot-degrees``, ``lerobot-range``, ``lerobot-legacy-degrees``);
    those need ``calibration`` and stay within its recorded range.
    """
    if frame == "sim_rad":
        return _bounded_vectors(limits.lower_rad, limits.upper_rad)
    if frame == "sim_deg":
        return _bounded_vectors(limits.lower_deg, limits.upper_deg)
    if calibration is None:
        raise ValueError(f"joint_vectors(frame={frame!r}) needs a calibration")
    if frame == RobotUnit.TICKS.value:
        return st.tuples(*[
            st.integers(int(lo), int(hi))
            for lo, hi in zip(calibration.range_min, calibration.range_max, strict=True)
        ]).map(lambda values: np.array(values, dtype=np.int64))
    ticks = _bounded_vectors(calibration.range_min.astype(float),
                             calibration.range_max.astype(float))
    if frame in {u.value for u in RobotUnit}:
        units = (RobotUnit(frame),) * N_JOINTS
        return ticks.map(lambda p: ticks_to_units(p, calibration, units))
    policy_frame = PolicyFrame(frame)
    return ticks.map(lambda p: ticks_to_policy_frame(p, calibration, policy_frame))


@st.composite
def _motor(draw: st.DrawFn, motor_id: int, drive_modes: tuple[int, ...], min_span: int,
           full_turn: bool) -> MotorCalibration:
    if full_turn:
        low, high = 0, MAX_TICK
    else:
        low = draw(st.integers(0, MAX_TICK - min_span))
        high = draw(st.integers(low + min_span, MAX_TICK))
    return MotorCalibration(
        id=motor_id,
        drive_mode=draw(st.sampled_from(drive_modes)),
        homing_offset=draw(st.integers(-MAX_HOMING_OFFSET, MAX_HOMING_OFFSET)),
        range_min=low,
        range_max=high,
    )


@st.composite
def calibrations(draw: st.DrawFn, *, drive_modes: tuple[int, ...] = (0, 1), min_span: int = 1,
                 wrist_roll_full_turn: bool = False) -> Calibration:
    """Valid six-motor LeRobot calibrations (LeRobot itself always writes drive_mode 0)."""
    motors = {
        name: draw(_motor(motor_id, drive_modes, min_span,
                          wrist_roll_full_turn and name == "wrist_roll"))
        for name, motor_id in zip(MOTOR_NAMES, MOTOR_IDS, strict=True)
    }
    return Calibration(motors, source="<hypothesis>")


@st.composite
def joint_maps(draw: st.DrawFn, *, scale: tuple[float, float] = (1e-2, 1e2),
               offset: float = 1e3) -> JointMap:
    """Valid :class:`JointMap` s: scales in ``scale``, offsets within ±``offset``, directions ±1."""
    floats = dict(allow_nan=False, allow_infinity=False)
    return JointMap(
        offset=np.array(draw(st.lists(st.floats(-offset, offset, **floats),
                                      min_size=N_JOINTS, max_size=N_JOINTS))),
        scale=np.array(draw(st.lists(st.floats(*scale, **floats),
                                     min_size=N_JOINTS, max_size=N_JOINTS))),
        direction=np.array(draw(st.lists(st.sampled_from([1.0, -1.0]),
                                         min_size=N_JOINTS, max_size=N_JOINTS))),
        name="<hypothesis>",
    )
