"""The rest pose: the arm folded on its stops is a physical reference the servos and the
files cannot fake. The rest pose (the mapping's ``[sim] rest_pose``, else the model's
``rest`` keyframe; never the reference pose), mapped through the declared [sim_to_robot]
map and the calibration, must equal what the arm reads resting there; sending the mapped
rest pose to the resting arm must move nothing. The paired-poses method (map sim to real
through a shared reference pose, then validate that the mapped rest pose causes no motion)
is exactly this.

Evidence: ``physical`` on a real arm, ``twin`` on the emulated arm (a person folds a real
arm and places the joints no stop holds by eye: shoulder_pan and wrist_roll get
:data:`~pytest_so101.core.tolerances.REST_BY_EYE_DEG`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.arm_frames import ArmFrames
from ..core.joints import MOTOR_NAMES, JointLimits
from ..core.mapping import RAD_TO_DEG
from ..core.measurement import Evidence, Measurement
from ..core.poses import RestPose
from ..core.tolerances import PLACED_BY_EYE, Tolerances, rest_tolerance_deg
from .base import Check, Inputs, Setup, on_arms
from .causes import (
    NOT_AT_REST_DEG,
    NOT_AT_REST_JOINTS,
    arm_not_at_rest,
    explain_off_rest,
    explain_reading,
    joints_off_rest,
)

#: Joints that carry the arm's weight: the gravity check sees their direction (with motion).
LOADED = ("shoulder_lift", "elbow_flex", "wrist_flex")
#: "No motion" allows a few tolerances: beyond that the mapped rest pose is not sent.
NO_MOTION_TOLERANCES = 3
#: Setups where a person folded the arm (a real one): joints no stop holds are placed by eye.
BY_HAND = (Setup.HARDWARE, Setup.MOTION, Setup.GUIDED)


@dataclass(frozen=True)
class RestMotion:
    """The mapped rest pose sent to the resting arm: the reading before, the goal (ticks),
    the reading after (None: not sent, it would have moved too far) and the joints held
    (joint -> the read-only test that failed on it)."""

    before: np.ndarray
    goal: np.ndarray
    after: np.ndarray | None
    held: dict[str, str]


def rest_bounds_deg(tolerances: Tolerances, setup: Setup) -> np.ndarray:
    """Per joint, how far it may read from the rest pose (deg): on a real arm a person
    folded it, and placed the joints no stop holds by eye."""
    by_hand = setup in BY_HAND
    return np.array([rest_tolerance_deg(joint, tolerances, placed_by_hand=by_hand)
                     for joint in MOTOR_NAMES])


def explain_rest(frames: ArmFrames, q_rest: np.ndarray, reading: np.ndarray, joint: int,
                 limits: JointLimits) -> tuple[str, str]:
    """Why a joint reads away from the rest pose: the arm is not at rest at all (or its
    calibration is another arm's), or (see :func:`~pytest_so101.checks.causes.
    explain_reading`) a mirrored motor or a shifted zero, or the joint is not on its stop."""
    q_read = frames.ticks_to_sim(reading)
    whole = arm_not_at_rest(q_read, q_rest, reading_ticks=reading, cal=frames.calibration)
    if whole is not None:
        return whole
    expected = frames.sim_to_ticks(q_rest)
    cause, fix = explain_reading(joint, q_read[joint], q_rest[joint],
                                 frames.calibrated_middle_sim()[joint],
                                 reading[joint] - expected[joint], frames.calibration, limits,
                                 declared_direction=frames.mapping.sim_to_robot.direction[joint],
                                 units=frames.units)
    return explain_off_rest(joint, (q_read[joint] - q_rest[joint]) * RAD_TO_DEG, cause, fix)


def check_arm_at_rest(i: Inputs) -> list[Measurement]:
    """The arm as a whole rests folded (fewer than three joints off the rest pose): an arm
    left unfolded, or carrying another arm's calibration, fails here once, for the arm,
    which holds every joint still for the rest of the run."""
    frames = ArmFrames(i.calibration, i.mapping)
    q_rest = np.asarray(i["rest_pose"].q_sim_rad, dtype=float)
    reading = np.asarray(i["positions"])[-1]
    q_read = frames.ticks_to_sim(reading)
    off = joints_off_rest(q_read, q_rest)
    whole = arm_not_at_rest(q_read, q_rest, reading_ticks=reading, cal=frames.calibration)
    cause, fix = whole if whole is not None else ("", "")
    return [Measurement(
        "joints off the rest pose", "all", float(len(off)), "joints", None,
        NOT_AT_REST_JOINTS - 1,
        f"{', '.join(MOTOR_NAMES[j] for j in off) or 'no joint'} read more than "
        f"{NOT_AT_REST_DEG:g} deg from the rest pose ({i['rest_pose'].source})",
        cause=cause, fix=fix, marginal_fraction=1.0)]


def check_rest_reading(i: Inputs, *, check: str = "rest reading vs mapped rest pose",
                       who: str = "") -> list[Measurement]:
    """Per joint, the reading at rest against the mapped rest pose (deg, sim frame).
    ``who`` names the arm in the cause ("the leader")."""
    frames = ArmFrames(i.calibration, i.mapping)
    rest: RestPose = i["rest_pose"]
    q_rest = np.asarray(rest.q_sim_rad, dtype=float)
    reading = np.asarray(i["positions"])[-1]
    expected = frames.sim_to_ticks(q_rest)
    q_read = frames.ticks_to_sim(reading)
    bounds = rest_bounds_deg(i.tolerances, i.setup)
    by_hand = i.setup in BY_HAND
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        error_deg = (q_read[j] - q_rest[j]) * RAD_TO_DEG
        cause, fix = explain_rest(frames, q_rest, reading, j, i.limits)
        by_eye = joint in PLACED_BY_EYE and by_hand
        if by_eye and not cause.startswith("direction reversed"):
            cause = (f"{joint} is not where it was folded: no stop holds it at rest, so a "
                     f"person places it by eye (within {bounds[j]:g} deg), or {cause}")
            fix = (f"place {joint} at its rest pose by eye and run again; if it still reads "
                   f"off, {fix}")
        if who:
            cause = (f"on {who}, {cause}; teleoperated, the follower misses the leader's pose "
                     "by as much, and a recorded dataset carries it (lerobot #3758)")
            fix = f"{fix} (the leader: lerobot-calibrate --teleop.type=so101_leader)"
        out.append(Measurement(
            check, joint, float(error_deg), "deg", -bounds[j], bounds[j],
            f"{who + ' ' if who else ''}reads {reading[j]} ticks at rest; the rest pose "
            f"({np.rad2deg(q_rest[j]):.4g} deg sim, {rest.source}) maps to "
            f"{expected[j]:.1f} ticks: off by {reading[j] - expected[j]:+.1f} ticks"
            + (" (placed by eye: no stop holds it at rest)" if by_eye else ""),
            cause=cause, fix=fix))
    return out


def check_mirror_visible_at_rest(i: Inputs) -> list[Measurement]:
    """A mirrored motor (or a drive_mode reversing it) reads the true angle mirrored about
    the calibrated middle: at rest it shows only when the rest pose is away from that middle
    by more than the rest check's bound. A joint resting near its middle that carries no
    weight (the base, the wrist's roll) has its direction checked by no read-only check:
    MARGINAL (advisory), never a silent pass."""
    frames = ArmFrames(i.calibration, i.mapping)
    q_rest = np.asarray(i["rest_pose"].q_sim_rad, dtype=float)
    middle = frames.calibrated_middle_sim()
    bounds = rest_bounds_deg(i.tolerances, i.setup)
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        if i.setup is Setup.MOTION and joint in LOADED:
            continue                       # the gravity check sees its direction
        gap_deg = 2 * abs(q_rest[j] - middle[j]) * RAD_TO_DEG
        # a joint placed by eye may rest anywhere within its bound, toward its mirror too
        seen_beyond = bounds[j] * (2 if joint in PLACED_BY_EYE else 1)
        out.append(Measurement(
            "a mirror image's distance from the rest pose", joint, float(gap_deg), "deg",
            seen_beyond, None,
            f"mirrored, {joint} would read {gap_deg:.1f} deg from its rest pose, "
            + (f"which the rest check ({bounds[j]:g} deg) need not see"
               + (" on a joint placed by eye" if joint in PLACED_BY_EYE else "")
               + ": its direction is not checked in this run (no weight on it for the "
               "gravity check); run with --so101-guided"
               if gap_deg < seen_beyond else "which the rest check sees"),
            cause=f"{joint}'s direction is not checked by this run",
            fix="run with --so101-guided: a person moves the joint in a named direction",
            advisory=True))
    return out


def check_rest_no_motion(i: Inputs) -> list[Measurement]:
    """Sending the mapped rest pose to the resting arm moves no joint more than the rest
    check allows; not sent (each joint's asked motion measured) when it would move one more
    than a few bounds, or move a joint whose read-only checks failed."""
    frames = ArmFrames(i.calibration, i.mapping)
    sent: RestMotion = i["rest_motion"]
    bounds = rest_bounds_deg(i.tolerances, i.setup)
    before_sim = frames.ticks_to_sim(sent.before)
    if sent.after is None:
        asked_deg = (frames.ticks_to_sim(sent.goal) - before_sim) * RAD_TO_DEG
        return [Measurement(
            "motion the mapped rest pose asks", joint, float(asked_deg[j]), "deg",
            -bounds[j], bounds[j],
            f"not sent: would move {joint} from {sent.before[j]} to {sent.goal[j]:.0f} ticks"
            + (f"; held: {sent.held[joint]}" if joint in sent.held else ""),
            cause="the arm is not where the mapped rest pose says: see the rest reading check",
            fix="fix what the rest reading check names before sending poses")
            for j, joint in enumerate(MOTOR_NAMES)]
    moved_deg = (frames.ticks_to_sim(sent.after) - before_sim) * RAD_TO_DEG
    return [Measurement("motion when sent the mapped rest pose", joint, float(moved_deg[j]),
                        "deg", -bounds[j], bounds[j], f"{sent.before[j]} -> {sent.after[j]} ticks")
            for j, joint in enumerate(MOTOR_NAMES)]


def no_motion_plan(frames: ArmFrames, before: np.ndarray, q_rest_rad: np.ndarray,
                   tolerances: Tolerances, setup: Setup, held: dict[str, str]
                   ) -> tuple[np.ndarray, bool, float]:
    """The goal (ticks) of the mapped rest pose, whether it may be sent (no joint asked
    more than a few bounds, no held joint asked more than its bound), and the largest
    travel a move to it may make (ticks)."""
    goal = np.rint(frames.sim_to_ticks(q_rest_rad))
    asked_deg = (frames.ticks_to_sim(goal) - frames.ticks_to_sim(before)) * RAD_TO_DEG
    bounds = rest_bounds_deg(tolerances, setup)
    allowed = NO_MOTION_TOLERANCES * bounds
    held_too_far = any(abs(asked_deg[j]) > bounds[j]
                       for j, joint in enumerate(MOTOR_NAMES) if joint in held)
    ticks_per_deg = np.abs(frames.sim_to_ticks(q_rest_rad + np.deg2rad(1.0)) - goal)
    travel = float(np.max(ticks_per_deg * allowed)) + 1
    return goal, not (np.any(np.abs(asked_deg) > allowed) or held_too_far), travel


REST_EVIDENCE = on_arms(twin=Evidence.TWIN, hardware=Evidence.PHYSICAL)

CHECKS: tuple[Check, ...] = (
    Check("rest-reading", "rest reading vs mapped rest pose", "rest pose",
          ("calibration", "sim_to_robot", "rest_pose", "positions"), check_rest_reading,
          catches="a mirrored motor, a horn re-seated or slipped since calibrating, another "
          "arm's calibration, a wrong [sim_to_robot] offset, an arm not folded",
          tolerance="--so101-tolerance-deg (on a real arm, shoulder_pan and wrist_roll: "
          "placed by eye, 5 deg)", evidence=REST_EVIDENCE, suite="rest_pose"),
    Check("arm-at-rest", "the arm rests folded", "rest pose",
          ("calibration", "sim_to_robot", "rest_pose", "positions"), check_arm_at_rest,
          catches="an arm left unfolded (at its calibration pose, or anywhere), or carrying "
          "another arm's calibration: every joint held still for the rest of the run",
          tolerance=f"fewer than {NOT_AT_REST_JOINTS} joints more than {NOT_AT_REST_DEG:g} deg "
          "from the rest pose", evidence=REST_EVIDENCE, per_joint=False, suite="rest_pose"),
    Check("mirror-at-rest", "a mirror image's distance from the rest pose", "rest pose",
          ("calibration", "sim_to_robot", "rest_pose"), check_mirror_visible_at_rest,
          catches="(advisory) a joint whose mirrored motor the rest reading cannot see and "
          "no other check of this run looks at (shoulder_pan, wrist_roll)",
          tolerance="the mirror image beyond the rest bound (twice on a joint placed by eye)",
          evidence={Setup.HARDWARE: Evidence.FILES, Setup.MOTION: Evidence.FILES},
          firm=False, suite="rest_pose"),
    Check("rest-no-motion", "the mapped rest pose causes no motion", "rest pose",
          ("calibration", "sim_to_robot", "rest_motion"), check_rest_no_motion,
          catches="a map that sends the resting arm somewhere else: a wrong offset or "
          "direction in [sim_to_robot], a stale calibration",
          tolerance="the rest reading's bound; not sent beyond three times it",
          evidence=REST_EVIDENCE, suite="rest_pose"),
)
