"""Which frame were these stats recorded in? Rank candidate frames by plausibility.

For each candidate (LeRobot degrees, -100..100, legacy degrees, ticks, LeRobot degrees
written in radians, sim radians) the stats mean is mapped back into the sim frame through
the reference chain of that frame;
a plausible frame puts every joint's mean inside the model's joint limits with a spread
neither wider than the joint's range nor a sliver of it. When the declared frame is
implausible and another is plausible, :func:`conversion` gives the exact per-joint
formula from the one to the other (for SmolVLA's so100 stats: ``shoulder_lift = -(x - 90)``,
``elbow_flex = x - 90``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.calibration import Calibration, MotorCalibration
from ..core.chain import robot_to_policy_map
from ..core.frames import PolicyFrame, RobotUnit, expand_units
from ..core.joints import GRIPPER, MOTOR_IDS, MOTOR_NAMES, JointLimits
from ..core.mapping import RAD_TO_DEG, JointMap
from ..core.stats import NormStats

SIM_RADIANS = "sim-radians"
#: LeRobot's degrees frame with the arm joints written in radians (a simulator's or a
#: script's qpos), the gripper still in 0..100.
LEROBOT_RADIANS = "lerobot-radians"
#: Human names of the frames that are not a :class:`PolicyFrame`.
FRAME_NAMES = {SIM_RADIANS: "sim radians (MuJoCo qpos)",
               LEROBOT_RADIANS: "radians (LeRobot degrees written in radians)",
               PolicyFrame.TICKS.value: "raw servo ticks (Present_Position, 0..4095)"}
NARROW = 0.02
#: LeRobot's own assumption for sim -> robot: deg = rad2deg(q); gripper -10..100 deg -> 0..100.
LEROBOT_IDENTITY = JointMap(np.array([0, 0, 0, 0, 0, 10 * 100 / 110]),
                            np.array([RAD_TO_DEG] * 5 + [RAD_TO_DEG * 100 / 110]),
                            np.ones(6), name="LeRobot identity sim->degrees")


@dataclass(frozen=True)
class Candidate:
    """One frame's account of the stats: the means in the sim frame and a penalty."""

    frame: str
    sim_to_frame: JointMap
    mean_sim_deg: np.ndarray
    outside_deg: np.ndarray       # how far each mean lies outside the limits (0 inside)
    penalty: float

    @property
    def plausible(self) -> bool:
        return bool(np.all(self.outside_deg <= 1.0))


#: Raw ticks without the arm's calibration: LeRobot's homing puts the pose held in the
#: middle of each joint's travel at 2047, so the sweep's middle is near it (a few degrees
#: off on real arms): enough to tell ticks from every other unit.
NOMINAL_CALIBRATION = Calibration({
    joint: MotorCalibration(servo_id, 0, 0, 2047 - 1024, 2047 + 1024)
    for joint, servo_id in zip(MOTOR_NAMES, MOTOR_IDS, strict=True)},
    source="no calibration: each sweep's middle taken at 2047 ticks")


def _candidate_maps(calibration: Calibration | None, sim_to_robot: JointMap,
                    robot_units: tuple[RobotUnit, ...]) -> dict[str, JointMap]:
    maps = {SIM_RADIANS: JointMap.identity(SIM_RADIANS)}
    for frame in PolicyFrame:
        nominal = calibration is None and frame is PolicyFrame.TICKS
        try:
            robot_to_frame = robot_to_policy_map(
                robot_units, frame, NOMINAL_CALIBRATION if nominal else calibration)
        except ValueError:
            continue               # needs the calibration, which was not given
        maps[frame.value] = sim_to_robot.then(robot_to_frame)
    degrees = maps.get(PolicyFrame.LEROBOT_DEGREES.value)
    if degrees is not None:
        to_radians = np.where(np.arange(len(MOTOR_NAMES)) == GRIPPER, 1.0, 1 / RAD_TO_DEG)
        maps[LEROBOT_RADIANS] = degrees.then(JointMap(np.zeros(len(MOTOR_NAMES)), to_radians,
                                                      np.ones(len(MOTOR_NAMES))))
    return maps


def frame_name(frame: str) -> str:
    """A frame's name for a message: ``lerobot-degrees``, ``sim radians (MuJoCo qpos)``."""
    return FRAME_NAMES.get(frame, frame)


def rank_frames(stats: NormStats, limits: JointLimits, *, calibration: Calibration | None = None,
                sim_to_robot: JointMap = LEROBOT_IDENTITY,
                robot_units: tuple[RobotUnit, ...] | None = None) -> list[Candidate]:
    """Candidate frames, most plausible first."""
    units = robot_units or expand_units("degrees")
    center = stats.center
    spread = stats.std if stats.mode == "MEAN_STD" else (stats.max - stats.min) / 4
    width_deg = limits.upper_deg - limits.lower_deg
    out = []
    for frame, sim_to_frame in _candidate_maps(calibration, sim_to_robot, units).items():
        mean_deg = sim_to_frame.inverse().apply(center) * RAD_TO_DEG
        outside = np.maximum(0, np.maximum(limits.lower_deg - mean_deg,
                                           mean_deg - limits.upper_deg))
        spread_deg = spread / sim_to_frame.scale * RAD_TO_DEG
        too_wide = np.maximum(0, spread_deg - width_deg / 2) / width_deg
        # a dataset that barely moved a joint (< 2 % of its range) is a units slip more
        # often than a real recording: radians read as degrees spread over ~1 deg
        too_narrow = np.maximum(0, NARROW * width_deg - spread_deg) / (NARROW * width_deg)
        off_center = np.abs(mean_deg - (limits.lower_deg + limits.upper_deg) / 2) / width_deg
        penalty = float(np.sum(outside / width_deg) * 10 + np.sum(too_wide) * 10
                        + np.sum(too_narrow) + np.sum(off_center) * 0.1)
        out.append(Candidate(frame, sim_to_frame, mean_deg, outside, penalty))
    return sorted(out, key=lambda c: c.penalty)


def _formula(slope: float, offset: float) -> str:
    """``x - 90``, ``-(x - 90)``, ``2 * x + 3``: value in the declared frame from x."""
    if np.isclose(abs(slope), 1.0, rtol=1e-6):
        if slope < 0:
            inner = f"x - {offset:g}" if offset > 0 else f"x + {-offset:g}" if offset else "x"
            return f"-({inner})"
        return f"x + {offset:g}" if offset > 0 else f"x - {-offset:g}" if offset else "x"
    tail = f" + {offset:g}" if offset > 0 else f" - {-offset:g}" if offset else ""
    return f"{slope:.6g} * x{tail}"


def conversion(from_frame: Candidate, to_frame: Candidate, *, atol: float = 1e-6
               ) -> dict[str, str]:
    """Per joint, the formula that turns a value x recorded in ``from_frame`` into the
    value ``to_frame`` expects; joints where the two agree are left out."""
    between = from_frame.sim_to_frame.inverse().then(to_frame.sim_to_frame)
    formulas = {}
    for j, joint in enumerate(MOTOR_NAMES):
        slope, offset = float(between.slope[j]), float(between.offset[j])
        if np.isclose(slope, 1.0, atol=atol) and abs(offset) <= atol * 100:
            continue
        formulas[joint] = f"{joint} = {_formula(slope, round(offset, 6))}"
    return formulas
