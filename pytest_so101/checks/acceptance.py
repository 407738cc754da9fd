"""After a recalibration: is a policy trained with the accepted baseline still valid?

The question is what a trained policy sees, not what the file holds. A new calibration may
differ from the baseline's in every field and still read every physical pose as before (a
horn re-seated by a spline tooth, honestly recalibrated: the homing offset moves with the
horn); or differ a little and read every pose of a joint off (wrist_roll's zero moving with
the pose held while homing, a sweep cut short). So per joint:

- **the rest pose reading** (physical evidence: the arm folded on its stops in both runs):
  what it reads now against what it read in the baseline run, in degrees of joint motion
  (the policy's units for a joint read in degrees);
- **the zero in the policy's units** from the files (Present_Position of a fixed physical
  pose moves by ``-(delta homing + delta sweep middle)``): judged where the file alone
  proves it, wrist_roll (its range is fixed at 0..4095, so its zero is the pose held while
  homing: a hold that is not whole spline teeth away is no re-seated horn);
- **the range width** (the scale of -100..100 and 0..100): a sweep wider or shorter than
  the baseline's rescales every reading of the joint;
- drive_mode and servo id.

Each finding says what changed in the file, what it means for a trained policy (nothing;
rescale the stats; retrain or recalibrate again) and what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..core.calibration import Calibration, CalibrationDelta, compare_calibrations
from ..core.frames import DEG_PER_TICK, TOOTH_TICKS, RobotUnit
from ..core.joints import MOTOR_NAMES, WRIST_ROLL
from ..core.measurement import Evidence, Measurement
from ..core.tolerances import PLACED_BY_EYE, REST_BY_EYE_DEG
from .base import Check, Inputs, Setup, on_arms
from .causes import ACCEPT_CHANGES, LEROBOT_CALIBRATE

#: A zero shift within this of whole spline teeth is a horn re-seated by them (ticks).
TEETH_SLACK_TICKS = 12
NOTHING = "for a trained policy: nothing changes"
RETRAIN = "for a trained policy: it sees {what}: retrain it, or recalibrate so that the arm " \
    "reads as in the baseline"


@dataclass(frozen=True)
class Baseline:
    """An accepted baseline: its file, when it was made, its sha256, the calibration it
    recorded, and what its run measured of the arm: per joint, the rest reading against
    the mapped rest pose (deg, sim frame) and, on the twin, the reading against the true
    pose (None where it did not measure them)."""

    path: str
    created: str
    calibration: Calibration
    sha256: str | None = None
    rest_deg: dict[str, float] | None = None
    observed_deg: dict[str, float] | None = None

    @property
    def name(self) -> str:
        return self.path.rsplit("/", 1)[-1]


def _teeth(ticks: float) -> int | None:
    """Whole spline teeth ``ticks`` is (None when it is not: a horn moves by teeth)."""
    teeth = round(ticks / TOOTH_TICKS)
    return teeth if teeth and abs(ticks - teeth * TOOTH_TICKS) <= TEETH_SLACK_TICKS else None


def explain_file_change(change: CalibrationDelta, joint: int) -> str:
    """What changed in the file for one joint, in words."""
    parts = []
    if change.homing_offset_ticks:
        teeth = _teeth(change.homing_offset_ticks)
        parts.append(f"homing offset {change.homing_offset_ticks:+d} ticks" + (
            f" ({abs(teeth)} spline {'tooth' if abs(teeth) == 1 else 'teeth'}: a horn "
            "re-seated or a motor replaced)" if teeth else ""))
    if change.range_min_ticks or change.range_max_ticks:
        parts.append(f"range_min {change.range_min_ticks:+d}, range_max "
                     f"{change.range_max_ticks:+d} ticks")
    if not parts:
        return "the file's calibration of this joint is unchanged"
    shift = change.zero_shift_ticks
    moved = "the zero of a fixed physical pose stays where it was" if not shift else \
        f"a pose that read as before now reads {-shift * DEG_PER_TICK:+.2f} deg off unless " \
        "the horn moved as much"
    return f"{', '.join(parts)}: {moved}"


def _rest_shift(i: Inputs, baseline: Baseline, now: dict[str, float] | None, joint: int
                ) -> Measurement | None:
    """The rest pose's reading now against the baseline run's (deg of joint motion)."""
    name = MOTOR_NAMES[joint]
    if now is None or baseline.rest_deg is None or name not in baseline.rest_deg or \
            name not in now:
        return None
    by_hand = i.setup is not Setup.TWIN and name in PLACED_BY_EYE
    bound = 2 * max(REST_BY_EYE_DEG, i.tolerances.deg) if by_hand else i.tolerances.deg
    delta = now[name] - baseline.rest_deg[name]
    return Measurement(
        "rest pose reading since baseline", name, float(delta), "deg", -bound, bound,
        f"folded at rest it reads {now[name]:+.2f} deg from the mapped rest pose, "
        f"{baseline.rest_deg[name]:+.2f} in baseline {baseline.name} of {baseline.created}"
        + (" (placed by eye in both runs)" if by_hand else ""),
        cause="the same physical pose reads differently than when the baseline was accepted: "
        "the zero moved (a sweep cut short or past a stop, a middle pose held off while "
        "homing on a joint whose range is fixed, another arm's file, a horn that moved "
        "without a recalibration); "
        + RETRAIN.format(what=f"every {name} pose {delta:+.1f} deg off"),
        fix=f"{LEROBOT_CALIBRATE} (holding the middle of the travel while homing and sweeping "
        "stop to stop), so that the rest pose reads as before; or retrain on data recorded "
        f"with the new calibration and {ACCEPT_CHANGES}", evidence=Evidence.PHYSICAL)


def _zero_from_file(change: CalibrationDelta, joint: int, baseline: Baseline,
                    rest_known: bool) -> Measurement | None:
    """The zero a fixed physical pose reads from, as the files say (``-(delta homing +
    delta sweep middle)``), where no rest reading can say better: on wrist_roll always
    (LeRobot fixes its range at 0..4095, so its zero is wherever it was held while homing,
    and a person places it by eye at rest), on every joint when the run has no arm at rest.
    A shift of whole spline teeth may be a horn re-seated and honestly recalibrated: said,
    and only the arm at rest can confirm it; any other shift moved every pose's reading."""
    if joint != WRIST_ROLL and rest_known:
        return None
    name = MOTOR_NAMES[joint]
    shift = change.zero_shift_ticks
    teeth = _teeth(shift) if joint == WRIST_ROLL or not rest_known else None
    unexplained = 0.0 if teeth else float(-shift) * DEG_PER_TICK
    why = ("its range is fixed at 0..4095, so its zero is the pose it was held in while "
           "homing" if joint == WRIST_ROLL else "no arm at rest in this run shows whether the "
           "horn moved as much")
    return Measurement(
        "zero since baseline, from the files", name, unexplained, "deg", -1.0, 1.0,
        f"{explain_file_change(change, joint)} (baseline {baseline.name} of "
        f"{baseline.created})" + (f"; {abs(teeth)} whole spline teeth: a horn re-seated and "
                                  "recalibrated reads as before (the rest reading on the "
                                  "arm confirms it)" if teeth else ""),
        cause=f"{name}'s zero moved {unexplained:+.2f} deg since the baseline ({why}), by no "
        "whole number of spline teeth, so no re-seated horn explains it; "
        + RETRAIN.format(what=f"every {name} pose {unexplained:+.1f} deg off"),
        fix=f"{LEROBOT_CALIBRATE}, holding {name} where it was held for the baseline"
        + (" (the gripper level)" if joint == WRIST_ROLL else "") + ", or retrain and "
        + ACCEPT_CHANGES + "; if the arm really changed (a horn moved), run on the arm "
        "folded at rest: its rest reading tells", evidence=Evidence.FILES)


