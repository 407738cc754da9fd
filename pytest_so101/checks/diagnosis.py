"""Diagnosis: the checks of the configuration files, and the likely cause and fix of a
failure.

Each check returns per-joint :class:`Measurement` records whose failures carry ``cause``
and ``fix`` (the catalog is docs/faults.md); :mod:`pytest_so101.checks.table` lists them as one
table. The ``explain_*`` functions interpret what the arm-side checks measured (a zero
that moved, registers that differ from the file, a jog that went the wrong way).
"""

from __future__ import annotations

import numpy as np

from ..core.calibration import Calibration
from ..core.chain import map_disagreement_deg, robot_to_policy_map
from ..core.frames import (
    DEG_PER_TICK,
    LEROBOT_MAX_RES,
    TICKS_PER_RAD,
    TOOTH_TICKS,
    PolicyFrame,
    RobotUnit,
    ticks_to_units,
    units_to_ticks,
)
from ..core.joints import (
    GRIPPER,
    KNOWN_MODELS,
    MOTOR_NAMES,
    N_JOINTS,
    SO101_NEW_CALIB_LIMITS,
    WRIST_ROLL,
    JointLimits,
)
from ..core.mapping import RAD_TO_DEG, JointMap, MappingFile, SolvedMap
from ..core.measurement import Evidence, Measurement
from ..core.poses import PairedPoses
from ..core.stats import NormStats
from .fingerprint import conversion, frame_name, rank_frames

#: A sweep may exceed the model's joint range by this much (horn play, a model drawn a
#: little conservative); wider than that it has crossed the 0/4095 seam.
SWEEP_SLACK_DEG = 45.0
#: No joint but wrist_roll sweeps wider than this, whatever the model says.
MAX_SWEEP_DEG = 350.0
#: How far the model's range, mapped through [sim_to_robot], may land from the calibrated
#: range at either end: real sweeps stop short of the model's limits by some degrees.
COVERAGE_TOLERANCE_DEG = 25.0
#: A servo turns with its joint one to one: the declared scale must match within this.
SCALE_TOLERANCE = 0.03
#: A model is recognised when every joint limit matches within this (rad).
MODEL_MATCH_RAD = 0.02
#: The fingerprint overrules the declared frame only by this much penalty.
FRAME_DECISION_MARGIN = 0.5
RECALIBRATE = ("recalibrate the arm (lerobot-calibrate --robot.type=so101_follower "
               "--robot.id=ARM_ID), then accept a new baseline (--so101-accept)")


def _unit_name(unit: RobotUnit) -> str:
    return {RobotUnit.DEGREES: "degrees", RobotUnit.RANGE_M100_100: "-100..100",
            RobotUnit.RANGE_0_100: "0..100", RobotUnit.TICKS: "ticks"}[unit]


# -- the calibration file alone ---------------------------------------------------------

def widest_sweep_deg(limits: JointLimits) -> np.ndarray:
    """The widest sweep each joint can record without crossing the 0/4095 seam (deg): the
    model's range plus some slack, at most 350 deg. The one threshold of the seam."""
    return np.minimum(limits.upper_deg - limits.lower_deg + SWEEP_SLACK_DEG, MAX_SWEEP_DEG)


def sweep_crosses_seam(cal: Calibration, limits: JointLimits, joint: int) -> bool:
    """True when this joint's recorded sweep is wider than the joint can move (wrist_roll,
    fixed to 0..4095 by LeRobot, never)."""
    width_deg = (cal.range_max[joint] - cal.range_min[joint]) * DEG_PER_TICK
    return joint != WRIST_ROLL and bool(width_deg > widest_sweep_deg(limits)[joint])


