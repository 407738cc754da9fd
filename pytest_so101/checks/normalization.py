"""The policy's normalization stats against the frame they are declared in.

LeRobot's key is there (else its normalizer silently passes inputs through), spreads are
positive and plausible, the stats mean and min/max mapped into the sim frame lie inside the
joint limits, the frame fingerprint finds no frame that explains the stats clearly better
(naming it, with the conversion), and (advisory) the reference pose normalizes near zero.
Each check returns per-joint measurements with the likely cause and the fix
(docs/faults.md); :data:`CHECKS` declares them.
"""

from __future__ import annotations

import numpy as np

from ..core.calibration import Calibration
from ..core.chain import map_disagreement_deg
from ..core.frames import PolicyFrame, RobotUnit, tick_step
from ..core.joints import GRIPPER, MOTOR_NAMES, N_JOINTS, JointLimits
from ..core.mapping import RAD_TO_DEG, JointMap, MappingFile
from ..core.measurement import Measurement
from ..core.stats import NormStats
from .base import Check, Inputs
from .fingerprint import conversion, frame_name, rank_frames

#: The fingerprint overrules the declared frame only by this much penalty.
FRAME_DECISION_MARGIN = 0.5


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
    nominal = (" (the offset takes each sweep's middle at 2047 ticks: give the arm's "
               "calibration for the exact one)") if cal is None and \
        best.frame == PolicyFrame.TICKS.value else ""
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
                 f"{formula}") + nominal))
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


#: The fix when the stats do not fit the chain's frame.
DECLARE_THE_FRAME = ("declare the [policy] frame the stats were recorded in (the stats frame "
                     "check names the frame that fits and the conversion)")


def check_normalized_near_zero(stats: NormStats, chain: JointMap, q_sim_rad: np.ndarray, *,
                               tolerance: float, frame: PolicyFrame, chain_name: str,
                               pose_name: str = "sim zero", strict: bool = False,
                               check: str | None = None) -> list[Measurement]:
    """The reference pose, mapped through ``chain`` into the policy frame, normalizes near 0.

    Advisory by default (MARGINAL beyond the tolerance, never FAIL): a dataset recorded
    away from the reference pose (an arm parked off-centre) normalizes it far from 0 with
    nothing wrong. The firm checks of the frame are the stats mean and extremes within the
    joint limits and the frame fingerprint. ``strict``: FAIL beyond the tolerance (for a
    pose the data must have been recorded around). The measurement is named ``check``, by
    default "normalized reference pose" (``pose_name`` other than the sim zero:
    "normalized POSE_NAME"). The detail says where the pose lies against the recorded data
    (its min/max when the stats have them).
    """
    if check is None:
        check = "normalized reference pose" if pose_name == "sim zero" else \
            f"normalized {pose_name}"
    x_policy = chain.apply(q_sim_rad)
    z = stats.normalize(x_policy)
    unit = "std" if stats.mode == "MEAN_STD" else "minmax"
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        detail = (f"{pose_name} maps through the {chain_name} chain to "
                  f"{x_policy[j]:.4g} {frame.unit_label(j)} in {frame.value}; stats "
                  f"{stats.key} mean {stats.mean[j]:.4g}, std {stats.std[j]:.4g}")
        if stats.min is not None and stats.max is not None:
            inside = stats.min[j] <= x_policy[j] <= stats.max[j]
            detail += (f"; {'inside' if inside else 'outside'} the recorded range "
                       f"[{stats.min[j]:.4g}, {stats.max[j]:.4g}]")
        if abs(z[j]) > tolerance and not strict:
            detail += (". Advisory: the data was recorded away from this pose (fine for a "
                       "dataset parked off-centre); the frame itself is judged by the stats "
                       "mean and min/max within the joint limits and the fingerprint")
        out.append(Measurement(
            check, joint, float(z[j]), unit, -tolerance, tolerance, detail,
            advisory=not strict,
            cause=f"the stats were not recorded around the {pose_name}, or in another frame "
            "than the chain maps to" if strict else "",
            fix=DECLARE_THE_FRAME if strict else ""))
    return out


