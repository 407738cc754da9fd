"""The SO-101's six joints: LeRobot motor names, servo ids and the model's joint limits.

Every array in this project with a trailing axis of 6 is in this *motor order*.
Sources: docs/domain.md sections 1 and 8.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .errors import config_error

MOTOR_NAMES: tuple[str, ...] = (
    "shoulder_pan",
    "shoulder_lift",
    "elbow_flex",
    "wrist_flex",
    "wrist_roll",
    "gripper",
)
N_JOINTS = len(MOTOR_NAMES)
MOTOR_IDS: tuple[int, ...] = (1, 2, 3, 4, 5, 6)
GRIPPER = MOTOR_NAMES.index("gripper")
WRIST_ROLL = MOTOR_NAMES.index("wrist_roll")

#: SO-100 MuJoCo menagerie (trs_so_arm100) joint names, in motor order.
SO100_MENAGERIE_NAMES: tuple[str, ...] = (
    "Rotation",
    "Pitch",
    "Elbow",
    "Wrist_Pitch",
    "Wrist_Roll",
    "Jaw",
)


@dataclass(frozen=True)
class JointLimits:
    """Lower and upper joint limits of a model, in sim radians, motor order."""

    lower_rad: np.ndarray
    upper_rad: np.ndarray
    source: str = "embedded SO-101 model (so101_new_calib.xml limits)"

    def __post_init__(self) -> None:
        lower = np.asarray(self.lower_rad, dtype=float)
        upper = np.asarray(self.upper_rad, dtype=float)
        if lower.shape != (N_JOINTS,) or upper.shape != (N_JOINTS,):
            raise config_error(
                f"joint limits must have shape ({N_JOINTS},)", source=self.source,
                value=(lower.shape, upper.shape),
            )
        for i, name in enumerate(MOTOR_NAMES):
            if not (np.isfinite(lower[i]) and np.isfinite(upper[i]) and lower[i] < upper[i]):
                raise config_error(
                    "joint limits must be finite with lower < upper", source=self.source,
                    joint=name, field="range", value=(float(lower[i]), float(upper[i])),
                )
        object.__setattr__(self, "lower_rad", lower)
        object.__setattr__(self, "upper_rad", upper)

    @property
    def lower_deg(self) -> np.ndarray:
        return np.rad2deg(self.lower_rad)

    @property
    def upper_deg(self) -> np.ndarray:
        return np.rad2deg(self.upper_rad)


#: Joint limits of the upstream so101_new_calib.xml (docs/domain.md section 8), radians.
SO101_NEW_CALIB_LIMITS = JointLimits(
    lower_rad=np.array([-1.9199, -1.7453, -1.69, -1.6581, -2.7438, -0.1745]),
    upper_rad=np.array([1.9199, 1.7453, 1.69, 1.6581, 2.8412, 1.7453]),
)


#: Joint limits of the SO-100 MuJoCo menagerie model trs_so_arm100/so_arm100.xml, in motor
#: order (Rotation, Pitch, Elbow, Wrist_Pitch, Wrist_Roll, Jaw), radians.
SO100_MENAGERIE_LIMITS = JointLimits(
    lower_rad=np.array([-2.2, -3.14158, 0.0, -2.0, -3.14158, -0.2]),
    upper_rad=np.array([2.2, 0.2, 3.14158, 1.8, 3.14158, 2.0]),
    source="SO-100 menagerie model (trs_so_arm100/so_arm100.xml limits)",
)


#: Joint limits of the upstream so101_old_calib.xml (TheRobotStudio/SO-ARM100,
#: Simulation/SO101): zero with the arm fully extended, radians.
SO101_OLD_CALIB_LIMITS = JointLimits(
    lower_rad=np.array([-1.91986, -3.31613, -0.17453, -1.65806, -2.79253, -0.17453]),
    upper_rad=np.array([1.91986, 0.17453, 3.14159, 1.65806, 2.79253, 1.74533]),
    source="SO-101 old-calib model (so101_old_calib.xml limits)",
)

#: q_old_calib - q_new_calib for the same physical pose, radians (docs/domain.md section 4).
OLD_MINUS_NEW_CALIB_RAD = np.array([0.0, -np.pi / 2, np.pi / 2, 0.0, -0.0487, 0.0])


@dataclass(frozen=True)
class KnownModel:
    """A MuJoCo model this project knows the joint names and limits of."""

    name: str
    joint_names: tuple[str, ...]
    limits: JointLimits


KNOWN_MODELS: dict[str, KnownModel] = {
    "so101-new-calib": KnownModel("so101-new-calib", MOTOR_NAMES, SO101_NEW_CALIB_LIMITS),
    "so101-old-calib": KnownModel("so101-old-calib", MOTOR_NAMES, SO101_OLD_CALIB_LIMITS),
    "so100-menagerie": KnownModel("so100-menagerie", SO100_MENAGERIE_NAMES,
                                  SO100_MENAGERIE_LIMITS),
}