def check_calibrated_ranges(cal: Calibration, limits: JointLimits) -> list[Measurement]:
    """Each sweep is no wider than the joint can move; one across the 0/4095 seam reads
    nearly a full turn (lerobot issues #3586, #3587). wrist_roll is fixed to 0..4095."""
    width_deg = (cal.range_max - cal.range_min) * DEG_PER_TICK
    model_deg = limits.upper_deg - limits.lower_deg
    allowed = widest_sweep_deg(limits)
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        if j == WRIST_ROLL:
            continue
        m, big_m = int(cal.range_min[j]), int(cal.range_max[j])
        out.append(Measurement(
            "calibrated range width", joint, float(width_deg[j]), "deg", None, float(allowed[j]),
            f"{cal.source}: range_min {m}, range_max {big_m} ticks; the model's joint range "
            f"is {model_deg[j]:.4g} deg ({limits.source})",
            cause=SEAM_CAUSE, fix=SEAM_FIX))
    return out


SEAM_CAUSE = ("the sweep crossed the encoder's 0/4095 seam while calibrating (lerobot issues "
              "#3586, #3587): the joint's travel wraps from 4095 to 0, so min/max record "
              "nearly a full turn instead of the travel")
SEAM_FIX = ("hold the joint at the middle of its travel while homing, so the held pose reads "
            "2047 and the travel stays clear of the seam: " + RECALIBRATE)


def check_drive_modes(cal: Calibration, units: tuple[RobotUnit, ...]) -> list[Measurement]:
    """drive_mode 1 is never written by LeRobot, and its DEGREES mode ignores it: on a
    joint read in degrees a drive_mode of 1 reverses nothing (lerobot issue #3942)."""
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        ignored = units[j] is RobotUnit.DEGREES
        out.append(Measurement(
            "drive_mode with these units", joint, float(cal.drive_mode[j]), "mode",
            0 if ignored else None, 0 if ignored else 1,
            f"{cal.source}: drive_mode {int(cal.drive_mode[j])}, joint read in "
            f"{_unit_name(units[j])}",
            cause=("drive_mode 1 marks a mirrored motor, but LeRobot's DEGREES mode ignores "
                   "drive_mode (and LeRobot's calibration always writes 0: lerobot issue "
                   "#3942), so the joint still moves reversed"),
            fix=(f"set {joint} drive_mode to 0 and put direction = -1 for {joint} in "
                 "[sim_to_robot] if the motor is mounted reversed (the jog test tells)")))
    return out


# -- the mapping against the calibration and the model ------------------------------------

def expected_scale(units: tuple[RobotUnit, ...], cal: Calibration | None) -> np.ndarray:
    """Robot units per sim radian, per joint, for a servo that turns with its joint (NaN
    where the range units need the calibration and none was given)."""
    width_ticks = (cal.range_max - cal.range_min).astype(float) if cal is not None \
        else np.full(N_JOINTS, np.nan)
    per_tick = {RobotUnit.DEGREES: np.full(N_JOINTS, 360.0 / LEROBOT_MAX_RES),
                RobotUnit.RANGE_M100_100: 200.0 / width_ticks,
                RobotUnit.RANGE_0_100: 100.0 / width_ticks,
                RobotUnit.TICKS: np.ones(N_JOINTS)}
    return np.array([per_tick[u][j] for j, u in enumerate(units)]) * TICKS_PER_RAD


def _scale_cause(joint: int, ratio: float, unit: RobotUnit, other_units: dict[str, float]
                 ) -> str:
    if np.isclose(ratio, 1 / RAD_TO_DEG, rtol=0.05):
        return ("radians taken for degrees: the map gives the joint in radians where the robot "
                "reports degrees (a factor of 57.3)")
    if np.isclose(ratio, RAD_TO_DEG, rtol=0.05):
        return "degrees taken for radians: the map's input is in degrees (a factor of 57.3)"
    for name, other in other_units.items():
        if np.isclose(ratio, other, rtol=SCALE_TOLERANCE / 2):
            what = "the gripper's 0..100 range treated as degrees (LeRobot always reads the " \
                "gripper as 0..100)" if joint == GRIPPER and name == "degrees" else \
                f"the map was written for a robot reporting {name}, this one reports " \
                f"{_unit_name(unit)}"
            return what
    return f"the scale is off by a factor {ratio:.4g}"


