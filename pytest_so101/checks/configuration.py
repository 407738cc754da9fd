"""The configuration files against each other, with no arm: the calibration alone, the
mapping against the calibration and the model, the declared maps against the reference
chain, and paired poses.

Each check returns per-joint :class:`Measurement` records whose failures carry ``cause``
and ``fix`` (the catalog is docs/faults.md); :data:`CHECKS` declares them.
"""

from __future__ import annotations

import numpy as np

from ..core.calibration import Calibration
from ..core.chain import map_disagreement_deg, robot_to_policy_map
from ..core.frames import (
    DEG_PER_TICK,
    LEROBOT_MAX_RES,
    TICKS_PER_RAD,
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
    WRIST_ROLL,
    JointLimits,
)
from ..core.mapping import RAD_TO_DEG, JointMap, MappingFile, SolvedMap
from ..core.measurement import Measurement
from ..core.poses import PairedPoses
from .base import Check
from .causes import SEAM_CAUSE, SEAM_FIX, SWEEP_SLACK_DEG, sweep_crosses_seam, widest_sweep_deg

#: How far the model's range, mapped through [sim_to_robot], may land from the calibrated
#: range at either end: real sweeps stop short of the model's limits by some degrees.
COVERAGE_TOLERANCE_DEG = 25.0
#: A servo turns with its joint one to one: the declared scale must match within this.
SCALE_TOLERANCE = 0.03
#: A model is recognised when every joint limit matches within this (rad).
MODEL_MATCH_RAD = 0.02


def _unit_name(unit: RobotUnit) -> str:
    return {RobotUnit.DEGREES: "degrees", RobotUnit.RANGE_M100_100: "-100..100",
            RobotUnit.RANGE_0_100: "0..100", RobotUnit.TICKS: "ticks"}[unit]


# -- the calibration file alone ---------------------------------------------------------



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
        if j in mapping.robot_derived:
            out.append(_sweep_plausible(mapping, cal, j))
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


#: A calibrated sweep this many times the model's range is plausible (real follower grippers
#: sweep 1.13-1.24 times the model's 110 deg, leaders 0.94-1.0): beyond, it is MARGINAL.
PLAUSIBLE_SWEEP_RATIO = (0.75, 1.5)


def _sweep_plausible(mapping: MappingFile, cal: Calibration, j: int) -> Measurement:
    """A joint whose map comes from its calibrated sweep: its scale is right by
    construction, so the sweep itself is judged (advisory) against the model's range."""
    limits = mapping.joint_limits
    sweep_deg = float(cal.range_max[j] - cal.range_min[j]) * DEG_PER_TICK
    model_deg = float(limits.upper_deg[j] - limits.lower_deg[j])
    ratio = sweep_deg / model_deg
    joint = MOTOR_NAMES[j]
    unit = _unit_name(mapping.robot_units[j])
    how = "far shorter than the joint can move: it stopped short of a stop" if ratio < 1 else \
        "far longer than the joint can move: a seam crossed, or a horn slipped while sweeping"
    return Measurement(
        "calibrated sweep / model range", joint, ratio, "x", *PLAUSIBLE_SWEEP_RATIO,
        f"{mapping.source} maps {joint} from its calibration: its {unit} spans the sweep "
        f"{cal.source} recorded, {sweep_deg:.0f} deg of servo travel; the model's range is "
        f"{model_deg:.0f} deg ({limits.source})",
        cause=f"the recorded sweep is {how}",
        fix=f"recalibrate sweeping {joint} through its whole travel, stop to stop",
        marginal_fraction=1.0, advisory=True)


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
    scale_ok = {m.joint: m.passed for m in check_sim_to_robot_scale(mapping, cal)}
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        if j in mapping.robot_derived:     # mapped from this very calibration: no evidence
            continue
        if j == WRIST_ROLL:       # fixed 0..4095 by LeRobot: the model's range lies inside
            worst = max(0.0, -float(low_off[j]), float(high_off[j]))
            out.append(_wrist_roll_reach(mapping, cal, limits))
        else:
            worst = float(max(abs(low_off[j]), abs(high_off[j])))
        quarter = np.isclose(abs(centre_off[j]), 90.0, atol=12.0)
        width_ratio = (ends_ticks[1, j] - ends_ticks[0, j]) / max(
            1, cal.range_max[j] - cal.range_min[j])
        scale_wrong = j != WRIST_ROLL and not 0.7 <= width_ratio <= 1.3
        sweep_deg = float(cal.range_max[j] - cal.range_min[j]) * DEG_PER_TICK
        model_deg = float(limits.upper_deg[j] - limits.lower_deg[j])
        if scale_wrong and scale_ok.get(joint, False):
            seam = sweep_crosses_seam(cal, limits, j)
            out.append(Measurement(
                "model range vs calibrated range", joint, worst, "deg", None,
                COVERAGE_TOLERANCE_DEG,
                f"the model's range [{limits.lower_deg[j]:.4g}, {limits.upper_deg[j]:.4g}] deg "
                f"({model_deg:.0f} deg) maps to ticks [{ends_ticks[0, j]:.0f}, "
                f"{ends_ticks[1, j]:.0f}]; the recorded sweep is [{cal.range_min[j]}, "
                f"{cal.range_max[j]}], {sweep_deg:.0f} deg ({cal.source}); the scale is right",
                cause=SEAM_CAUSE if seam else
                (f"the sweep recorded while calibrating is {sweep_deg:.0f} deg where the "
                 f"joint moves {model_deg:.0f} deg: it "
                 + ("stopped short of a stop" if sweep_deg < model_deg else
                    "went past the joint's range")
                 + "; LeRobot's degrees zero (the sweep's middle) and its -100..100 move with it"),
                fix=SEAM_FIX if seam else
                f"recalibrate sweeping {joint} through its whole travel, stop to stop"))
            continue
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


