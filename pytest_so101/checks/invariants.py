"""The checks, as plain functions that return per-joint :class:`Measurement` records.

No pytest here: the suites assert on these, reports tabulate them, scripts can call them.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from ..core.calibration import Calibration
from ..core.chain import map_disagreement_deg
from ..core.frames import PolicyFrame, RobotUnit, ticks_to_units, units_to_ticks
from ..core.joints import GRIPPER, MOTOR_NAMES, JointLimits
from ..core.mapping import RAD_TO_DEG, JointMap
from ..core.measurement import Measurement
from ..core.stats import NormStats

#: The fix when the stats do not fit the chain's frame.
DECLARE_THE_FRAME = ("declare the [policy] frame the stats were recorded in (the stats frame "
                     "check names the frame that fits and the conversion)")


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
    """Worst disagreement over each joint's whole range (affine: reached at a range end)."""
    ends = np.stack([limits.lower_rad, limits.upper_rad])
    worst = map_disagreement_deg(declared, reference, ends).max(axis=0)
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        direction_ok = declared.direction[j] == reference.direction[j]
        detail = "" if worst[j] <= tolerance_deg and direction_ok else \
            diagnose_map(declared, reference, j, frame=frame)
        fix = (f"set [sim_to_policy] for {joint} to the reference: "
               f"{reference.describe(j, 'q')} (q in sim rad)")
        out.append(Measurement(check, joint, float(worst[j]), "deg", None, tolerance_deg, detail,
                               cause=f"the declared [sim_to_policy] map of {joint} is not the "
                               "chain sim -> robot -> policy frame", fix=fix))
    return out


def check_normalized_near_zero(stats: NormStats, chain: JointMap, q_sim_rad: np.ndarray, *,
                               tolerance: float, frame: PolicyFrame, chain_name: str,
                               pose_name: str = "sim zero") -> list[Measurement]:
    """The reference pose, mapped through ``chain`` into the policy frame, normalizes near 0.

    Advisory (MARGINAL beyond the tolerance, never FAIL): a dataset recorded away from the
    reference pose (an arm parked off-centre) normalizes it far from 0 with nothing wrong.
    The firm checks of the frame are the stats mean and extremes within the joint limits
    and the frame fingerprint. The detail says where the pose lies against the recorded
    data (its min/max when the stats have them).
    """
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
        if abs(z[j]) > tolerance:
            detail += (". Advisory: the data was recorded away from this pose (fine for a "
                       "dataset parked off-centre); the frame itself is judged by the stats "
                       "mean and min/max within the joint limits and the fingerprint")
        out.append(Measurement("normalized reference pose", joint, float(z[j]), unit,
                               -tolerance, tolerance, detail, advisory=True))
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
                               "(seed 000: LeRobot legacy degrees read as degrees), or for "
                               "another model",
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


def check_stds_positive(stats: NormStats) -> list[Measurement]:
    """Stds (MIN_MAX: spans) are finite and positive, so normalization cannot explode.
    Needs no frame: a zero spread is wrong in every frame."""
    spread = stats.std if stats.mode == "MEAN_STD" else stats.max - stats.min
    what = "std" if stats.mode == "MEAN_STD" else "max - min"
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        value = float(spread[j])
        detail = f"{what} {value!r} in {stats.key}" if not (np.isfinite(value) and value > 0) \
            else ""
        out.append(Measurement(f"stats {what} positive", joint,
                               value if np.isfinite(value) else float("nan"),
                               "policy units", low=np.nextafter(0.0, 1.0), detail=detail,
                               cause="a joint that never moved in the dataset, or a corrupted "
                               "stats file: normalization divides by ~eps",
                               fix="recompute the stats over data where the joint moves"))
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


def ticks_roundtrip_error(cal: Calibration, units: Sequence[RobotUnit], *,
                          rounding: str) -> np.ndarray:
    """Worst |ticks -> units -> ticks - ticks| per joint over every tick of each range."""
    span = int((cal.range_max - cal.range_min).max()) + 1
    steps = np.arange(span)[:, None]
    ticks = np.minimum(cal.range_min + steps, cal.range_max)
    back = units_to_ticks(ticks_to_units(ticks, cal, units), cal, units, rounding=rounding)
    return np.abs(back - ticks).max(axis=0)


def unit_per_tick(cal: Calibration, units: Sequence[RobotUnit]) -> np.ndarray:
    """Size of one tick in each joint's unit (positive)."""
    one = ticks_to_units(np.stack([cal.range_min, cal.range_min + 1]).astype(float), cal, units,
                         clamp=False)
    return np.abs(one[1] - one[0])
