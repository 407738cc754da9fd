"""Teleoperation as LeRobot does it, and what a leader/follower pair must agree on.

LeRobot's convention (SOLeader.get_action -> SOFollower.send_action): the leader's
Present_Position normalized with *the leader's* calibration is the action; the follower
unnormalizes that action with *its own* calibration into Goal_Position, both arms in the
same units (``use_degrees`` the same). So the follower goes where its own calibration
puts the leader's *number*: two arms that disagree about a joint's zero move apart by
that much, and every recorded frame carries it (lerobot #3758). Comparing the two
readings proves nothing (the follower reads back the number it was given); only the
arms' physical poses can: the twin's ground truth, or a leader folded on its stops.

- :func:`follower_goal_ticks`: the chain above.
- :func:`check_pair_files`: what the two calibration files say without an arm.
- :class:`TeleopLoop`: the loop, stepping the follower toward each goal within its
  safety envelope (LeRobot's ``max_relative_target``, always on here).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .calibration import Calibration
from .frames import DEG_PER_TICK, RobotUnit, ticks_to_units, units_to_ticks
from .joints import GRIPPER, MOTOR_NAMES, WRIST_ROLL
from .measurement import Measurement

#: Two hand sweeps of the same joint on arms of one design differ by a few degrees; a
#: difference beyond this (deg) means one sweep stopped short: the DEGREES zero (the sweep
#: middle) then moves by up to half of it, and -100..100 is stretched.
PAIR_SWEEP_DEG = 10.0
DEFAULT_RATE_HZ = 30.0


def follower_goal_ticks(leader_ticks: np.ndarray, leader: Calibration, follower: Calibration,
                        units: Sequence[RobotUnit]) -> np.ndarray:
    """Goal_Position LeRobot sends the follower for the leader's Present_Position."""
    action = ticks_to_units(leader_ticks, leader, units)
    return units_to_ticks(action, follower, units)


def check_pair_files(leader: Calibration, follower: Calibration,
                     units: Sequence[RobotUnit]) -> list[Measurement]:
    """Per joint, what the two files alone say: drive modes that turn the follower the
    other way, and sweeps that cannot both be complete. wrist_roll (fixed 0..4095 on both:
    its zero is wherever it was held while homing, lerobot #3193) and the gripper (the
    leader's is a handle) are only comparable on the arms."""
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        unit = RobotUnit(units[j])
        flips = unit is not RobotUnit.DEGREES and leader.drive_mode[j] != follower.drive_mode[j]
        out.append(Measurement(
            "drive_mode leader vs follower", joint, float(flips), "", 0, 0,
            f"leader drive_mode {leader.drive_mode[j]}, follower {follower.drive_mode[j]} "
            f"({unit.value})",
            cause="one arm's drive_mode reverses the joint in range units: the follower turns "
            "the other way from the leader",
            fix="set the same drive_mode in both files (LeRobot writes 0) and check the joint "
            "turns the declared way (pytest suites/test_guided.py)"))
        if j in (WRIST_ROLL, GRIPPER):
            continue
        width = [(c.range_max[j] - c.range_min[j]) * DEG_PER_TICK for c in (leader, follower)]
        gap = width[0] - width[1]
        shorter = "leader" if gap < 0 else "follower"
        out.append(Measurement(
            "calibrated sweep leader - follower", joint, float(gap), "deg", -PAIR_SWEEP_DEG,
            PAIR_SWEEP_DEG,
            f"leader swept {width[0]:.1f} deg ({leader.range_min[j]}..{leader.range_max[j]}), "
            f"follower {width[1]:.1f} deg ({follower.range_min[j]}..{follower.range_max[j]})",
            cause=f"the {shorter}'s sweep stopped {abs(gap):.0f} deg short of the other's: its "
            f"zero (the sweep's middle in degrees) may sit up to {abs(gap) / 2:.0f} deg away and "
            "its -100..100 is stretched; the follower then misses the leader by as much",
            fix=f"recalibrate the {shorter} sweeping {joint} to both mechanical stops"))
    return out


@dataclass
class TeleopLoop:
    """Read the leader, command the follower, at ``rate_hz``. ``read_leader`` returns the
    leader's Present_Position ticks; ``track`` sends one follower goal (an
    :meth:`~pytest_so101.arm.Arm.track`, inside ``arm.motion()``) and returns what it
    sent. ``cycles`` keeps (time, leader ticks, goal ticks, sent ticks) per cycle."""

    read_leader: Callable[[], np.ndarray]
    track: Callable[[np.ndarray], np.ndarray]
    leader: Calibration
    follower: Calibration
    units: Sequence[RobotUnit]
    rate_hz: float = DEFAULT_RATE_HZ
    cycles: list[tuple[float, np.ndarray, np.ndarray, np.ndarray]] = field(default_factory=list)

    def step(self) -> np.ndarray:
        leader_ticks = self.read_leader()
        goal = follower_goal_ticks(leader_ticks, self.leader, self.follower, self.units)
        sent = self.track(goal)
        self.cycles.append((time.monotonic(), leader_ticks, goal, sent))
        return goal

    def run_for(self, seconds: float, between: Callable[[float], None] | None = None) -> None:
        """Step for ``seconds``; ``between(t)`` runs before each cycle (a scripted operator
        moving the leader, a check of the follower) with the time since the start."""
        start = time.monotonic()
        period = 1.0 / self.rate_hz
        next_at = start
        while (now := time.monotonic()) - start < seconds:
            if between is not None:
                between(now - start)
            self.step()
            next_at += period
            time.sleep(max(0.0, next_at - time.monotonic()))


def minimum_jerk(start: np.ndarray, end: np.ndarray, fraction: float | np.ndarray
                 ) -> np.ndarray:
    """The pose a fraction of the way along a minimum-jerk move (how a person moves);
    an array of fractions gives one pose per row."""
    s = np.clip(np.asarray(fraction, dtype=float), 0.0, 1.0)
    return start + np.multiply.outer(10 * s**3 - 15 * s**4 + 6 * s**5, end - start)