#: wrist_roll's hard stops sit about this far past the model's limits (deg): a calibrated
#: range reaching further (LeRobot's full turn, 0..4095) has commands that drive into them.
WRIST_STOP_BEYOND_MODEL_DEG = 15.0


def _wrist_roll_reach(mapping: MappingFile, cal: Calibration, limits: JointLimits
                      ) -> Measurement:
    """How far wrist_roll's calibrated range, mapped into the sim frame, reaches past the
    model's limits (lerobot PR #4583: LeRobot records it 0..4095 while the joint has hard
    stops near +-170 deg). Advisory: MARGINAL beyond the stops."""
    j = WRIST_ROLL
    ends = ticks_to_units(np.stack([cal.range_min, cal.range_max]).astype(float), cal,
                          mapping.robot_units, clamp=False)
    q_deg = np.sort(mapping.sim_to_robot.inverse().apply(ends)[:, j]) * RAD_TO_DEG
    past = max(0.0, float(limits.lower_deg[j] - q_deg[0]),
               float(q_deg[1] - limits.upper_deg[j]))
    sweep_deg = float(cal.range_max[j] - cal.range_min[j]) * DEG_PER_TICK
    return Measurement(
        "wrist_roll calibrated range past the model's limits", "wrist_roll", past, "deg", None,
        WRIST_STOP_BEYOND_MODEL_DEG,
        f"{cal.source} records wrist_roll over {cal.range_min[j]}..{cal.range_max[j]} ticks "
        f"({sweep_deg:.0f} deg), mapped to [{q_deg[0]:.0f}, {q_deg[1]:.0f}] deg in the sim "
        f"frame; the model's limits are [{limits.lower_deg[j]:.0f}, {limits.upper_deg[j]:.0f}] "
        "deg and the joint's hard stops near +-170 deg",
        cause="wrist_roll's calibrated range reaches past its hard stops (LeRobot records it "
        "over a full turn, lerobot PR #4583): commands near the ends of its range drive it "
        "into a stop",
        fix="keep wrist_roll commands inside the model's limits, or recalibrate with a "
        "LeRobot that records wrist_roll's travel stop to stop", advisory=True,
        marginal_fraction=1.0)


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


# -- explanations for the arm-side checks --------------------------------------------------



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


def diagnose_map(declared: JointMap, reference: JointMap, joint: int, *,
                 frame: PolicyFrame | None) -> str:
    """Say how a declared map differs from the reference for one joint: direction, scale, offset."""
    name = MOTOR_NAMES[joint]
    both = (f"declared {declared.describe(joint, 'q')}, "
            f"reference {reference.describe(joint, 'q')} (q in sim rad)")
    if declared.direction[joint] != reference.direction[joint]:
        hint = ""
        if frame is PolicyFrame.LEROBOT_LEGACY_DEGREES and name == "shoulder_lift":
            hint = ("; the LeRobot legacy frame reverses shoulder_lift: "
                    "shoulder_lift_legacy = -(shoulder_lift_deg) + 90, i.e. "
                    "shoulder_lift = -(x - 90)")
        return f"direction reversed: {both}{hint}"
    ratio = declared.scale[joint] / reference.scale[joint]
    if not np.isclose(ratio, 1.0, rtol=1e-3):
        return f"scale off by a factor {ratio:.4g}: {both}"
    shift = (declared.offset[joint] - reference.offset[joint]) / reference.scale[joint]
    return f"offset off by {shift * RAD_TO_DEG:.4g} deg of sim motion: {both}"


