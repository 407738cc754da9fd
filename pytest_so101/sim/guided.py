"""Guided checks: a person moves one named joint in a named physical direction (torque
off) and the reading must change that way.

The directions are defined by the arm's own geometry, so they hold in any pose: "fold
the elbow" brings the wrist toward the shoulder whatever the shoulder does. Which way
each one turns the joint in the sim frame is computed from the model (finite
differences at the sim zero), not assumed. A person, or on the twin the
:class:`ScriptedOperator`, performs the move; the servo reading, through the declared
chain, must move the same way (a mirrored motor moves it the other way).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.joints import GRIPPER, MOTOR_NAMES, N_JOINTS
from .model import SimModel

#: How far the person is asked to move a joint, and the operator moves it (deg).
MOVE_DEG = 20.0
#: A reading change smaller than this means the joint did not move (deg, sim frame).
MIN_MOVE_DEG = 5.0
#: A reading change larger than this is not the move asked for (deg, sim frame).
MAX_MOVE_DEG = 90.0
_DELTA = 0.01


@dataclass(frozen=True)
class PhysicalMove:
    """A move in words, and which way it turns the joint in the sim frame (+1 or -1)."""

    joint: int
    words: str
    sim_sign: int


def _sign(value: float, what: str) -> int:
    if not np.isfinite(value) or abs(value) < 1e-9:
        raise ValueError(f"the model does not say which way {what}")
    return 1 if value > 0 else -1


def physical_moves(sim: SimModel) -> list[tuple[PhysicalMove, PhysicalMove]]:
    """Per joint, a move and its opposite, with their sim-frame signs from the model."""
    q0 = np.zeros(N_JOINTS)

    def moved(j: int) -> np.ndarray:
        q = q0.copy()
        q[j] = _DELTA
        return q

    def anchor(q: np.ndarray, j: int) -> np.ndarray:
        return sim.joint_axis(q, j)[0]

    up = np.array([0.0, 0.0, 1.0])
    pan = _sign(float(sim.joint_axis(q0, 0)[1] @ up), "the arm turns left")
    lift = _sign(float(anchor(moved(1), 2)[0] - anchor(q0, 2)[0]), "the upper arm tilts "
                 "forward")
    reach = [np.linalg.norm(anchor(q, 3) - anchor(q, 1)) for q in (q0, moved(2))]
    elbow = -_sign(float(reach[1] - reach[0]), "the elbow folds")
    wrist = -_sign(float(anchor(moved(3), GRIPPER)[2] - anchor(q0, GRIPPER)[2]),
                   "the wrist flexes")
    roll_anchor, roll_axis = sim.joint_axis(q0, 4)
    toward_tips = sim.site_position(q0) - roll_anchor
    roll = _sign(float(roll_axis @ toward_tips), "the gripper rolls clockwise")
    pairs = [
        ("turn the whole arm to its left (counterclockwise seen from above)",
         "turn the whole arm to its right (clockwise seen from above)", pan),
        ("tilt the upper arm forward, away from the base", "tilt the upper arm back, toward "
         "the base", lift),
        ("fold the elbow: bring the wrist toward the shoulder", "unfold the elbow: move the "
         "wrist away from the shoulder", elbow),
        ("flex the wrist: tip the gripper toward the underside of the forearm", "extend the "
         "wrist: tip the gripper toward the top of the forearm", wrist),
        ("roll the gripper clockwise, seen from the wrist looking toward the fingertips",
         "roll the gripper counterclockwise, seen from the wrist looking toward the "
         "fingertips", roll),
        # the model's convention (upstream so101_new_calib: 0 closed, 100 deg open)
        ("open the gripper", "close the gripper", 1),
    ]
    return [(PhysicalMove(j, a, s), PhysicalMove(j, b, -s))
            for j, (a, b, s) in enumerate(pairs)]


def choose_move(moves: tuple[PhysicalMove, PhysicalMove], q_sim_rad: float, lower_rad: float,
                upper_rad: float) -> PhysicalMove:
    """The move toward the side of the joint's range with more room (from a reading)."""
    room_up, room_down = upper_rad - q_sim_rad, q_sim_rad - lower_rad
    wanted = 1 if room_up >= room_down else -1
    return moves[0] if moves[0].sim_sign == wanted else moves[1]


class ScriptedOperator:
    """The twin's person: performs a :class:`PhysicalMove` on the twin's true pose through
    its control socket (``place``), as a hand would, within the joint's limits."""

    def __init__(self, twin, sim: SimModel) -> None:
        self.twin, self.sim = twin, sim

    def perform(self, move: PhysicalMove, degrees: float = MOVE_DEG) -> None:
        q = self.twin.q_sim_rad()
        limits = self.sim.limits
        target = q[move.joint] + move.sim_sign * np.deg2rad(degrees)
        q[move.joint] = min(limits.upper_rad[move.joint], max(limits.lower_rad[move.joint],
                                                              target))
        self.twin.place(q.tolist())


def describe(move: PhysicalMove) -> str:
    return f"{MOTOR_NAMES[move.joint]}: {move.words}"
