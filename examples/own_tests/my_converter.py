"""The code under test: this project's own sim -> robot converter.

It turns a joint vector of the MuJoCo model (radians, motor order shoulder_pan,
shoulder_lift, elbow_flex, wrist_flex, wrist_roll, gripper) into what LeRobot's SO-101
follower reads with use_degrees=True: degrees for the five arm joints, 0..100 for the
gripper (0 closed on its stop at the model's -10 deg, 100 open at +100 deg).
"""

from __future__ import annotations

import numpy as np

GRIPPER = 5
GRIPPER_CLOSED_RAD = np.deg2rad(-10.0)
GRIPPER_OPEN_RAD = np.deg2rad(100.0)


def sim_to_lerobot(q_sim_rad: np.ndarray) -> np.ndarray:
    """Robot units (deg, gripper 0..100) of one pose (6,) or a batch (k, 6)."""
    q = np.asarray(q_sim_rad, dtype=float)
    robot = np.rad2deg(q)
    robot[..., GRIPPER] = (100.0 * (q[..., GRIPPER] - GRIPPER_CLOSED_RAD)
                           / (GRIPPER_OPEN_RAD - GRIPPER_CLOSED_RAD))
    return robot
