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

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace

import numpy as np

from ..core.arm_frames import ArmFrames
from ..core.calibration import Calibration
from ..core.frames import DEG_PER_TICK, RobotUnit
from ..core.joints import GRIPPER, MOTOR_NAMES, WRIST_ROLL
from ..core.mapping import RAD_TO_DEG
from ..core.measurement import ARM, Evidence, Measurement
from .base import Check, Inputs, Setup, on_arms
from .rest_pose import REST_EVIDENCE, check_rest_reading

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




@dataclass(frozen=True)
class HeldPose:
    """One pose of a teleoperated pair, held: the leader's and the follower's true angles
    once held (sim rad), the follower's true angles while it settled ((t, q) pairs), and
    the follower's reading and its last goal once held (ticks): a servo under load holds
    its goal short by its compliance, which is the servo's, not the pair's."""

    leader_q: np.ndarray
    follower_q: np.ndarray
    trace: list[tuple[float, np.ndarray]]
    follower_reading: np.ndarray | None = None
    follower_goal: np.ndarray | None = None


@dataclass(frozen=True)
class TeleopRun:
    """A scripted teleoperation of the twin pair: the poses held, how long each was
    watched (s), the gripperframe site's position of a pose (m, the model's forward
    kinematics) and the follower's joints that were held (their read-only checks failed)."""

    poses: list[HeldPose]
    hold_s: float
    site_m: Callable[[np.ndarray], np.ndarray]
    held: dict[str, str] = field(default_factory=dict)


#: Latency beyond this is MARGINAL (advisory: it depends on the host's timing).
LATENCY_S = 0.5


def check_follower_reaches_leader(i: Inputs) -> list[Measurement]:
    """Per joint, the follower's true angle minus the leader's at each held pose, less the
    follower's own tracking error (its reading minus its goal: the servo's compliance under
    load, judged by the tracking checks), the worst against the tracking bound."""
    run: TeleopRun = i["teleop"]
    frames = ArmFrames(i.calibration, i.mapping)
    compliance = [frames.ticks_to_sim(p.follower_reading) - frames.ticks_to_sim(p.follower_goal)
                  if p.follower_reading is not None else np.zeros(len(MOTOR_NAMES))
                  for p in run.poses]
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        if joint in run.held:
            continue
        errors = [(p.follower_q[j] - p.leader_q[j] - c[j]) * RAD_TO_DEG
                  for p, c in zip(run.poses, compliance, strict=True)]
        lag = [c[j] * RAD_TO_DEG for c in compliance]
        worst = max(errors, key=abs)
        out.append(Measurement(
            "follower - leader (true angles)", joint, float(worst), "deg",
            -i.tolerances.tracking_deg, i.tolerances.tracking_deg,
            f"held at {len(errors)} poses the scripted person moved the leader twin to: "
            + ", ".join(f"{e:+.2f}" for e in errors) + " deg, less the follower's own "
            "tracking error (reading - goal: " + ", ".join(f"{x:+.2f}" for x in lag) + " deg)",
            cause=f"the leader's and the follower's calibrations disagree on {joint}: LeRobot "
            "sends the follower the leader's number, which puts it where its own calibration "
            "says (a zero shift, a mirrored motor, a short sweep on either arm)",
            fix="find the arm whose rest reading is off (test_leader_reads_the_rest_pose_at_rest "
            "and the follower's test_rest_pose) and recalibrate it"))
    return out


def tracking_mm(site_m: Callable[[np.ndarray], np.ndarray], q: np.ndarray, deg: float) -> float:
    """How far the gripper frame moves (mm) with every arm joint off by ``deg``, the
    worst of the signs taken joint by joint."""
    base = site_m(q)
    total = 0.0
    for j in range(len(q)):
        if j == GRIPPER:
            continue
        moved = [np.linalg.norm(site_m(q + sign * np.deg2rad(deg) * (np.arange(len(q)) == j))
                                - base) for sign in (-1, 1)]
        total += max(moved)
    return total * 1000


