"""The arm's readings against its calibration and the sim, hardware in the loop: the six
servos, their calibration registers against the file, positions inside the calibrated
range and the model's limits, read noise, the reading against the twin's observer, a jog of
each joint and moves to drawn targets (motion).

Every measurement names its evidence: ``servo`` on a real arm (the servo's own registers
and readings), ``twin`` on the emulated arm (the twin's ground truth). A check whose two
sides would come from one source in a setup does not run there: a jog observed on a real
arm only through the inverse of the command, for one.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.arm_frames import ArmFrames
from ..core.calibration import Calibration
from ..core.joints import MOTOR_NAMES
from ..core.mapping import RAD_TO_DEG
from ..core.measurement import Evidence, Measurement
from .base import Check, Inputs, on_arms
from .causes import explain_jog, explain_reading, explain_register_mismatch
from .mechanics import tracking_error

#: With this many joints' registers differing from the file, it is another arm's file: the
#: arm as a whole fails (nothing moves).
ANOTHER_ARM_JOINTS = 3


def check_registers_match_file(on_servo: Calibration, in_file: Calibration, *,
                               evidence: Evidence = Evidence.SERVO) -> list[Measurement]:
    """The calibration registers on the servos equal the file, field by field."""
    fields = ("homing_offset", "range_min", "range_max")
    differing = [j for j in MOTOR_NAMES if any(
        getattr(on_servo.motors[j], f) != getattr(in_file.motors[j], f) for f in fields)]
    homing_differs = any(on_servo.motors[j].homing_offset != in_file.motors[j].homing_offset
                         for j in differing)
    cause, fix = explain_register_mismatch(differing, ranges_only=not homing_differs)
    out = [Measurement(
        "joints whose registers differ from the file", "all", float(len(differing)), "joints",
        None, ANOTHER_ARM_JOINTS - 1,
        f"{', '.join(differing) or 'no joint'}: the servos' calibration registers against "
        f"{in_file.source}", cause=cause, fix=fix, evidence=evidence, marginal_fraction=1.0)]
    for joint in MOTOR_NAMES:
        for f in fields:
            servo, file = getattr(on_servo.motors[joint], f), getattr(in_file.motors[joint], f)
            out.append(Measurement(f"servo {f} - file", joint, float(servo - file), "ticks",
                                   0, 0, f"servo {servo}, {in_file.source} {file}",
                                   cause=cause, fix=fix, evidence=evidence))
    return out


def check_servo_identity(i: Inputs) -> list[Measurement]:
    """Every joint's servo answered with its id as an STS3215 (the bus raises before
    otherwise), on the firmware most of the arm runs."""
    servos = i["servos"]
    versions = [s.firmware for s in servos]
    common = max(set(versions), key=versions.count)
    return [Measurement("firmware as the arm's other servos", s.joint,
                        float(s.firmware != common), "", 0, 0,
                        f"id {s.servo_id}: model {s.model}, firmware {s.firmware} (the arm: "
                        f"{', '.join(f'{v.joint} {v.firmware}' for v in servos)})",
                        cause="the servos run different firmware: one was replaced or updated "
                        "on its own (3.9 answers LeRobot with 'Incorrect status packet', "
                        "lerobot #1010)",
                        fix="update every servo to the same firmware (Feetech's FD tool)")
            for s in servos]


def check_position_in_range(i: Inputs) -> list[Measurement]:
    """The reading lies within the recorded range (plus the read tolerance: a joint resting
    on its stop, as at rest, reads at or a hair beyond the end of its sweep; that is no
    margin problem, so there is no MARGINAL band)."""
    cal, ticks = i.calibration, np.asarray(i["positions"])[-1]
    return [Measurement("position in calibrated range", joint, float(ticks[j]), "ticks",
                        float(cal.range_min[j]) - i.tolerances.ticks,
                        float(cal.range_max[j]) + i.tolerances.ticks,
                        f"recorded range {cal.range_min[j]}..{cal.range_max[j]} ticks",
                        marginal_fraction=1.0)
            for j, joint in enumerate(MOTOR_NAMES)]


def check_read_noise(i: Inputs) -> list[Measurement]:
    """Peak-to-peak of repeated reads of a still arm, per joint."""
    reads = np.asarray(i["positions"])
    return [Measurement("read noise (peak to peak)", joint, float(np.ptp(reads[:, j])), "ticks",
                        None, i.tolerances.ticks, f"{len(reads)} reads: "
                        f"{reads[:, j].min()}..{reads[:, j].max()}")
            for j, joint in enumerate(MOTOR_NAMES)]


def check_pose_in_model_limits(i: Inputs) -> list[Measurement]:
    """The arm's pose, mapped to the sim frame, lies within the model's joint limits
    (widened by the angle tolerance: an arm resting on a limit reads a hair beyond it; and
    to the declared rest pose, when there is one: some models' rest lies beyond their own
    range, like the SO-100 menagerie's shoulder at -190 deg)."""
    frames = ArmFrames(i.calibration, i.mapping)
    q_deg = frames.ticks_to_sim(np.asarray(i["positions"])[-1]) * RAD_TO_DEG
    limits = i.limits
    rest = i.readings.get("rest_pose_rad")
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        low, high = float(limits.lower_deg[j]), float(limits.upper_deg[j])
        if rest is not None:
            low, high = min(low, rest[j] * RAD_TO_DEG), max(high, rest[j] * RAD_TO_DEG)
        out.append(Measurement(
            "pose in model limits", joint, float(q_deg[j]), "deg", low - i.tolerances.deg,
            high + i.tolerances.deg,
            f"model limits [{limits.lower_deg[j]:.4g}, {limits.upper_deg[j]:.4g}] deg "
            f"({limits.source}); a joint on its stop reads at the limit",
            marginal_fraction=1.0))
    return out


@dataclass(frozen=True)
class Observed:
    """The arm read at a pose its observer saw: ticks, and the true pose (sim rad)."""

    ticks: np.ndarray
    q_true_rad: np.ndarray


def check_reading_matches_observed(i: Inputs) -> list[Measurement]:
    """The servo reading, through the calibration and the map, equals the physical pose
    the twin's observer sees."""
    frames = ArmFrames(i.calibration, i.mapping)
    seen: Observed = i["observer"]
    truth, ticks = np.asarray(seen.q_true_rad), np.asarray(seen.ticks)
    expected = frames.sim_to_ticks(truth)
    q_read = frames.ticks_to_sim(ticks)
    middle = frames.calibrated_middle_sim()
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        cause, fix = explain_reading(j, q_read[j], truth[j], middle[j], ticks[j] - expected[j],
                                     frames.calibration, i.limits,
                                     declared_direction=i.mapping.sim_to_robot.direction[j],
                                     units=frames.units)
        out.append(Measurement(
            "reading vs observed pose", joint, float((q_read[j] - truth[j]) * RAD_TO_DEG),
            "deg", -i.tolerances.deg, i.tolerances.deg,
            f"reads {ticks[j]} ticks, the observed pose ({np.rad2deg(truth[j]):.4g} deg sim) "
            f"maps to {expected[j]:.1f} ticks: off by {ticks[j] - expected[j]:+.1f} ticks",
            cause=cause, fix=fix))
    return out


@dataclass(frozen=True)
class Jog:
    """One joint jogged through the declared map: commanded and observed motion (deg)."""

    joint: str
    commanded_deg: float
    moved_deg: float


def check_jog(i: Inputs) -> list[Measurement]:
    """Each jogged joint moved the commanded way by the commanded amount (catches a
    reversed direction, a wrong scale)."""
    out = []
    for jog in i["jog"]:
        j = MOTOR_NAMES.index(jog.joint)
        reversed_ = np.sign(jog.moved_deg) != np.sign(jog.commanded_deg) and \
            abs(jog.moved_deg) > 0.5
        cause, fix = explain_jog(j, jog.commanded_deg, jog.moved_deg, i.calibration,
                                 declared_direction=i.mapping.sim_to_robot.direction[j],
                                 units=i.mapping.robot_units)
        out.append(Measurement(
            "jog response error", jog.joint, float(jog.moved_deg - jog.commanded_deg), "deg",
            -i.tolerances.deg, i.tolerances.deg,
            f"commanded {jog.commanded_deg:+.2f} deg in the sim frame, the joint moved "
            f"{jog.moved_deg:+.2f} deg" + (": direction reversed (a mirrored motor or a wrong "
                                           "direction in [sim_to_robot])" if reversed_ else ""),
            cause=cause, fix=fix))
    return out


@dataclass(frozen=True)
class Reached:
    """Moves to drawn targets: targets and readings once settled (ticks, (k, 6)), the joints
    held (their read-only checks failed), and where the model says each joint settles
    under gravity relative to its target (ticks, (k, 6); None without a model): a servo
    holds its goal short by load / stiffness."""

    targets: np.ndarray
    reached: np.ndarray
    held: tuple[str, ...]
    sag_ticks: np.ndarray | None = None


def check_reached_pose(i: Inputs) -> list[Measurement]:
    """Every joint reached its targets within the tracking bound, by the servo's reading,
    less the sag its stiffness gives under the arm's weight (from the model)."""
    moves: Reached = i["reached"]
    errors = np.asarray(moves.reached, dtype=float) - np.asarray(moves.targets, dtype=float)
    sag = np.zeros_like(errors) if moves.sag_ticks is None else np.asarray(moves.sag_ticks)
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        less = f"; less the model's sag under gravity, {sag[:, j].min():+.0f}.." \
            f"{sag[:, j].max():+.0f} ticks" if moves.sag_ticks is not None and \
            np.abs(sag[:, j]).max() >= 1 else ""
        out.append(tracking_error(
            "reached - commanded", joint, errors[:, j] - sag[:, j], i.tolerances.tracking_deg,
            f"{len(errors)} targets drawn inside the envelope: {errors[:, j].min():+.0f}.."
            f"{errors[:, j].max():+.0f} ticks from the target{less}"
            + (" (held still)" if joint in moves.held else "")))
    return out


def _registers(i: Inputs) -> list[Measurement]:
    return check_registers_match_file(i["registers"], i.calibration)


ON_THE_BUS = on_arms(twin=Evidence.TWIN, hardware=Evidence.SERVO)

CHECKS: tuple[Check, ...] = (
    Check("servo-identity", "six STS3215 on one firmware", "hil", ("servos",),
          check_servo_identity,
          catches="a servo replaced or updated on its own (ids and models the bus checks "
          "when it connects)", tolerance="the firmware most of the arm runs",
          evidence=ON_THE_BUS, suite="hil"),
    Check("registers-vs-file", "calibration registers vs the file", "hil",
          ("calibration", "registers"), _registers,
          catches="another arm's calibration file, a servo replaced or recalibrated on its "
          "own, a file from another calibration run", tolerance="equal, field by field",
          evidence=ON_THE_BUS, suite="hil"),
    Check("position-in-range", "position in the calibrated range", "hil",
          ("calibration", "positions"), check_position_in_range,
          catches="a joint outside its recorded sweep: a stale calibration, a sweep that "
          "stopped short", tolerance="the recorded range +- --so101-tolerance-ticks",
          evidence=ON_THE_BUS, suite="hil"),
    Check("read-noise", "read noise", "hil", ("positions",), check_read_noise,
          catches="a noisy encoder or bus (peak to peak of repeated reads)",
          tolerance="--so101-tolerance-ticks", evidence=ON_THE_BUS, suite="hil"),
    Check("pose-in-model-limits", "pose in the model's limits", "hil",
          ("calibration", "sim_to_robot", "positions"), check_pose_in_model_limits,
          catches="a map or calibration that puts the arm where the model cannot go",
          tolerance="the model's limits (or the rest pose) +- --so101-tolerance-deg",
          evidence=ON_THE_BUS, suite="hil"),
    Check("reading-vs-observed", "reading vs the observed pose", "hil",
          ("calibration", "sim_to_robot", "observer"), check_reading_matches_observed,
          catches="a mirrored motor, a shifted zero, a wrong map: the reading against the "
          "twin's true joint angles", tolerance="--so101-tolerance-deg",
          evidence=on_arms(twin=Evidence.TWIN), suite="hil"),
    Check("jog", "a jog moves the joint the declared way", "hil",
          ("calibration", "sim_to_robot", "jog"), check_jog,
          catches="a reversed direction, a wrong scale, seen by the twin's observer",
          tolerance="--so101-tolerance-deg", evidence=on_arms(twin=Evidence.TWIN),
          suite="hil"),
    Check("reached-pose", "reached pose vs commanded", "hil", ("reached",), check_reached_pose,
          catches="a joint that does not reach its goals: a weak or blocked servo, a low gain",
          tolerance="--so101-tracking-deg", evidence=ON_THE_BUS, suite="hil"),
)