def check_sim_to_robot_scale(mapping: MappingFile, cal: Calibration | None
                             ) -> list[Measurement]:
    """|[sim_to_robot] scale| equals one servo turn per joint turn in the robot's units."""
    if mapping.sim_to_robot is None or mapping.robot_units is None:
        return []
    units = mapping.robot_units
    expected = expected_scale(units, cal)
    in_each_unit = {u: expected_scale((u,) * N_JOINTS, cal) for u in RobotUnit}
    declared = mapping.sim_to_robot.scale
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        if not np.isfinite(expected[j]):
            continue
        ratio = float(declared[j] / expected[j])
        others = {_unit_name(u): float(scale[j] / expected[j])
                  for u, scale in in_each_unit.items() if u is not units[j]}
        out.append(Measurement(
            "sim_to_robot scale / expected", joint, ratio, "x", 1 - SCALE_TOLERANCE,
            1 + SCALE_TOLERANCE,
            f"{mapping.source}: scale {declared[j]:.6g} {_unit_name(units[j])} per rad, a servo "
            f"turning with its joint gives {expected[j]:.6g}",
            cause=_scale_cause(j, ratio, units[j], {k: v for k, v in others.items()
                                                     if np.isfinite(v)}),
            fix=f"set [sim_to_robot] scale for {joint} to {expected[j]:.6g}"))
    return out


def check_sim_to_robot_covers_calibration(mapping: MappingFile, cal: Calibration,
                                          limits: JointLimits) -> list[Measurement]:
    """The model's joint range, mapped through [sim_to_robot] and the calibration, lands on
    the calibrated range (a pi/2 offset or a wrong zero puts it tens of degrees away)."""
    if mapping.sim_to_robot is None or mapping.robot_units is None:
        return []
    units = mapping.robot_units
    ends_robot = mapping.sim_to_robot.apply(np.stack([limits.lower_rad, limits.upper_rad]))
    ends_ticks = np.sort(units_to_ticks(ends_robot, cal, units, rounding=None, clamp=False),
                         axis=0)
    low_off = (ends_ticks[0] - cal.range_min) * DEG_PER_TICK
    high_off = (ends_ticks[1] - cal.range_max) * DEG_PER_TICK
    centre_off = (low_off + high_off) / 2
    # the offset that puts the model's middle on the calibrated middle, in robot units
    cal_centre = ticks_to_units((cal.range_min + cal.range_max) / 2, cal, units, clamp=False)
    model_centre = mapping.sim_to_robot.apply((limits.lower_rad + limits.upper_rad) / 2)
    better_offset = mapping.sim_to_robot.offset + cal_centre - model_centre
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        if j == WRIST_ROLL:       # fixed 0..4095 by LeRobot: the model's range lies inside
            worst = max(0.0, -float(low_off[j]), float(high_off[j]))
        else:
            worst = float(max(abs(low_off[j]), abs(high_off[j])))
        quarter = np.isclose(abs(centre_off[j]), 90.0, atol=12.0)
        width_ratio = (ends_ticks[1, j] - ends_ticks[0, j]) / max(
            1, cal.range_max[j] - cal.range_min[j])
        scale_wrong = j != WRIST_ROLL and not 0.7 <= width_ratio <= 1.3
        cause = (f"the model's range maps onto {width_ratio:.3g} times the calibrated width: "
                 "the [sim_to_robot] scale is wrong (see the scale check)" if scale_wrong else
                 "an offset of pi/2: a model whose zero is the arm stretched out (SO-100, "
                 "so101_old_calib) used with a map written for so101_new_calib, or the reverse"
                 if quarter else
                 f"the [sim_to_robot] offset (or the calibration's zero) puts the model's range "
                 f"{centre_off[j]:+.1f} deg off the calibrated range")
        out.append(Measurement(
            "model range vs calibrated range", joint, worst, "deg", None,
            COVERAGE_TOLERANCE_DEG,
            f"the model's range [{limits.lower_deg[j]:.4g}, {limits.upper_deg[j]:.4g}] deg maps "
            f"to ticks [{ends_ticks[0, j]:.0f}, {ends_ticks[1, j]:.0f}], calibrated "
            f"[{cal.range_min[j]}, {cal.range_max[j]}] ({cal.source})",
            cause=cause,
            fix=(f"fix {joint}'s [sim_to_robot] scale first (the scale check gives it)"
                 if scale_wrong else
                 f"set [sim_to_robot] offset for {joint} to {better_offset[j]:.6g}"
                 + (" (or load the MJCF the map was written for)" if quarter else ""))))
    return out