def check_gripper_and_latency(i: Inputs) -> list[Measurement]:
    """Per held pose, the gripper frame's distance between the two arms (mm, forward
    kinematics) against the distance one tracking bound on every arm joint moves it; and
    how long after the leader stopped the follower came within that bound (advisory)."""
    run: TeleopRun = i["teleop"]
    bound_deg = i.tolerances.tracking_deg
    out = []
    for k, pose in enumerate(run.poses):
        gap_mm = float(np.linalg.norm(run.site_m(pose.follower_q) - run.site_m(pose.leader_q))
                       * 1000)
        bound = tracking_mm(run.site_m, pose.leader_q, bound_deg)
        within = [t for t, q in pose.trace
                  if np.all(np.abs(np.delete(q - pose.leader_q, GRIPPER)) * RAD_TO_DEG
                            <= bound_deg)]
        latency = within[0] if within else run.hold_s      # never, while it was watched
        out += [Measurement(f"gripper frame follower - leader, pose {k + 1}", ARM, gap_mm,
                            "mm", None, bound, f"the gripperframe site {gap_mm:.1f} mm apart; "
                            f"{bound_deg:g} deg on every arm joint moves it {bound:.1f} mm"),
                Measurement(f"latency after the leader stopped, pose {k + 1}", ARM, latency,
                            "s", None, LATENCY_S, "time until every arm joint of the follower "
                            f"was within {bound_deg:g} deg of the leader" + (
                                "" if within else f": not within the {run.hold_s:g} s watched"),
                            advisory=True)]
    return out


@dataclass(frozen=True)
class GuidedTeleop:
    """A person moved the leader, then held it still: the last goal teleoperation sent the
    follower and the follower's reading once settled (ticks), the loop's cycles and rate."""

    goal: np.ndarray
    reading: np.ndarray
    cycles: int
    rate_hz: float
    settle_s: float


def check_follower_holds_goal(i: Inputs) -> list[Measurement]:
    """The follower's reading settled on the goal the leader's reading asks (deg, through
    the follower's calibration and the map)."""
    run: GuidedTeleop = i["teleop"]
    frames = ArmFrames(i.calibration, i.mapping)
    off_deg = (frames.ticks_to_sim(run.reading) - frames.ticks_to_sim(run.goal)) * RAD_TO_DEG
    bound = i.tolerances.tracking_deg
    return [Measurement(
        "follower reading - teleoperation goal, held", joint, float(off_deg[j]), "deg",
        -bound, bound,
        f"goal {run.goal[j]:.0f} ticks, read {run.reading[j]} ticks, {run.settle_s:g} s after "
        f"the leader was held still; {run.cycles} cycles at {run.rate_hz:.0f} Hz",
        cause="the follower does not reach the goals teleoperation sends: a weak or "
        "overloaded servo, a P gain lowered, a joint blocked, or its goal clipped at the "
        "safety envelope's edge (hold the leader mid-range)",
        fix="check the joint's servo (pytest suites/test_servo_health.py) and its mechanics "
        "(suites/test_mechanics.py)")
        for j, joint in enumerate(MOTOR_NAMES)]


def _leader_rest(i: Inputs) -> list[Measurement]:
    return check_rest_reading(replace(i, calibration=i["leader"]).with_readings(
        positions=i["leader_positions"]), check="leader rest reading vs mapped rest pose",
        who="the leader")


CHECKS: tuple[Check, ...] = (
    Check("pair-files", "leader and follower files agree", "teleoperation",
          ("calibration", "leader", "sim_to_robot"),
          lambda i: check_pair_files(i["leader"], i.calibration, i.mapping.robot_units),
          catches="drive modes that turn the follower the other way from the leader, sweeps "
          "that cannot both be complete", tolerance=f"same drive_mode; sweeps within "
          f"{PAIR_SWEEP_DEG:g} deg of each other", suite="teleop"),
    Check("leader-rest", "the leader at rest reads the rest pose", "teleoperation",
          ("leader", "sim_to_robot", "rest_pose", "leader_positions"), _leader_rest,
          catches="a leader whose zero is off (lerobot #3758: 17 deg on one joint, 6 cm at the "
          "gripper), a mirrored leader motor", tolerance="as the follower's rest reading",
          evidence=REST_EVIDENCE, suite="teleop"),
    Check("teleop-follower", "the follower reaches the leader's pose", "teleoperation",
          ("teleop",), check_follower_reaches_leader,
          catches="two arms that disagree on a joint's zero, seen on both arms' true angles",
          tolerance="--so101-tracking-deg", evidence=on_arms(twin=Evidence.TWIN),
          suite="teleop", empty_reason="the follower held every joint"),
    Check("teleop-gripper", "gripper frame and latency", "teleoperation", ("teleop",),
          check_gripper_and_latency,
          catches="the pair's disagreement at the gripper (mm), a slow follower (advisory)",
          tolerance="--so101-tracking-deg on every arm joint, at the gripperframe site; "
          f"latency {LATENCY_S:g} s (advisory)", evidence=on_arms(twin=Evidence.TWIN),
          suite="teleop"),
    Check("teleop-guided", "the follower holds the goal a person's leader asks",
          "teleoperation", ("calibration", "sim_to_robot", "teleop"), check_follower_holds_goal,
          catches="a follower that does not reach teleoperation's goals (a weak servo, a low "
          "gain, a blocked joint)", tolerance="--so101-tracking-deg",
          evidence={Setup.GUIDED: Evidence.SERVO}, suite="teleop"),
)