def check_stats_mean_within_limits(stats: NormStats, chain: JointMap, limits: JointLimits, *,
                                   frame: PolicyFrame, chain_name: str) -> list[Measurement]:
    """The stats mean, mapped back to the sim frame, lies inside the model's joint limits."""
    center = stats.center
    q_deg = chain.inverse().apply(center) * RAD_TO_DEG
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        lo, hi = float(limits.lower_deg[j]), float(limits.upper_deg[j])
        detail = (f"stats mean {center[j]:.5g} {frame.unit_label(j)} ({frame.value}, "
                  f"{stats.key}) maps through the {chain_name} chain to {q_deg[j]:.4g} deg "
                  f"in the sim frame; joint limits [{lo:.4g}, {hi:.4g}] deg "
                  f"({limits.source})")
        out.append(Measurement("stats mean in joint limits", joint, float(q_deg[j]), "deg",
                               lo, hi, detail, marginal_fraction=0.95,
                               cause="the stats were recorded in another frame than declared "
                               "(SmolVLA's so100 stats: LeRobot legacy degrees read as "
                               "degrees), or for another model",
                               fix=DECLARE_THE_FRAME))
    return out


#: Recorded extremes may pass the model's limits by this much (a sweep overshoots a little).
EXTREMES_MARGIN_DEG = 10.0


def check_stats_extremes_within_limits(stats: NormStats, chain: JointMap, limits: JointLimits,
                                       *, frame: PolicyFrame, chain_name: str
                                       ) -> list[Measurement]:
    """The recorded min and max (when the stats have them), mapped back to the sim frame,
    lie within the joint limits: a joint cannot have been where it cannot go."""
    if stats.min is None or stats.max is None:
        return []
    ends_deg = np.sort(chain.inverse().apply(np.stack([stats.min, stats.max])) * RAD_TO_DEG,
                       axis=0)
    beyond = np.maximum(0.0, np.maximum(limits.lower_deg - ends_deg[0],
                                        ends_deg[1] - limits.upper_deg))
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        out.append(Measurement(
            "stats min/max beyond joint limits", joint, float(beyond[j]), "deg", None,
            EXTREMES_MARGIN_DEG,
            f"stats min {stats.min[j]:.5g}, max {stats.max[j]:.5g} {frame.unit_label(j)} "
            f"({frame.value}) map through the {chain_name} chain to [{ends_deg[0, j]:.4g}, "
            f"{ends_deg[1, j]:.4g}] deg; joint limits [{limits.lower_deg[j]:.4g}, "
            f"{limits.upper_deg[j]:.4g}] deg ({limits.source})",
            cause="the data reached where the joint cannot go: the stats were recorded in "
            "another frame than declared, or for another model",
            fix=DECLARE_THE_FRAME))
    return out


#: A spread below this fraction of one servo tick (in the stats' unit) is no spread: a joint
#: that never moved while recording (only float rounding or sensor noise of a still joint).
STD_FLOOR_TICKS = 0.1


def std_floor(frame: PolicyFrame | None, calibration: Calibration | None) -> np.ndarray:
    """Per joint, the smallest spread a moving joint can have: :data:`STD_FLOOR_TICKS` of a
    servo tick in the frame's unit (without a frame, in the smallest unit a joint is ever
    recorded in: radians; a range unit without the calibration, over a full turn)."""
    if frame is None:
        return np.full(N_JOINTS, STD_FLOOR_TICKS * tick_step(RobotUnit.DEGREES) / RAD_TO_DEG)
    sweeps = (calibration.range_max - calibration.range_min if calibration is not None
              else np.full(N_JOINTS, 4095))
    return np.array([STD_FLOOR_TICKS * tick_step(unit, float(sweeps[j]))
                     for j, unit in enumerate(frame.units)])