def identify_model(limits: JointLimits) -> tuple[str | None, float]:
    """The known model whose joint limits these are (within 0.02 rad), and the worst
    difference in rad; None when no known model matches."""
    best, best_diff = None, np.inf
    for name, model in KNOWN_MODELS.items():
        diff = float(max(np.abs(model.limits.lower_rad - limits.lower_rad).max(),
                         np.abs(model.limits.upper_rad - limits.upper_rad).max()))
        if diff < best_diff:
            best, best_diff = name, diff
    return (best if best_diff <= MODEL_MATCH_RAD else None), best_diff


def check_model_matches_mapping(mapping: MappingFile, limits: JointLimits) -> list[Measurement]:
    """The MJCF's joint limits are those of the model the mapping was written for."""
    declared = KNOWN_MODELS[mapping.model].limits
    found, _ = identify_model(limits)
    low = np.abs(limits.lower_deg - declared.lower_deg)
    high = np.abs(limits.upper_deg - declared.upper_deg)
    shift = (limits.lower_deg + limits.upper_deg - declared.lower_deg - declared.upper_deg) / 2
    what = f"the {found} model" if found else "a model of unknown calibration"
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        out.append(Measurement(
            "model limits vs the mapping's model", joint, float(max(low[j], high[j])), "deg",
            None, np.rad2deg(MODEL_MATCH_RAD),
            f"{limits.source}: [{limits.lower_deg[j]:.4g}, {limits.upper_deg[j]:.4g}] deg; "
            f"{mapping.source} is written for {mapping.model}: [{declared.lower_deg[j]:.4g}, "
            f"{declared.upper_deg[j]:.4g}] deg",
            cause=(f"the MJCF is {what} (its zero {shift[j]:+.1f} deg from {mapping.model}'s on "
                   f"{joint}; so101_old_calib and SO-100 put zero with the arm stretched out, "
                   f"so101_new_calib in the middle of each range) but the mapping was written "
                   f"for {mapping.model}"),
            fix=(f"load the {mapping.model} MJCF (--so101-mjcf; so101-diagnose: --mjcf), "
                 "or write the mapping for "
                 f"{found or 'this model'} ([sim] model, with {joint} offset shifted by "
                 f"{-shift[j]:+.4g} deg)")))
    return out


def check_robot_units_match_policy_frame(mapping: MappingFile, cal: Calibration | None,
                                         limits: JointLimits, *, tolerance_deg: float
                                         ) -> list[Measurement]:
    """On the arm, LeRobot hands the robot's readings to the policy unconverted: the robot
    must report in the frame the policy's stats were recorded in (use_degrees!)."""
    frame = mapping.policy_frame
    if frame is None or mapping.sim_to_robot is None or mapping.robot_units is None:
        return []
    if frame.legacy and mapping.sim_to_policy is not None:
        return []      # the user converts explicitly; judged against the reference chain
    units = mapping.robot_units
    # without the calibration this raises, naming what is missing: never a silent pass
    converted = mapping.sim_to_robot.then(robot_to_policy_map(units, frame, cal))
    ends = np.stack([limits.lower_rad, limits.upper_rad])
    worst = map_disagreement_deg(mapping.sim_to_robot, converted, ends).max(axis=0)
    robot_to_policy = mapping.sim_to_robot.inverse().then(converted)
    mode = {RobotUnit.DEGREES: "use_degrees=True", RobotUnit.RANGE_M100_100: "use_degrees=False"}
    wanted = {PolicyFrame.LEROBOT_DEGREES: "--robot.use_degrees=true",
              PolicyFrame.LEROBOT_RANGE: "--robot.use_degrees=false"}
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        robot_says = f"{_unit_name(units[j])}" + (f" ({mode[units[j]]})" if units[j] in mode
                                                   else "")
        policy_says = f"{frame.value} ({_unit_name(frame.units[j])})"
        formula = f"{joint} = {robot_to_policy.describe(j, 'x')}"
        out.append(Measurement(
            "robot units vs policy frame", joint, float(worst[j]), "deg", None, tolerance_deg,
            f"the robot reports {robot_says}, the policy's stats are in {policy_says}",
            cause=("the policy was recorded in other units than the robot reports, and LeRobot "
                   "passes the robot's values to the policy unconverted (use_degrees changed "
                   "default in LeRobot 0.4.4, lerobot PR #2968)"),
            fix=(f"run the robot with {wanted[frame]}" if frame in wanted else
                 f"convert the robot's values before the policy: {formula}")
            + f" (the conversion is {formula})"))
    return out


