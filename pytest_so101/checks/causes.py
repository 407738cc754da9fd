"""Why an arm-side check failed: the likely cause and the fix, from what it measured.

Shared by the domains that look at an arm (rest pose, readings, gravity, guided moves,
teleoperation): a zero that moved (a horn re-seated by whole spline teeth, a stale
calibration, a sweep across the encoder's seam), a reading that is the true angle's mirror
image (a mirrored motor, a drive_mode LeRobot never writes), registers that differ from the
file, a jog that went the wrong way, an arm that is not folded at all.
"""

from __future__ import annotations

import numpy as np

from ..core.calibration import HOMING_POSE_TICKS, Calibration
from ..core.frames import DEG_PER_TICK, TOOTH_TICKS, RobotUnit
from ..core.joints import MOTOR_NAMES, SO101_NEW_CALIB_LIMITS, WRIST_ROLL, JointLimits
from ..core.mapping import RAD_TO_DEG

#: A sweep may exceed the model's joint range by this much (horn play, a model drawn a
#: little conservative); wider than that it has crossed the 0/4095 seam.
SWEEP_SLACK_DEG = 45.0


#: No joint but wrist_roll sweeps wider than this, whatever the model says.
MAX_SWEEP_DEG = 350.0


LEROBOT_CALIBRATE = ("recalibrate the arm (lerobot-calibrate --robot.type=so101_follower "
                     "--robot.id=ARM_ID)")
#: How an owner accepts a real change (a recalibration) against the previous baseline.
ACCEPT_CHANGES = ("accept it as the arm's next baseline (pytest ... --so101-accept-changes: "
                  "it records what changed against the previous baseline, and that you "
                  "acknowledged it)")
RECALIBRATE = f"{LEROBOT_CALIBRATE}, then {ACCEPT_CHANGES}"


def widest_sweep_deg(limits: JointLimits) -> np.ndarray:
    """The widest sweep each joint can record without crossing the 0/4095 seam (deg): the
    model's range plus some slack, at most 350 deg. The one threshold of the seam."""
    return np.minimum(limits.upper_deg - limits.lower_deg + SWEEP_SLACK_DEG, MAX_SWEEP_DEG)


def sweep_crosses_seam(cal: Calibration, limits: JointLimits, joint: int) -> bool:
    """True when this joint's recorded sweep is wider than the joint can move (wrist_roll,
    fixed to 0..4095 by LeRobot, never)."""
    width_deg = (cal.range_max[joint] - cal.range_min[joint]) * DEG_PER_TICK
    return joint != WRIST_ROLL and bool(width_deg > widest_sweep_deg(limits)[joint])


SEAM_CAUSE = ("the sweep crossed the encoder's 0/4095 seam while calibrating (lerobot issues "
              "#3586, #3587): the joint's travel wraps from 4095 to 0, so min/max record "
              "nearly a full turn instead of the travel")


SEAM_FIX = ("hold the joint at the middle of its travel while homing, so the held pose reads "
            "2047 and the travel stays clear of the seam: " + RECALIBRATE)


def explain_zero_shift(joint: int, off_ticks: float, cal: Calibration | None = None,
                       limits: JointLimits = SO101_NEW_CALIB_LIMITS) -> tuple[str, str]:
    """Why a joint reads ``off_ticks`` away from where it physically is."""
    teeth = off_ticks / TOOTH_TICKS
    if cal is not None and sweep_crosses_seam(cal, limits, joint):
        return SEAM_CAUSE, SEAM_FIX
    if abs(teeth) >= 0.5 and abs(teeth - round(teeth)) * TOOTH_TICKS <= 12:
        n = round(abs(teeth))
        return (f"the horn was re-seated {n} spline {'tooth' if n == 1 else 'teeth'} "
                f"({n * TOOTH_TICKS:.0f} ticks, {n * TOOTH_TICKS * DEG_PER_TICK:.1f} deg) "
                "since calibrating",
                f"re-seat the horn where it was, or {RECALIBRATE}")
    return ("the assembly changed since calibrating (horn slipped, motor or horn replaced): "
            "the calibration is stale",
            RECALIBRATE)


#: A joint this far from the rest pose is not resting there (deg) ...
NOT_AT_REST_DEG = 10.0


#: ... and with this many such joints the arm is not in its rest pose at all (one or two
#: joints off are a fault of those joints: mirrored, re-seated, stale).
NOT_AT_REST_JOINTS = 3


def joints_off_rest(q_read_rad: np.ndarray, q_rest_rad: np.ndarray) -> list[int]:
    """The joints that read more than :data:`NOT_AT_REST_DEG` from the rest pose."""
    off = np.abs(np.asarray(q_read_rad) - np.asarray(q_rest_rad)) * RAD_TO_DEG
    return [int(j) for j in np.flatnonzero(off > NOT_AT_REST_DEG)]