def _unit_span(unit: RobotUnit) -> str:
    return "0..100" if unit is RobotUnit.RANGE_0_100 else "-100..100"


def _width(change: CalibrationDelta, joint: int, baseline: Baseline, current: Calibration,
           unit: RobotUnit, bound_deg: float) -> Measurement | None:
    """A joint read in -100..100 or 0..100: a sweep wider or shorter than the baseline's
    rescales every value the policy sees (degrees do not scale: the rest reading judges
    their zero)."""
    if unit not in (RobotUnit.RANGE_M100_100, RobotUnit.RANGE_0_100) or joint == WRIST_ROLL:
        return None
    name = MOTOR_NAMES[joint]
    before = float(baseline.calibration.range_max[joint] - baseline.calibration.range_min[joint])
    after = float(current.range_max[joint] - current.range_min[joint])
    change_deg = (after - before) * DEG_PER_TICK
    shorter = change_deg < 0
    return Measurement(
        "calibrated sweep since baseline", name, change_deg, "deg", -bound_deg, bound_deg,
        f"swept {after * DEG_PER_TICK:.1f} deg now, {before * DEG_PER_TICK:.1f} in baseline "
        f"{baseline.name} (range_min {change.range_min_ticks:+d}, range_max "
        f"{change.range_max_ticks:+d} ticks): its {_unit_span(unit)} is "
        f"{after / before:.3f} times as wide",
        cause=(f"a short sweep: {name} was not swept through its whole travel this time"
               if shorter else f"{name} was swept further than for the baseline (past a "
               "stop, or the baseline's sweep was short)")
        + "; for a trained policy: every value of this joint is rescaled by "
        f"{before / after:.3f}: rescale the stats, or recalibrate sweeping stop to stop",
        fix=f"recalibrate sweeping {name} stop to stop, or rescale its stats by "
        f"{before / after:.4g} (x_new = (x_old - low) * {before / after:.4g} + low)",
        evidence=Evidence.FILES)


