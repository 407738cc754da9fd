"""Diagnosis: the checks that need no motion, and the likely cause and fix of a failure.

Each check returns per-joint :class:`Measurement` records whose failures carry ``cause``
and ``fix`` (the catalog is docs/faults.md). The ``explain_*`` functions interpret what
the arm-side checks measured (a zero that moved, registers that differ from the file, a
jog that went the wrong way). :func:`diagnose` runs every check the given files allow;
``suites/test_configuration.py`` and ``so101-diagnose`` both use it.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .calibration import Calibration
from .chain import robot_to_policy_map
from .errors import So101ConfigError
from .fingerprint import SIM_RADIANS, conversion, rank_frames
from .frames import (
    DEG_PER_TICK,
    LEROBOT_MAX_RES,
    TICKS_PER_RAD,
    TOOTH_TICKS,
    PolicyFrame,
    RobotUnit,
    ticks_to_units,
    units_to_ticks,
)
from .invariants import (
    check_map_matches_reference,
    check_normalized_near_zero,
    check_stats_extremes_within_limits,
    check_stats_mean_within_limits,
    check_stds_positive,
    map_disagreement_deg,
)
from .joints import (
    GRIPPER,
    KNOWN_MODELS,
    MOTOR_NAMES,
    N_JOINTS,
    SO101_NEW_CALIB_LIMITS,
    WRIST_ROLL,
    JointLimits,
)
from .mapping import RAD_TO_DEG, MappingFile
from .measurement import Measurement
from .stats import NormStats
from .tolerances import Tolerances

#: A sweep may exceed the model's joint range by this much (horn play, a model drawn a
#: little conservative); wider than that it has crossed the 0/4095 seam.
SWEEP_SLACK_DEG = 45.0
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

def check_calibrated_ranges(cal: Calibration, limits: JointLimits) -> list[Measurement]:
    """Each sweep is no wider than the joint can move; one across the 0/4095 seam reads
    nearly a full turn (lerobot issues #3586, #3587). wrist_roll is fixed to 0..4095."""
    width_deg = (cal.range_max - cal.range_min) * DEG_PER_TICK
    model_deg = limits.upper_deg - limits.lower_deg
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        if j == WRIST_ROLL:
            continue
        allowed = float(min(model_deg[j] + SWEEP_SLACK_DEG, 350.0))
        m, big_m = int(cal.range_min[j]), int(cal.range_max[j])
        out.append(Measurement(
            "calibrated range width", joint, float(width_deg[j]), "deg", None, allowed,
            f"{cal.source}: range_min {m}, range_max {big_m} ticks; the model's joint range "
            f"is {model_deg[j]:.4g} deg ({limits.source})",
            cause=("the sweep crossed the encoder's 0/4095 seam while calibrating "
                   "(lerobot issues #3586, #3587): the joint's travel wraps from 4095 to 0, so "
                   "min/max record nearly a full turn instead of the travel"),
            fix=("hold the joint at the middle of its travel while homing, so the held pose "
                 "reads 2047 and the travel stays clear of the seam: " + RECALIBRATE)))
    return out


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
            fix=(f"fix {joint}'s [sim_to_robot] scale first (so101-diagnose)" if scale_wrong
                 else f"set [sim_to_robot] offset for {joint} to {better_offset[j]:.6g}"
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
            fix=(f"load the {mapping.model} MJCF (--so101-mjcf), or write the mapping for "
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


def check_stats_frame(stats: NormStats, mapping: MappingFile, cal: Calibration | None,
                      limits: JointLimits, *, tolerance_deg: float) -> list[Measurement]:
    """Frame fingerprinting: when another frame explains the stats clearly better than the
    declared one, name it and give the exact per-joint conversion."""
    declared = mapping.policy_frame
    if declared is None or mapping.sim_to_robot is None:
        return []
    ranked = rank_frames(stats, limits, calibration=cal, sim_to_robot=mapping.sim_to_robot,
                         robot_units=mapping.robot_units)
    by_frame = {c.frame: c for c in ranked}
    mine, best = by_frame.get(declared.value), ranked[0]
    if mine is None:
        return []
    decided = best.frame != mine.frame and best.plausible and \
        mine.penalty - best.penalty > FRAME_DECISION_MARGIN
    ends = np.stack([limits.lower_rad, limits.upper_rad])
    worst = map_disagreement_deg(mine.sim_to_frame, best.sim_to_frame, ends).max(axis=0) \
        if decided else np.zeros(N_JOINTS)
    formulas = conversion(best, mine) if decided else {}
    ranking = ", ".join(f"{c.frame} {c.penalty:.2f}" for c in ranked[:3])
    best_name = "sim radians" if best.frame == SIM_RADIANS else best.frame
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        formula = formulas.get(joint, f"{joint} = x")
        out.append(Measurement(
            "stats frame fingerprint", joint, float(worst[j]), "deg", None, tolerance_deg,
            f"{stats.source} [{stats.key}] declared {declared.value}; frames ranked by "
            f"penalty: {ranking}",
            cause=f"the stats were recorded in {best_name}, not {declared.value}",
            fix=(f"declare [policy] frame = \"{best.frame}\"" if best.frame != SIM_RADIANS else
                 "record the stats in the robot's units") + f", or convert: {formula}"))
    return out


def check_stats_key(stats: NormStats) -> list[Measurement]:
    """The key LeRobot's normalizer looks up exists (lerobot issues #4415, #1763)."""
    problem = "" if stats.runtime_key_present else (
        f"{stats.source}: LeRobot's normalizer looks up '{stats.runtime_key}' for "
        f"{stats.feature}, which is missing; the file holds only "
        f"{', '.join(stats.available)}. The policy would get unnormalized inputs without "
        f"any error. Checked stats: [{stats.key}]")
    return [Measurement("LeRobot's stats key present", joint, float(not problem), "", 1, None,
                        problem or f"{stats.source}: '{stats.runtime_key}' present",
                        cause=("the stats are keyed per dataset (or missing): LeRobot's "
                               "normalizer then passes inputs through unnormalized"),
                        fix=(f"store the stats of the dataset the robot matches under "
                             f"'{stats.runtime_key}' in the policy's normalizer"))
            for joint in MOTOR_NAMES]


# -- explanations for the arm-side checks --------------------------------------------------

def explain_zero_shift(joint: int, off_ticks: float, cal: Calibration | None = None
                       ) -> tuple[str, str]:
    """Why a joint reads ``off_ticks`` away from where it physically is."""
    teeth = off_ticks / TOOTH_TICKS
    if cal is not None and joint != WRIST_ROLL and \
            (cal.range_max[joint] - cal.range_min[joint]) * DEG_PER_TICK > 300:
        return ("the calibrated range crosses the 0/4095 seam (lerobot issues #3586, #3587)",
                "hold the joint at the middle of its travel while homing: " + RECALIBRATE)
    if abs(teeth) >= 0.5 and abs(teeth - round(teeth)) * TOOTH_TICKS <= 12:
        n = round(abs(teeth))
        return (f"the horn was re-seated {n} spline tooth{'' if n == 1 else ' teeth'} "
                f"({n * TOOTH_TICKS:.0f} ticks, {n * TOOTH_TICKS * DEG_PER_TICK:.1f} deg) "
                "since calibrating",
                f"re-seat the horn where it was, or {RECALIBRATE}")
    return ("the assembly changed since calibrating (horn slipped, motor or horn replaced): "
            "the calibration is stale",
            RECALIBRATE)


def check_registers_match_file(on_servo: Calibration, in_file: Calibration
                               ) -> list[Measurement]:
    """The calibration registers on the servos equal the file, field by field."""
    fields = ("homing_offset", "range_min", "range_max")
    differing = [j for j in MOTOR_NAMES if any(
        getattr(on_servo.motors[j], f) != getattr(in_file.motors[j], f) for f in fields)]
    cause, fix = explain_register_mismatch(differing)
    out = []
    for joint in MOTOR_NAMES:
        for f in fields:
            servo, file = getattr(on_servo.motors[joint], f), getattr(in_file.motors[joint], f)
            out.append(Measurement(f"servo {f} - file", joint, float(servo - file), "ticks",
                                   0, 0, f"servo {servo}, {in_file.source} {file}",
                                   cause=cause, fix=fix))
    return out


def explain_register_mismatch(differing_joints: list[str]) -> tuple[str, str]:
    """Why the servos' calibration registers differ from the file."""
    if len(differing_joints) >= 3:
        return ("the calibration file belongs to another arm (or this arm was recalibrated "
                f"without this file): {len(differing_joints)} of 6 joints differ",
                "pass this arm's own file (--so101-calibration ARM_ID finds it under "
                "$HF_LEROBOT_CALIBRATION/robots/so_follower/), or " + RECALIBRATE)
    return ("this servo was replaced or recalibrated on its own since the file was written",
            RECALIBRATE)


def explain_jog(joint: int, commanded_deg: float, moved_deg: float,
                cal: Calibration | None = None) -> tuple[str, str]:
    """Why a jog moved the joint the wrong way or by the wrong amount."""
    name = MOTOR_NAMES[joint]
    if abs(moved_deg) > 0.5 and np.sign(moved_deg) != np.sign(commanded_deg):
        drive = cal is not None and cal.drive_mode[joint] == 1
        return ((f"direction reversed: {name} has drive_mode 1 in the calibration file but "
                 "the motor is not mirrored" if drive else
                 "direction reversed: a mirrored motor (mounted reversed; LeRobot does not "
                 "detect it, lerobot issue #3942) or direction +1 where -1 belongs"),
                (f"set {name} drive_mode to 0" if drive else
                 f"set direction = -1 for {name} in [sim_to_robot] (or remount the motor)"))
    ratio = moved_deg / commanded_deg if commanded_deg else np.nan
    if np.isclose(ratio, RAD_TO_DEG, rtol=0.1) or np.isclose(ratio, 1 / RAD_TO_DEG, rtol=0.1):
        return ("radians taken for degrees in [sim_to_robot] (a factor of 57.3)",
                f"fix {name}'s [sim_to_robot] scale (57.2958 per rad for degrees)")
    return (f"the [sim_to_robot] scale of {name} is off by a factor {1 / ratio:.3g}"
            if np.isfinite(ratio) and ratio else "the joint does not follow its goal",
            f"check {name}'s [sim_to_robot] scale against its units (so101-diagnose)")


# -- everything at once ----------------------------------------------------------------------

@dataclass
class CheckResult:
    """One check of :func:`diagnose`: its measurements, or why it did not run."""

    title: str
    measurements: list[Measurement] = field(default_factory=list)
    skipped: str = ""
    error: str = ""          # the check could not run although it should have: a failure

    @property
    def failed(self) -> list[Measurement]:
        return [m for m in self.measurements if not m.passed]

    @property
    def ok(self) -> bool:
        return not self.failed and not self.error


def diagnose(*, calibration: Calibration | None = None, stats: NormStats | None = None,
             mapping: MappingFile | None = None, limits: JointLimits | None = None,
             tolerances: Tolerances | None = None) -> list[CheckResult]:
    """Run every check the given files allow (no arm, no motion)."""
    from .chain import user_chains

    tolerances = tolerances or Tolerances()
    if limits is None:
        limits = mapping.joint_limits if mapping is not None else SO101_NEW_CALIB_LIMITS
    results: list[CheckResult] = []

    def run(title: str, needs: dict[str, object], make) -> None:
        missing = [name for name, value in needs.items() if value is None]
        if missing:
            results.append(CheckResult(title, skipped=f"needs {' and '.join(missing)}"))
            return
        try:
            measurements = make()
        except So101ConfigError as exc:
            results.append(CheckResult(title, skipped=str(exc)))
            return
        results.append(CheckResult(title, measurements,
                                   "" if measurements else "does not apply to these files"))

    frame = mapping.policy_frame if mapping is not None else None
    units = mapping.robot_units if mapping is not None else None
    run("calibrated ranges", {"a calibration": calibration},
        lambda: check_calibrated_ranges(calibration, limits))
    run("drive modes", {"a calibration": calibration, "[sim_to_robot] units": units},
        lambda: check_drive_modes(calibration, units))
    run("model vs mapping", {"a mapping": mapping},
        lambda: check_model_matches_mapping(mapping, limits))
    run("sim_to_robot scale", {"a mapping": mapping},
        lambda: check_sim_to_robot_scale(mapping, calibration))
    run("sim_to_robot vs calibrated range", {"a mapping": mapping, "a calibration": calibration},
        lambda: check_sim_to_robot_covers_calibration(mapping, calibration, limits))
    run("robot units vs policy frame", {"a mapping": mapping},
        lambda: check_robot_units_match_policy_frame(mapping, calibration, limits,
                                                     tolerance_deg=tolerances.deg))
    run("stats key", {"stats": stats}, lambda: check_stats_key(stats))
    run("stats std", {"stats": stats, "[policy] frame": frame},
        lambda: check_stds_positive(stats, frame))
    run("stats frame", {"stats": stats, "[policy] frame": frame},
        lambda: check_stats_frame(stats, mapping, calibration, limits,
                                  tolerance_deg=tolerances.deg))
    if stats is not None and frame is not None and mapping.sim_to_robot is not None:
        try:
            chains = user_chains(mapping, calibration)
        except So101ConfigError as exc:
            chains = {}
            results.append(CheckResult("chains", skipped=str(exc)))
        for name, chain in chains.items():
            run(f"stats mean in limits ({name} chain)", {},
                lambda chain=chain, name=name: check_stats_mean_within_limits(
                    stats, chain, limits, frame=frame, chain_name=name))
            run(f"stats min/max in limits ({name} chain)", {},
                lambda chain=chain, name=name: check_stats_extremes_within_limits(
                    stats, chain, limits, frame=frame, chain_name=name))
            run(f"reference pose normalizes near 0 ({name} chain)", {},
                lambda chain=chain, name=name: check_normalized_near_zero(
                    stats, chain, mapping.reference_pose_rad, tolerance=tolerances.z,
                    frame=frame, chain_name=name, pose_name=mapping.reference_pose_name))
        if "declared" in chains:
            run("sim_to_policy vs reference chain", {},
                lambda: check_map_matches_reference(chains["declared"], chains["reference"],
                                                    limits, tolerance_deg=tolerances.deg,
                                                    frame=frame))
    return results