#: A joint reading this far outside the sweep its calibration recorded (deg) cannot be
#: this arm's: an arm never rests where it never went while it was calibrated.
OUTSIDE_SWEEP_DEG = 5.0
#: Joints this close to the pose they were held in while homing (deg, every joint reading
#: HOMING_POSE_TICKS there): the arm was left in its calibration pose, not folded.
AT_MIDDLE_DEG = 15.0
FOLD = ("fold the arm into its rest pose (on its stops) before the run; with so101-twin "
        "serve, start it with --start rest")


def arm_not_at_rest(q_read_rad: np.ndarray, q_rest_rad: np.ndarray, *,
                    reading_ticks: np.ndarray | None = None,
                    cal: Calibration | None = None) -> tuple[str, str] | None:
    """(cause, fix) when the arm as a whole is not in its rest pose, else None. With the
    reading in ticks and the calibration, what the readings can tell is told: joints outside
    the sweep they recorded (a calibration that is not this arm's), every joint off reading
    near the pose it was held in while homing (the arm left in its calibration pose); where
    they cannot tell, both are named."""
    off = joints_off_rest(q_read_rad, q_rest_rad)
    if len(off) < NOT_AT_REST_JOINTS:
        return None
    names = ", ".join(MOTOR_NAMES[j] for j in off)
    which = f"{len(off)} of 6 joints ({names}) read more than {NOT_AT_REST_DEG:g} deg from it"
    if reading_ticks is not None and cal is not None:
        margin = OUTSIDE_SWEEP_DEG / DEG_PER_TICK
        outside = [MOTOR_NAMES[j] for j in range(len(MOTOR_NAMES)) if j != WRIST_ROLL and not
                   cal.range_min[j] - margin <= reading_ticks[j] <= cal.range_max[j] + margin]
        if outside:
            return (f"the calibration is not this arm's (another arm's, written into the "
                    f"servos): {', '.join(outside)} read outside the sweep the calibration "
                    f"recorded, where the arm never went while calibrating; {which}",
                    "use this arm's own calibration file (lerobot-calibrate writes it into the "
                    f"servos at connect), or {RECALIBRATE}")
    if reading_ticks is not None and all(
            abs(reading_ticks[j] - HOMING_POSE_TICKS) * DEG_PER_TICK <= AT_MIDDLE_DEG
            for j in off):
        return (f"the arm is not folded in its rest pose: it stands near the middle of each "
                f"joint's travel, where it was held while calibrating; {which}", FOLD)
    return (f"the arm is not folded in its rest pose, or the calibration in the servos is "
            f"another arm's (the readings cannot tell which): {which}",
            f"{FOLD}; if it still reads off, check the servos carry this arm's calibration "
            f"(the registers check, so101-diagnose --port) and {RECALIBRATE}")


#: Joints that rest on a stop in the folded pose (the others are placed by eye): a reading
#: off there is either a stale calibration or a joint not on its stop.
ON_A_STOP_AT_REST = ("shoulder_lift", "elbow_flex", "wrist_flex", "gripper")


def explain_off_rest(joint: int, off_deg: float, cause: str, fix: str) -> tuple[str, str]:
    """Why one joint (of one or two) reads away from the rest pose, the readings alone
    being unable to tell a stale calibration from a joint not on its stop: both, ranked."""
    name = MOTOR_NAMES[joint]
    if name not in ON_A_STOP_AT_REST or cause.startswith("direction reversed"):
        return cause, fix
    stop = "closed on its stop" if name == "gripper" else "on its stop"
    act = "close it" if name == "gripper" else "fold it onto its stop"
    return (f"{name} reads {off_deg:+.1f} deg from the rest pose: if it is {stop}, {cause}; "
            f"if not, it is simply not {stop}",
            f"{act} and run again; if it still reads off, {fix}")


def drive_mode_reverses(cal: Calibration | None, units: tuple[RobotUnit, ...] | None,
                        joint: int) -> bool:
    """drive_mode 1 reverses a joint only where LeRobot reads it in its range units (its
    DEGREES mode ignores drive_mode)."""
    return cal is not None and units is not None and cal.drive_mode[joint] == 1 and \
        units[joint] in (RobotUnit.RANGE_M100_100, RobotUnit.RANGE_0_100)


def explain_reversed(joint: int, *, declared_direction: float | None = None,
                     drive_mode_reversed: bool = False) -> tuple[str, str]:
    """Why a joint turns the other way round than declared, and the fix that turns it back
    (a drive_mode 1 LeRobot never writes; else a mirrored motor or the declared direction:
    the fix flips whichever direction the mapping declares)."""
    name = MOTOR_NAMES[joint]
    if drive_mode_reversed:
        return (f"direction reversed: {name} has drive_mode 1 in the calibration file, which "
                "reverses it in LeRobot's range units, but the motor is not mirrored "
                "(LeRobot's calibration never writes 1)",
                f"set {name} drive_mode to 0 in the calibration file")
    flip = "+1" if declared_direction is not None and declared_direction < 0 else "-1"
    return ("direction reversed: a mirrored motor (mounted reversed; LeRobot does not detect "
            f"it, lerobot issue #3942), or the wrong direction for {name} in [sim_to_robot]",
            f"set direction = {flip} for {name} in [sim_to_robot] (or remount the motor)")