def _wiring(change: CalibrationDelta, joint: int) -> Measurement:
    what = ("drive_mode changed: in LeRobot's range units the joint now turns the other way"
            if change.drive_mode_changed else "")
    what += ("; " if change.drive_mode_changed and change.id_changed else "") + \
        ("the servo id changed" if change.id_changed else "")
    return Measurement(
        "drive_mode or id changed since baseline", MOTOR_NAMES[joint],
        float(change.drive_mode_changed or change.id_changed), "", 0, 0, what,
        cause="the calibration file was edited or written for another wiring; for a trained "
        "policy: the joint turns the other way",
        fix="restore drive_mode/id from the baseline, or recalibrate and " + ACCEPT_CHANGES,
        evidence=Evidence.FILES)


def _per_joint(measure_one, *, needs_rest: bool = False):
    """A check's measure: ``measure_one(inputs, baseline, change, joint, rest_now)`` per
    joint, a passing measurement's detail completed with what changed in the file and that
    a trained policy sees nothing of it."""
    def measure(i: Inputs) -> list[Measurement]:
        from .rest_pose import check_rest_reading

        baseline: Baseline = i["baseline"]
        now = None
        if needs_rest and i.readings.get("rest_pose") is not None and \
                i.readings.get("positions") is not None:
            now = {m.joint: m.value for m in check_rest_reading(i)}
        out = []
        for j, change in enumerate(compare_calibrations(baseline.calibration, i.calibration)):
            m = measure_one(i, baseline, change, j, now)
            if m is None:
                continue
            if m.passed and change.changed:
                m = replace(m, detail=f"{m.detail}; {explain_file_change(change, j)}; {NOTHING}")
            out.append(m)
        return out
    return measure


def _units(i: Inputs) -> tuple[RobotUnit, ...]:
    if i.mapping is not None and i.mapping.robot_units is not None:
        return i.mapping.robot_units
    return (RobotUnit.DEGREES,) * len(MOTOR_NAMES)


def _common(name: str, title: str, needs: tuple[str, ...], measure, catches: str,
            tolerance: str, evidence) -> Check:
    return Check(name, title, "acceptance", ("calibration", "baseline", *needs), measure,
                 catches, tolerance, evidence=evidence, suite="acceptance")


FILES_ON_ARMS = on_arms(twin=Evidence.FILES, hardware=Evidence.FILES)

CHECKS: tuple[Check, ...] = (
    _common("baseline-rest-reading", "the rest pose reads as in the baseline run",
            ("rest_pose", "positions"),
            _per_joint(lambda i, b, c, j, now: _rest_shift(i, b, now, j), needs_rest=True),
            "a recalibration that changed what the same physical pose reads: a sweep cut short "
            "or past a stop, another arm's file, a horn moved without recalibrating (a horn "
            "re-seated and honestly recalibrated reads as before: explained, not failed)",
            "--so101-tolerance-deg (twice the by-eye bound on shoulder_pan and wrist_roll on "
            "a real arm)", on_arms(twin=Evidence.TWIN, hardware=Evidence.PHYSICAL)),
    _common("baseline-zero", "the zero since the baseline, from the files", (),
            _per_joint(lambda i, b, c, j, now: _zero_from_file(
                c, j, b, now is not None and b.rest_deg is not None), needs_rest=True),
            "wrist_roll's zero moved with the pose held while homing (its range is fixed at "
            "0..4095), or any joint's zero moved where no arm at rest can show it did not: "
            "every pose reads off", "1 deg, beyond whole spline teeth", FILES_ON_ARMS),
    _common("baseline-sweep", "the calibrated sweep since the baseline", (),
            _per_joint(lambda i, b, c, j, now: _width(c, j, b, i.calibration, _units(i)[j],
                                                      2 * i.tolerances.deg)),
            "a sweep shorter or longer than the baseline's on a joint read in -100..100 or "
            "0..100: every value of the joint rescaled", "twice --so101-tolerance-deg",
            FILES_ON_ARMS),
    _common("baseline-wiring", "drive_mode and servo id since the baseline", (),
            _per_joint(lambda i, b, c, j, now: _wiring(c, j)),
            "a drive_mode or servo id changed: the joint turns the other way", "unchanged",
            FILES_ON_ARMS),
)