def check_stds_positive(stats: NormStats, frame: PolicyFrame | None = None,
                        calibration: Calibration | None = None) -> list[Measurement]:
    """Stds (MIN_MAX: spans) are finite and above a physical floor (a tenth of a servo tick
    in the stats' unit, :func:`std_floor`), so normalization cannot explode: a joint that
    never moved while recording has a spread of float rounding, and dividing by it turns
    sensor noise into huge inputs (dataset checkers in the field flag zero variance too)."""
    spread = stats.std if stats.mode == "MEAN_STD" else stats.max - stats.min
    what = "std" if stats.mode == "MEAN_STD" else "max - min"
    floor = std_floor(frame, calibration)
    unit = f"{frame.value} units" if frame is not None else "policy units"
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        value = float(spread[j])
        ok = np.isfinite(value) and value >= floor[j]
        smallest = "" if frame is not None else \
            " in the smallest unit any joint is recorded in (radians)"
        detail = "" if ok else (f"{what} {value!r} in {stats.key}: below a tenth of a servo "
                                f"tick ({floor[j]:.3g} {unit}){smallest}")
        out.append(Measurement(f"stats {what} above a tenth of a tick", joint,
                               value if np.isfinite(value) else float("nan"), unit,
                               low=float(floor[j]), detail=detail, marginal_fraction=1.0,
                               cause=f"{joint} never moved while the data was recorded (a "
                               "frozen or unplugged servo, a joint left out of the task), or "
                               "the stats file is corrupted: normalizing divides by ~0 and turns "
                               "sensor noise into huge inputs",
                               fix=f"record data where {joint} moves (or check its servo and "
                               "cable), then recompute the stats; a joint that truly never "
                               "moves needs its normalization turned off, not a tiny std"))
    return out


#: Data where every arm joint spreads less than this (sim deg, std) over many frames is
#: implausible: a teleoperated arm moves. Radians read as degrees look exactly like this.
NARROW_SPREAD_DEG = 1.5


#: Frames below which a narrow spread proves nothing (a short clip may hold still).
NARROW_MIN_FRAMES = 1000


#: No joint's recorded extent exceeds one turn (std: half a turn).
TURN_DEG = 360.0


def stats_spread_sim_deg(stats: NormStats, chain: JointMap) -> np.ndarray:
    """Each joint's spread mapped into the sim frame (deg): the std (MIN_MAX: span / 4)."""
    spread = stats.std if stats.mode == "MEAN_STD" else (stats.max - stats.min) / 4
    return np.abs(spread) / chain.scale * RAD_TO_DEG


def check_stats_spread_plausible(stats: NormStats, chain: JointMap, *, frame: PolicyFrame,
                                 chain_name: str, other_frame: str | None = None,
                                 conversion: dict[str, str] | None = None
                                 ) -> list[Measurement]:
    """The data's spread, read in the declared frame, is one an arm can have: not every
    arm joint still (radians read as degrees spread over ~1 deg), no joint's std beyond
    half a turn (ticks or degrees read as degrees or radians).

    The still-arm rule is firm only when another frame (``other_frame``, from the
    fingerprint) explains the stats; alone it is advisory (an arm may be parked)."""
    spread = stats_spread_sim_deg(stats, chain)
    many = stats.count is None or stats.count >= NARROW_MIN_FRAMES
    arm = np.arange(len(MOTOR_NAMES)) != GRIPPER
    still = bool(many and np.all(spread[arm] < NARROW_SPREAD_DEG))
    frames = f"over {stats.count} frames" if stats.count is not None else \
        "(frame count not stored)"
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        judged_still = still and bool(arm[j])
        detail = (f"std {spread[j]:.3g} deg in the sim frame through the {chain_name} chain "
                  f"({frame.value})")
        if judged_still:
            detail += (f"; every arm joint spreads less than {NARROW_SPREAD_DEG:g} deg {frames}"
                       + (f": the stats fit {other_frame}" if other_frame else
                          ": advisory, an arm parked for the whole dataset looks the same"))
        too_wide = spread[j] > TURN_DEG / 2
        out.append(Measurement(
            "stats spread plausible", joint, float(spread[j]), "deg",
            NARROW_SPREAD_DEG if judged_still else None, TURN_DEG / 2, detail,
            advisory=judged_still and other_frame is None and not too_wide,
            cause=(f"the stats were recorded in {other_frame}, not {frame.value}"
                   if judged_still and other_frame else
                   f"the data moves more than a turn read in {frame.value}: recorded in "
                   "other units (ticks, or degrees read as radians)"),
            fix=(f"convert the data and recompute the stats: {conversion[joint]}"
                 if conversion and joint in conversion else DECLARE_THE_FRAME)))
    return out


