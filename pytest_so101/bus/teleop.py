"""Teleoperation as LeRobot does it: the leader's reading becomes the follower's goal.

LeRobot's convention (SOLeader.get_action -> SOFollower.send_action): the leader's
Present_Position normalized with *the leader's* calibration is the action; the follower
unnormalizes that action with *its own* calibration into Goal_Position, both arms in the
same units (``use_degrees`` the same). So the follower goes where its own calibration
puts the leader's *number* (lerobot #3758).

- :func:`follower_goal_ticks`: the chain above.
- :class:`TeleopLoop`: the loop, stepping the follower toward each goal within its
  safety envelope (LeRobot's ``max_relative_target``, always on here).
- :func:`minimum_jerk`: how a person moves an arm from one pose to the next.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ..core.calibration import Calibration
from ..core.frames import RobotUnit, ticks_to_units, units_to_ticks

DEFAULT_RATE_HZ = 30.0


def follower_goal_ticks(leader_ticks: np.ndarray, leader: Calibration, follower: Calibration,
                        units: Sequence[RobotUnit]) -> np.ndarray:
    """Goal_Position LeRobot sends the follower for the leader's Present_Position."""
    action = ticks_to_units(leader_ticks, leader, units)
    return units_to_ticks(action, follower, units)


@dataclass
class TeleopLoop:
    """Read the leader, command the follower, at ``rate_hz``. ``read_leader`` returns the
    leader's Present_Position ticks; ``track`` sends one follower goal (an
    :meth:`~pytest_so101.bus.arm.Arm.track`, inside ``arm.motion()``) and returns what it
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