def _ranked(stats: NormStats, mapping: MappingFile, cal: Calibration | None,
            limits: JointLimits) -> tuple[list, object, object, bool]:
    """The fingerprint's ranking, the declared frame's candidate, the best one, and whether
    the best overrules the declared frame (plausible, and clearly better)."""
    ranked = rank_frames(stats, limits, calibration=cal, sim_to_robot=mapping.sim_to_robot,
                         robot_units=mapping.robot_units)
    mine, best = {c.frame: c for c in ranked}.get(mapping.policy_frame.value), ranked[0]
    decided = mine is not None and best.frame != mine.frame and best.plausible and \
        mine.penalty - best.penalty > FRAME_DECISION_MARGIN
    return ranked, mine, best, decided


def decide_frame(stats: NormStats, mapping: MappingFile, cal: Calibration | None,
                 limits: JointLimits) -> tuple[str | None, dict[str, str]]:
    """The frame that explains the stats clearly better than the declared one (its name
    for a message) and the per-joint conversion into the declared frame; (None, {})."""
    _, mine, best, decided = _ranked(stats, mapping, cal, limits)
    return (frame_name(best.frame), conversion(best, mine)) if decided else (None, {})


def check_stats_frame(stats: NormStats, mapping: MappingFile, cal: Calibration | None,
                      limits: JointLimits, *, tolerance_deg: float) -> list[Measurement]:
    """Frame fingerprinting: when another frame explains the stats clearly better than the
    declared one, name it and give the exact per-joint conversion."""
    declared = mapping.policy_frame
    if declared is None or mapping.sim_to_robot is None:
        return []
    ranked, mine, best, decided = _ranked(stats, mapping, cal, limits)
    if mine is None:
        return []
    ends = np.stack([limits.lower_rad, limits.upper_rad])
    worst = map_disagreement_deg(mine.sim_to_frame, best.sim_to_frame, ends).max(axis=0) \
        if decided else np.zeros(N_JOINTS)
    formulas = conversion(best, mine) if decided else {}
    ranking = ", ".join(f"{c.frame} {c.penalty:.2f}" for c in ranked[:3])
    declarable = best.frame in {f.value for f in PolicyFrame}
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        formula = formulas.get(joint, f"{joint} = x")
        out.append(Measurement(
            "stats frame fingerprint", joint, float(worst[j]), "deg", None, tolerance_deg,
            f"{stats.source} [{stats.key}] declared {declared.value}; frames ranked by "
            f"penalty: {ranking}",
            cause=f"the stats were recorded in {frame_name(best.frame)}, not {declared.value}",
            fix=(f"declare [policy] frame = \"{best.frame}\", or convert: {formula}" if declarable
                 else f"convert the data to {declared.value} and recompute the stats: "
                 f"{formula}")))
    return out