#: A reading this close to the true angle's mirror image (about the calibrated middle)
#: names a mirrored motor (deg).
MIRROR_MATCH_DEG = 5.0


def explain_reading(joint: int, q_read_rad: float, q_true_rad: float, q_middle_rad: float,
                    off_ticks: float, cal: Calibration | None = None,
                    limits: JointLimits = SO101_NEW_CALIB_LIMITS, *,
                    declared_direction: float | None = None,
                    units: tuple[RobotUnit, ...] | None = None) -> tuple[str, str]:
    """Why a joint reads ``q_read_rad`` where it physically is at ``q_true_rad`` (sim
    frame): a mirrored motor when the reading is the true angle mirrored about the
    calibrated middle (``q_middle_rad``), else a shifted zero (:func:`explain_zero_shift`)."""
    off_deg = abs(q_read_rad - q_true_rad) * RAD_TO_DEG
    mirror_deg = abs(q_read_rad + q_true_rad - 2 * q_middle_rad) * RAD_TO_DEG
    if off_deg > 2 * MIRROR_MATCH_DEG and mirror_deg < MIRROR_MATCH_DEG:
        cause, fix = explain_reversed(joint, declared_direction=declared_direction,
                                      drive_mode_reversed=drive_mode_reverses(cal, units, joint))
        return (f"{cause}: it reads {np.rad2deg(q_read_rad):.1f} deg where the joint is at "
                f"{np.rad2deg(q_true_rad):.1f} deg, the mirror image about the middle of the "
                "calibrated range", f"{fix}; the gravity check and --so101-guided confirm it")
    cause, fix = explain_zero_shift(joint, off_ticks, cal, limits)
    if mirror_deg < off_deg / 2:      # nearer the mirror image than the truth: either may be
        cause += (f"; or a mirrored motor: the reading is {mirror_deg:.1f} deg from the joint's "
                  "mirror image about the middle of its calibrated range (too close to the "
                  "middle to tell them apart at this pose)")
        fix += "; --so101-guided (a person moves the joint) tells a mirror from a shift"
    return cause, fix


def explain_register_mismatch(differing_joints: list[str], *, ranges_only: bool = False
                              ) -> tuple[str, str]:
    """Why the servos' calibration registers differ from the file."""
    if differing_joints and ranges_only:
        return ("the file's ranges differ from the servos' position limits while the homing "
                "offsets agree: the file comes from another calibration run of this arm (a "
                "different sweep), so LeRobot's DEGREES zero (the middle of the range) and "
                "its -100..100 scale differ from the arm's",
                "use the file of the calibration the servos carry, or " + RECALIBRATE)
    if len(differing_joints) >= 3:
        return ("the calibration file belongs to another arm (or this arm was recalibrated "
                f"without this file): {len(differing_joints)} of 6 joints differ",
                "pass this arm's own file (--so101-calibration ARM_ID finds it under "
                "$HF_LEROBOT_CALIBRATION/robots/so_follower/), or " + RECALIBRATE)
    return ("this servo was replaced or recalibrated on its own since the file was written",
            RECALIBRATE)


def explain_jog(joint: int, commanded_deg: float, moved_deg: float,
                cal: Calibration | None = None, *, declared_direction: float | None = None,
                units: tuple[RobotUnit, ...] | None = None) -> tuple[str, str]:
    """Why a jog moved the joint the wrong way or by the wrong amount."""
    name = MOTOR_NAMES[joint]
    if abs(moved_deg) > 0.5 and np.sign(moved_deg) != np.sign(commanded_deg):
        return explain_reversed(joint, declared_direction=declared_direction,
                                drive_mode_reversed=drive_mode_reverses(cal, units, joint))
    ratio = moved_deg / commanded_deg if commanded_deg else np.nan
    if np.isclose(ratio, RAD_TO_DEG, rtol=0.1) or np.isclose(ratio, 1 / RAD_TO_DEG, rtol=0.1):
        return ("radians taken for degrees in [sim_to_robot] (a factor of 57.3)",
                f"fix {name}'s [sim_to_robot] scale (57.2958 per rad for degrees)")
    return (f"the [sim_to_robot] scale of {name} is off by a factor {1 / ratio:.3g}"
            if np.isfinite(ratio) and ratio else "the joint does not follow its goal",
            f"check {name}'s [sim_to_robot] scale against its units (the scale check)")