def _stats_frame(i: Inputs) -> list[Measurement]:
    return check_stats_frame(i.stats, i.mapping, i.calibration, i.limits,
                             tolerance_deg=i.tolerances.deg)


def _spread(i: Inputs) -> list[Measurement]:
    best, formulas = decide_frame(i.stats, i.mapping, i.calibration, i.limits)
    return check_stats_spread_plausible(
        i.stats, i.chain("reference"), frame=i.mapping.policy_frame, chain_name="reference",
        other_frame=best, conversion=formulas)


def _per_chain(name: str) -> list[Check]:
    """The checks of the stats through one sim -> policy chain."""
    needs = ("stats", "sim_to_robot", "policy_frame") + \
        (("sim_to_policy",) if name == "declared" else ())
    return [
        Check(f"stats-mean-in-limits-{name}", f"stats mean in limits ({name} chain)",
              "normalization", needs,
              lambda i: check_stats_mean_within_limits(
                  i.stats, i.chain(name), i.limits, frame=i.mapping.policy_frame,
                  chain_name=name),
              catches="stats recorded in another frame than declared (SmolVLA's so100 stats "
              "read as degrees), or for another model", tolerance="the model's joint limits",
              suite="normalization"),
        Check(f"stats-extremes-in-limits-{name}", f"stats min/max in limits ({name} chain)",
              "normalization", needs,
              lambda i: check_stats_extremes_within_limits(
                  i.stats, i.chain(name), i.limits, frame=i.mapping.policy_frame,
                  chain_name=name),
              catches="data that reached where the joint cannot go: another frame or model",
              tolerance=f"the model's joint limits + {EXTREMES_MARGIN_DEG:g} deg",
              suite="normalization", empty_reason="the stats hold no min/max"),
        Check(f"reference-pose-near-zero-{name}",
              f"reference pose normalizes near 0 ({name} chain)", "normalization", needs,
              lambda i: check_normalized_near_zero(
                  i.stats, i.chain(name), i.mapping.reference_pose_rad,
                  tolerance=i.tolerances.z, frame=i.mapping.policy_frame, chain_name=name,
                  pose_name=i.mapping.reference_pose_name),
              catches="(advisory) a chain or stats far from the data around the reference "
              "pose", tolerance="--so101-tolerance-z std (advisory: MARGINAL, never FAIL)",
              firm=False, suite="normalization"),
    ]


CHECKS: tuple[Check, ...] = (
    Check("stats-frame", "stats frame", "normalization",
          ("stats", "sim_to_robot", "policy_frame"), _stats_frame,
          catches="stats recorded in another frame than declared (legacy degrees, radians, "
          "ticks), with the conversion", tolerance="--so101-tolerance-deg over the joint range",
          suite="configuration"),
    Check("stats-spread", "stats spread plausible", "normalization",
          ("stats", "sim_to_robot", "policy_frame"), _spread,
          catches="radians read as degrees (every arm joint still), ticks read as degrees "
          "(more than a turn)",
          tolerance=f"some arm joint spreads >= {NARROW_SPREAD_DEG:g} deg; no std beyond "
          "half a turn", suite="configuration"),
    Check("stats-key", "stats key", "normalization", ("stats",),
          lambda i: check_stats_key(i.stats),
          catches="stats keyed per dataset or missing: LeRobot's normalizer passes inputs "
          "through unnormalized (lerobot #4415, #1763)", tolerance="the key present",
          per_joint=False, suite="normalization"),
    Check("stats-std", "stats std", "normalization", ("stats",),
          lambda i: check_stds_positive(i.stats, i.mapping.policy_frame if i.mapping else None,
                                        i.calibration),
          catches="a joint that never moved while recording (a frozen or unplugged servo: "
          "std 4.6e-6 in a published dataset), a zero, negative or NaN spread: normalization "
          "divides by ~0", tolerance=f"{STD_FLOOR_TICKS:g} of a servo tick in the stats' unit",
          suite="normalization"),
    *_per_chain("reference"),
    *_per_chain("declared"),
)