def check_map_matches_reference(declared: JointMap, reference: JointMap, limits: JointLimits, *,
                                tolerance_deg: float, frame: PolicyFrame | None,
                                check: str = "sim_to_policy vs reference") -> list[Measurement]:
    """Worst disagreement over each joint's whole range (affine: reached at a range end).

    ``check`` names the measurement and, when it is not the default, what is compared in
    the cause and the fix: ``"mybridge vs sim_to_robot"`` says "mybridge of elbow_flex is
    not sim_to_robot"."""
    mine, _, theirs = check.partition(" vs ")
    ours = check == "sim_to_policy vs reference"
    subject = "the declared [sim_to_policy] map" if ours else mine
    against = "the chain sim -> robot -> policy frame" if ours else (theirs or "the reference")
    ends = np.stack([limits.lower_rad, limits.upper_rad])
    worst = map_disagreement_deg(declared, reference, ends).max(axis=0)
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        direction_ok = declared.direction[j] == reference.direction[j]
        detail = "" if worst[j] <= tolerance_deg and direction_ok else \
            diagnose_map(declared, reference, j, frame=frame)
        fix = (f"set {'[sim_to_policy]' if ours else mine} for {joint} to the reference: "
               f"{reference.describe(j, 'q')} (q in sim rad)")
        out.append(Measurement(check, joint, float(worst[j]), "deg", None, tolerance_deg, detail,
                               cause=f"{subject} of {joint} is not {against}", fix=fix))
    return out


CHECKS: tuple[Check, ...] = (
    Check("calibrated-range", "calibrated ranges", "configuration", ("calibration",),
          lambda i: check_calibrated_ranges(i.calibration, i.limits),
          catches="a range recorded across the 0/4095 seam (lerobot #3586, #3587)",
          tolerance=f"the model's range + {SWEEP_SLACK_DEG:g} deg (at most 350 deg)",
          suite="configuration"),
    Check("drive-mode", "drive modes", "configuration", ("calibration", "sim_to_robot"),
          lambda i: check_drive_modes(i.calibration, i.mapping.robot_units),
          catches="drive_mode 1 on a joint read in degrees, where LeRobot ignores it",
          tolerance="drive_mode 0 on joints read in degrees", suite="configuration"),
    Check("model-vs-mapping", "model vs mapping", "configuration", ("mapping", "model"),
          lambda i: check_model_matches_mapping(i.mapping, i.model_limits),
          catches="an SO-100 / old-calib model used with a map written for so101_new_calib",
          tolerance="every joint limit within 0.02 rad", suite="configuration"),
    Check("sim-to-robot-scale", "sim_to_robot scale", "configuration", ("sim_to_robot",),
          lambda i: check_sim_to_robot_scale(i.mapping, i.calibration),
          catches="radians taken for degrees, the gripper's 0..100 taken for degrees, a map "
          "written for other units", tolerance=f"one servo turn per joint turn, "
          f"+-{SCALE_TOLERANCE:.0%}", suite="configuration"),
    Check("model-range-on-calibrated-range", "sim_to_robot vs calibrated range",
          "configuration", ("sim_to_robot", "calibration"),
          lambda i: check_sim_to_robot_covers_calibration(i.mapping, i.calibration, i.limits),
          catches="a pi/2 offset (old-calib model), a wrong zero in [sim_to_robot]",
          tolerance=f"{COVERAGE_TOLERANCE_DEG:g} deg at either end", suite="configuration"),
    Check("robot-units-vs-policy-frame", "robot units vs policy frame", "configuration",
          ("sim_to_robot", "policy_frame"),
          lambda i: check_robot_units_match_policy_frame(
              i.mapping, i.calibration, i.limits, tolerance_deg=i.tolerances.deg),
          catches="use_degrees flipped between recording and deployment (LeRobot 0.4.4)",
          tolerance="--so101-tolerance-deg over the joint range", suite="configuration",
          empty_reason="the legacy frame is converted through the declared [sim_to_policy], "
          "which sim-to-policy-vs-reference judges"),
    Check("sim-to-policy-vs-reference", "sim_to_policy vs reference chain", "configuration",
          ("sim_to_robot", "policy_frame", "sim_to_policy"),
          lambda i: check_map_matches_reference(
              i.chain("declared"), i.chain("reference"), i.limits,
              tolerance_deg=i.tolerances.deg, frame=i.mapping.policy_frame),
          catches="a declared [sim_to_policy] map that is not sim -> robot -> policy frame "
          "(the offset-only fix of SmolVLA's so100 stats)",
          tolerance="--so101-tolerance-deg over the range", suite="roundtrip"),
    Check("paired-poses", "paired poses vs [sim_to_robot]", "configuration", ("poses",),
          lambda i: check_poses_against_map(
              i["poses"], i["poses"].solve(),
              i.mapping.sim_to_robot if i.mapping is not None else None, i.limits,
              tolerance_deg=i.tolerances.deg),
          catches="paired poses that lie on no one map (a misread pose, a joint that slipped), "
          "a declared [sim_to_robot] that is not the map the poses give",
          tolerance="--so101-tolerance-deg over the joint range"),
)
