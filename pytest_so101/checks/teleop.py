"""What a leader/follower pair must agree on (teleoperation as LeRobot does it:
``bus/teleop.py``).

The follower goes where its own calibration puts the leader's *number*: two arms that
disagree about a joint's zero move apart by that much, and every recorded frame carries it
(lerobot #3758). Comparing the two readings proves nothing (the follower reads back the
number it was given); only the arms' physical poses can: the twin's ground truth, or a
leader folded on its stops. :func:`check_pair_files` says what the two calibration files
say without an arm.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..core.calibration import Calibration
from ..core.frames import DEG_PER_TICK, RobotUnit
from ..core.joints import GRIPPER, MOTOR_NAMES, WRIST_ROLL
from ..core.measurement import Measurement

#: Two hand sweeps of the same joint on arms of one design differ by a few degrees; a
#: difference beyond this (deg) means one sweep stopped short: the DEGREES zero (the sweep
#: middle) then moves by up to half of it, and -100..100 is stretched.
PAIR_SWEEP_DEG = 10.0


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