def check_stats_key(stats: NormStats) -> list[Measurement]:
    """The key LeRobot's normalizer looks up exists (lerobot issues #4415, #1763)."""
    problem = "" if stats.runtime_key_present else (
        f"{stats.source}: LeRobot's normalizer looks up '{stats.runtime_key}' for "
        f"{stats.feature}, which is missing; the file holds only "
        f"{', '.join(stats.available)}. The policy would get unnormalized inputs without "
        f"any error. Checked stats: [{stats.key}]")
    return [Measurement("LeRobot's stats key present", joint, float(not problem), "", 1, 1,
                        problem or f"{stats.source}: '{stats.runtime_key}' present",
                        cause=("the stats are keyed per dataset (or missing): LeRobot's "
                               "normalizer then passes inputs through unnormalized"),
                        fix=(f"store the stats of the dataset the robot matches under "
                             f"'{stats.runtime_key}' in the policy's normalizer"))
            for joint in MOTOR_NAMES]


# -- explanations for the arm-side checks --------------------------------------------------

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


def arm_not_at_rest(q_read_rad: np.ndarray, q_rest_rad: np.ndarray) -> tuple[str, str] | None:
    """(cause, fix) when the arm as a whole is not in its rest pose, else None."""
    off = joints_off_rest(q_read_rad, q_rest_rad)
    if len(off) < NOT_AT_REST_JOINTS:
        return None
    names = ", ".join(MOTOR_NAMES[j] for j in off)
    return (f"the arm is probably not folded in its rest pose: {len(off)} of 6 joints ({names}) "
            f"read more than {NOT_AT_REST_DEG:g} deg from it",
            "fold the arm into its rest pose (on its stops) before the run; with so101-twin "
            "serve, start it with --start rest")


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


def check_registers_match_file(on_servo: Calibration, in_file: Calibration, *,
                               evidence: Evidence = Evidence.SERVO) -> list[Measurement]:
    """The calibration registers on the servos equal the file, field by field."""
    fields = ("homing_offset", "range_min", "range_max")
    differing = [j for j in MOTOR_NAMES if any(
        getattr(on_servo.motors[j], f) != getattr(in_file.motors[j], f) for f in fields)]
    homing_differs = any(on_servo.motors[j].homing_offset != in_file.motors[j].homing_offset
                         for j in differing)
    cause, fix = explain_register_mismatch(differing, ranges_only=not homing_differs)
    out = []
    for joint in MOTOR_NAMES:
        for f in fields:
            servo, file = getattr(on_servo.motors[joint], f), getattr(in_file.motors[joint], f)
            out.append(Measurement(f"servo {f} - file", joint, float(servo - file), "ticks",
                                   0, 0, f"servo {servo}, {in_file.source} {file}",
                                   cause=cause, fix=fix, evidence=evidence))
    return out


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


def check_poses_against_map(poses: PairedPoses, solved: SolvedMap, declared: JointMap | None,
                            limits: JointLimits, *, tolerance_deg: float
                            ) -> list[Measurement]:
    """How well one map explains the poses (residual, in deg of sim motion), and how far
    the declared ``[sim_to_robot]`` is from it over the joint's whole range."""
    out = []
    residual_deg = solved.residual_max / solved.map.scale * RAD_TO_DEG
    ends = np.stack([limits.lower_rad, limits.upper_rad])
    apart = map_disagreement_deg(declared, solved.map, ends).max(axis=0) \
        if declared is not None else None
    for j, joint in enumerate(MOTOR_NAMES):
        fitted = solved.map.describe(j, "q")
        out.append(Measurement(
            "paired poses vs one map", joint, float(residual_deg[j]), "deg", None,
            tolerance_deg, f"{solved.n_poses} poses of {poses.source} fit "
            f"robot = {fitted} (q in sim rad) within {residual_deg[j]:.3g} deg",
            cause="the poses do not lie on one map: a pose was misread, or the joint "
            "slipped between poses", fix="re-take the poses that stand out"))
        if apart is not None:
            out.append(Measurement(
                "declared [sim_to_robot] vs paired poses", joint, float(apart[j]), "deg",
                None, tolerance_deg,
                f"declared {declared.describe(j, 'q')}, the poses give {fitted} (q in sim rad)",
                cause="the declared [sim_to_robot] is not the map the paired poses give",
                fix=f"set [sim_to_robot] for {joint} to offset {solved.map.offset[j]:.6g}, "
                f"scale {solved.map.scale[j]:.6g}, direction {solved.map.direction[j]:+g}"))
    return out
