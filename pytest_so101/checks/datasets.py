"""Checks of a recorded dataset: its frames against its own stats file, against the
model's joint limits through the declared frame, and its action against its state.

- **stats file**: ``meta/stats.json`` recomputed from the frames (mean, std, min, max):
  a stats file from other data (edited episodes, a merged dataset) normalizes a policy
  wrongly, silently.
- **frame and limits**: the frames' own statistics go through the configuration checks
  (the frame fingerprint, the spread, the min/max within the model's limits): data in
  radians, legacy degrees or ticks on every joint is named, from the data itself.
- **tick grid**: each joint's values against the servo's tick grid of the declared unit
  (:mod:`tick_grid`): one joint in radians, -100..100 as degrees, a gripper in 0..1, named
  on that joint, where the data came from a servo.
- **action at rest**: where both arms stand still, ``action`` (the leader's reading in a
  teleoperated recording) minus ``observation.state`` (the follower's) is the offset the
  recording bakes into every frame (lerobot #3758: 17 deg on one joint, 6 cm at the
  gripper, found only at deployment). Per joint, each episode's median over its frames at
  rest (the farthest from zero: one episode recorded after a recalibration is not
  outvoted), in degrees of the joint, against ``--so101-tracking-deg``; the gripper is
  advisory (a grasped object holds the follower's jaw open).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from ..core.calibration import Calibration
from ..core.dataset import FEATURES, STATE, Dataset
from ..core.errors import So101ConfigError
from ..core.frames import PolicyFrame, RobotUnit, tick_step
from ..core.joints import GRIPPER, MOTOR_NAMES, N_JOINTS
from ..core.mapping import RAD_TO_DEG, JointMap, MappingFile
from ..core.measurement import ARM, Evidence, Measurement
from ..core.stats import NormStats
from .base import Check, CheckResult, Inputs, NotApplicable, run_check, run_checks, run_per_arm
from .normalization import CHECKS as STATS_CHECKS
from .tick_grid import (
    GRID_FRACTION,
    MIN_DISTINCT,
    GridFit,
    distinct,
    estimated_grid,
    first_grid,
    fit,
)

#: The configuration checks run on the frames' own statistics.
DATA_CHECKS = ("stats-frame", "stats-spread", "stats-extremes-in-limits-reference",
               "stats-extremes-in-limits-declared")
#: A stats value may differ from the frames' by this fraction of the joint's spread in
#: the data (float32 sums over millions of frames stay far below it).
STATS_TOLERANCE = 0.01
#: ... plus this fraction of the values' magnitude (float32 sums of a joint that never moved).
STATS_FLOOR = 1e-4
#: Both arms count as still at a frame when no arm joint moved more than this (deg)
#: over REST_WINDOW_S before and after it (a settled servo loop, not a slow sweep).
STILL_DEG = 0.5
REST_WINDOW_S = 0.25
#: Fewer frames at rest than this (in the whole dataset) cannot give an offset.
MIN_REST_FRAMES = 30
HISTOGRAM_BINS = 24
REST_TITLE = "action - state at rest"
BY_NAME = {c.name: c for c in STATS_CHECKS}


def data_stats(ds: Dataset, feature: str) -> NormStats:
    """The frames' own mean/std/min/max, as stats a configuration check can judge."""
    values = ds.feature(feature)
    return NormStats(feature, values.mean(axis=0), values.std(axis=0), source=str(ds.root),
                     key=f"{feature} computed from its {ds.frames} frames", mode="MEAN_STD",
                     min=values.min(axis=0), max=values.max(axis=0), count=ds.frames)


def check_stats_file(ds: Dataset, stored: NormStats) -> list[Measurement]:
    """Each stored statistic against the frames', per joint, as a percentage of the
    joint's spread in the data."""
    values = ds.feature(stored.feature)
    computed = {"mean": values.mean(axis=0), "std": values.std(axis=0),
                "min": values.min(axis=0), "max": values.max(axis=0)}
    # a joint that never moved has no spread to compare with: a float32 sum's rounding
    # (1e-4 of the values' magnitude) is the floor
    magnitude = np.maximum(1.0, np.abs(values).max(axis=0)) if ds.frames else np.ones(6)
    scale = computed["std"] + STATS_FLOOR * magnitude
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        gaps = {}
        for name, data_value in computed.items():
            file_value = getattr(stored, name)
            # a statistic the file does not hold (a min/max-only file's mean) is not compared
            if file_value is not None and not np.isnan(file_value).all():
                gaps[name] = (float(file_value[j]), float(data_value[j]))
        worst = max(gaps, key=lambda n: abs(gaps[n][0] - gaps[n][1]))
        file_value, data_value = gaps[worst]
        out.append(Measurement(
            f"{stored.feature} stats file vs frames", joint,
            abs(file_value - data_value) / scale[j] * 100, "% of std", None,
            STATS_TOLERANCE * 100,
            f"{ds.stats_path} {worst} = {file_value:.6g}, the {ds.frames} frames give "
            f"{data_value:.6g} (std {computed['std'][j]:.4g})",
            cause="meta/stats.json was not computed from these frames: episodes edited, "
            "deleted or merged after the stats were written, or the file copied from "
            "another dataset; a policy trained with it normalizes every frame wrongly",
            fix="recompute the stats from the data (LeRobot's compute_stats / "
            "aggregate_stats), then retrain or re-normalize"))
    return out


def _stored_stats(ds: Dataset, feature: str) -> NormStats:
    """``feature``'s statistics in meta/stats.json: mean/std (with min/max when present),
    else min/max alone."""
    from ..core.stats import load_stats

    try:
        return load_stats(ds.stats_path, feature=feature, arm=ds.arm)
    except So101ConfigError as first:
        try:
            return load_stats(ds.stats_path, feature=feature, mode="MIN_MAX", arm=ds.arm)
        except So101ConfigError:
            raise first from None


def unreadable_stats(ds: Dataset, feature: str, exc: So101ConfigError) -> Measurement:
    """A failing measurement for a stats file that is missing, malformed or lacks
    ``feature``: LeRobot normalizes the policy with this file, so it cannot pass unseen."""
    return Measurement(
        f"{feature} stats file readable", ARM, 0.0, "", 1.0, 1.0, str(exc),
        cause="meta/stats.json is missing, unreadable or has no statistics for "
        f"{feature}: LeRobot normalizes a policy trained on this dataset with that file",
        fix="recompute the stats from the data (LeRobot's compute_stats / aggregate_stats) "
        "and write meta/stats.json")


def check_frame_count(ds: Dataset) -> list[Measurement]:
    """meta/info.json's total_frames equals the frames in data/."""
    if ds.declared_frames is None:
        return []
    return [Measurement("frames in data/ vs info.json", ARM,
                        float(ds.frames - ds.declared_frames), "frames", 0.0, 0.0,
                        f"info.json total_frames {ds.declared_frames}, data/ holds {ds.frames} "
                        f"in {len(ds.files)} files",
                        cause="data files missing, extra or truncated (an interrupted copy or "
                        "recording)", fix="re-download or re-record the missing episodes")]


UNIT_NAMES = {RobotUnit.DEGREES: "degrees", RobotUnit.RANGE_M100_100: "-100..100",
              RobotUnit.RANGE_0_100: "0..100", RobotUnit.TICKS: "ticks"}
#: Legacy LeRobot (before its motor-bus rewrite) read degrees as ticks * 180 / 2048.
LEGACY_DEGREES_STEP = 360.0 / 4096
#: Calibrated sweeps a range unit's step may come from (ticks): a range grid of unknown
#: calibration may have any step between FULL / 4096 and FULL / 100.
PLAUSIBLE_SWEEP_TICKS = (100, 4096)
RANGE_UNITS = {UNIT_NAMES[u]: u for u in (RobotUnit.RANGE_M100_100, RobotUnit.RANGE_0_100)}


def _sweep_ticks(j: int, calibration: Calibration | None) -> float | None:
    """Joint ``j``'s calibrated sweep (range_max - range_min), when a calibration is given."""
    return float(calibration.range_max[j] - calibration.range_min[j]) if calibration else None


def grid_steps(j: int, calibration: Calibration | None) -> dict[str, float]:
    """Joint ``j``'s candidate units and one tick's worth in each (radians: LeRobot's
    degrees written in radians; 0..1: a 0..100 gripper divided by 100)."""
    span = _sweep_ticks(j, calibration)
    steps = {UNIT_NAMES[unit]: tick_step(unit, span) for unit in RobotUnit}
    steps["radians"] = steps["degrees"] / RAD_TO_DEG
    if span:
        steps["0..1"] = steps["0..100"] / 100
    return {name: step for name, step in steps.items() if step}


#: Grids whose steps differ by less than this fraction are one unit read two ways (360 /
#: 4096 against 360 / 4095, -100..100 over a 2276-tick sweep against degrees): the values'
#: scale agrees to within it, which is no unit slip.
SAME_UNIT_RTOL = 0.01


def _could_be(declared: str, step: float, declared_steps: list[float]) -> bool:
    """Whether a grid of ``step`` may be the declared unit's own: within SAME_UNIT_RTOL of
    one of its steps when known; for a range unit of unknown calibration, any step a
    calibrated sweep can give (so degrees or ticks are never claimed there: 200 / 2275 ticks
    is exactly 360 / 4095)."""
    if declared_steps:
        return any(np.isclose(step, s, rtol=SAME_UNIT_RTOL) for s in declared_steps)
    unit = RANGE_UNITS.get(declared)
    if unit is None:
        return False
    low, high = PLAUSIBLE_SWEEP_TICKS
    return tick_step(unit, high) * (1 - SAME_UNIT_RTOL) <= step <= \
        tick_step(unit, low) * (1 + SAME_UNIT_RTOL)


def _what_step(step: float) -> str:
    """What a grid step could be, in words."""
    named = [f"-100..100 over a sweep of {200 / step:.0f} ticks",
             f"0..100 over {100 / step:.0f} ticks"]
    if np.isclose(step, LEGACY_DEGREES_STEP, rtol=1e-6):
        named.insert(0, "legacy LeRobot degrees (360 / 4096)")
    return ", or ".join(named)


@dataclass(frozen=True)
class _Grid:
    """One joint's grid verdict: a measurement, or why there is none."""

    measurement: Measurement | None = None
    unjudged: str = ""
    off_grid: bool = False          # unjudged because its values lie on no servo grid


def _joint_grid(values: np.ndarray, j: int, feature: str, frames: int, frame: PolicyFrame,
                calibration: Calibration | None) -> _Grid:
    joint = MOTOR_NAMES[j]
    declared = UNIT_NAMES[frame.units[j]]
    steps = grid_steps(j, calibration)
    mine_steps = [steps[declared]] if declared in steps else []
    if frame.legacy and declared == "degrees":
        mine_steps.append(LEGACY_DEGREES_STEP)
    if len(values) < MIN_DISTINCT:
        return _Grid(unjudged=f"{joint} barely moves")
    fits = [f for f in (fit(values, declared, s) for s in mine_steps) if f is not None]
    mine = max(fits, key=lambda f: f.fraction, default=None)
    label = "lerobot-legacy-degrees" if frame.legacy and declared == "degrees" else declared
    sweep = _sweep_ticks(j, calibration) if declared in RANGE_UNITS else None
    detail = (f"{frames} frames of {feature}, {len(values)} distinct values; declared "
              f"{frame.value} ({label} on {joint}: "
              + (" or ".join(f"{s:.6g}" for s in mine_steps) + " per tick)" if mine_steps
                 else "its step needs the calibration)"))
    value = mine.fraction * 100 if mine is not None else 0.0
    # a range unit stops at the sweep's ends (legacy LeRobot let 0..100 run -10..110)
    widest = None if sweep is None else sweep * (1.2 if frame.legacy else 1.0) + 1
    if mine is not None and mine.on_grid and not (widest and mine.span_steps > widest):
        return _Grid(Measurement("values on the declared unit's tick grid", joint, value, "%",
                                 GRID_FRACTION * 100, None,
                                 detail + f"; {mine.span_steps:.0f} ticks spanned"))
    if mine is not None and mine.on_grid:           # on the grid, but wider than the sweep
        return _Grid(Measurement(
            "values on the declared unit's tick grid", joint, 0.0, "%", GRID_FRACTION * 100,
            None, detail + f"; the values span {mine.span_steps:.0f} of its ticks, the "
            f"calibrated sweep is {sweep:.0f}",
            cause=f"{joint}'s {feature} spans more ticks of {label} than the calibrated sweep "
            "holds (a range unit stops at the sweep's ends): recorded in a coarser unit "
            "(-100..100 declared as 0..100, raw ticks) or with another calibration",
            fix=f"find the unit {joint} was recorded in, convert it to {label} and recompute "
            "meta/stats.json, or check the calibration file"))
    # coarsest grid first, those that are the declared unit read another way included: data
    # on one grid also lies on its halves (-100..100 on 0..100's), which must not be claimed
    other = first_grid(values, {u: s for u, s in steps.items() if u != declared})
    if other is None:
        other = estimated_grid(values)
        if other is None:
            return _Grid(unjudged=f"{joint} on no servo grid (not a servo's readings: a "
                         "simulator, a policy, resampled or rounded values)", off_grid=True)
        how, convert = f"whole ticks of {other.step:.6g} ({_what_step(other.step)})", ""
    else:
        how = other.unit
        convert = (f" (x {RAD_TO_DEG:.4f}: radians to degrees)"
                   if other.unit == "radians" and declared == "degrees" else "")
    if _could_be(declared, other.step, mine_steps):
        if not mine_steps:
            return _Grid(unjudged=f"{joint} on a grid of {other.step:.6g} per tick, which "
                         f"{declared} of a calibration not given may have")
        return _Grid(_scale_measurement(joint, other, mine_steps, detail))
    return _Grid(Measurement(
        "values on the declared unit's tick grid", joint, value, "%", GRID_FRACTION * 100, None,
        detail + f"; {other.fraction:.1%} of them lie on the grid of {other.unit} "
        f"({other.step:.6g} per tick, {other.span_steps:.0f} ticks spanned)",
        cause=f"{joint}'s {feature} was recorded in {how}, not {label}: each value is a "
        "whole servo tick of that unit (a robot configured otherwise, a leader and a follower "
        "on different use_degrees, a script that converted the joint, or a calibration other "
        "than the one given)",
        fix=f"convert {joint} to {label}{convert} and recompute meta/stats.json, or declare "
        "the frame it was recorded in (or give the calibration it was recorded with)"))


def _scale_measurement(joint: str, found: GridFit, declared_steps: list[float],
                       detail: str) -> Measurement:
    """Values on a grid within SAME_UNIT_RTOL of the declared unit's: the same unit read
    another way (4096 ticks a turn, a sweep a few ticks off), judged by how far the scale
    is off: PASS well inside, MARGINAL near the limit."""
    closest = min(declared_steps, key=lambda s: abs(found.step / s - 1))
    off = (found.step / closest - 1) * 100
    return Measurement(
        "tick grid step vs the declared unit's", joint, off, "%", -SAME_UNIT_RTOL * 100,
        SAME_UNIT_RTOL * 100,
        detail + f"; the values lie on a grid of {found.step:.6g} per tick ({found.unit}), "
        f"{off:+.2f} % from the declared {closest:.6g}: the same unit read another way "
        "(another resolution, or a calibrated sweep a few ticks off)",
        cause="the values' scale differs from the declared unit's by more than "
        f"{SAME_UNIT_RTOL:.0%}", fix="check the calibration the data was recorded with")


def check_tick_grid(ds: Dataset, feature: str, mapping: MappingFile,
                    calibration: Calibration | None) -> list[Measurement]:
    """Per joint, the values on the servo's tick grid of the declared unit
    (:mod:`tick_grid`); on another unit's grid, a failure naming it. A joint that barely
    moves, or whose values lie on no grid a servo gives, is not judged; when others of the
    feature are, it is MARGINAL (part of a column from a servo, part not); when none is, the
    reasons.

    ``calibration`` is the follower's: it gives the range grids of ``observation.state``
    only (a teleoperated ``action`` is the leader's reading, on the leader's grids)."""
    frame = mapping.policy_frame
    if feature != STATE:
        calibration = None
    verdicts = [_joint_grid(distinct(ds.feature(feature)[:, j]), j, feature, ds.frames,
                            frame, calibration) for j in range(N_JOINTS)]
    out = [v.measurement for v in verdicts if v.measurement is not None]
    if not out:
        raise NotApplicable("not judged: " + "; ".join(v.unjudged for v in verdicts))
    for j, v in enumerate(verdicts):
        if v.off_grid:
            out.append(Measurement(
                "values on the declared unit's tick grid", MOTOR_NAMES[j], 0.0, "%",
                GRID_FRACTION * 100, None,
                f"not judged: {v.unjudged}, while {len(out)} other joints of {feature} lie on "
                "the servo's grid (a column partly from a servo and partly not: converted, "
                "filled in or recorded with another calibration?)", advisory=True))
    out.sort(key=lambda m: MOTOR_NAMES.index(m.joint))
    return out


def run_data_checks(ds: Dataset, base: Inputs) -> dict[str, list[CheckResult]]:
    """The configuration checks of :data:`DATA_CHECKS` on each feature's own stats."""
    return {feature: run_checks(replace(base, stats=data_stats(ds, feature)),
                                [BY_NAME[name] for name in DATA_CHECKS])
            for feature in FEATURES}


def degrees_per_unit(sim_to_frame: JointMap) -> np.ndarray:
    """Degrees of each joint per unit of the dataset's frame (through the sim frame)."""
    return RAD_TO_DEG / sim_to_frame.scale


def _moving_mean(values: np.ndarray, k: int) -> np.ndarray:
    """Mean over frames t-k..t+k at each frame t (edges: whatever frames exist)."""
    n = len(values)
    total = np.concatenate([np.zeros((1, values.shape[1])), np.cumsum(values, axis=0)])
    t = np.arange(n)
    low, high = np.maximum(0, t - k), np.minimum(n, t + k + 1)
    return (total[high] - total[low]) / (high - low)[:, None]


def at_rest(ds: Dataset, deg_per_unit: np.ndarray) -> np.ndarray:
    """Frames where neither arm moved an arm joint more than STILL_DEG within
    REST_WINDOW_S before or after (inside one episode). Positions are averaged over the
    same window first, so that sensor noise or a hand's tremor on a still arm is not
    taken for motion (a slow sweep still moves its mean)."""
    k = max(1, round(REST_WINDOW_S * ds.fps))
    n = ds.frames
    still = np.zeros(n, dtype=bool)
    if n <= 4 * k:
        return still
    arm = np.arange(N_JOINTS) != GRIPPER
    centre = slice(k, n - k)
    # every frame of the averaging windows, t-2k..t+2k, in one episode
    same = np.zeros(n, dtype=bool)
    same[2 * k: n - 2 * k] = ds.episode[: n - 4 * k] == ds.episode[4 * k:]
    ok = same[centre].copy()
    for values in (ds.state, ds.action):
        smooth = _moving_mean(values[:, arm] * deg_per_unit[arm], k)
        for shift in (slice(0, n - 2 * k), slice(2 * k, n)):
            ok &= (np.abs(smooth[shift] - smooth[centre]) <= STILL_DEG).all(axis=1)
    still[centre] = ok
    return still


@dataclass(frozen=True)
class RestOffset:
    """``action - observation.state`` at rest, per joint (deg of the joint): over the
    whole dataset and per episode (episodes with at least MIN_EPISODE_REST_FRAMES at rest)."""

    frames: int
    episodes: int
    median_deg: np.ndarray                  # (6,) over every frame at rest
    per_episode_deg: np.ndarray             # (episodes judged, 6) each episode's median
    episode_labels: np.ndarray              # (episodes judged,) their episode_index
    histogram: dict[str, dict[str, list[float]]]

    def worst(self, j: int) -> tuple[float, int | None]:
        """The offset the check judges on joint ``j``: the episode median farthest from
        zero (one recalibrated or slipped episode is not outvoted by the others), and its
        episode; the whole dataset's median when no episode rests long enough alone."""
        if not len(self.per_episode_deg):
            return float(self.median_deg[j]), None
        i = int(np.argmax(np.abs(self.per_episode_deg[:, j])))
        return float(self.per_episode_deg[i, j]), int(self.episode_labels[i])

    def detail(self, j: int) -> str:
        text = (f"median of action - observation.state {self.median_deg[j]:+.2f} deg over "
                f"{self.frames} frames at rest in {self.episodes} episodes")
        if len(self.per_episode_deg):
            value, episode = self.worst(j)
            low, high = self.per_episode_deg[:, j].min(), self.per_episode_deg[:, j].max()
            text += (f"; per episode {low:+.2f} .. {high:+.2f} deg "
                     f"({len(self.per_episode_deg)} episodes judged, farthest: episode "
                     f"{episode}, {value:+.2f} deg)")
        return text


#: An episode's own offset is judged when it has this many frames at rest.
MIN_EPISODE_REST_FRAMES = 10


def rest_offset(ds: Dataset, sim_to_frame: JointMap) -> RestOffset | None:
    """The offset at rest, or None when the dataset never rests long enough."""
    per_unit = degrees_per_unit(sim_to_frame)
    still = at_rest(ds, per_unit)
    if still.sum() < MIN_REST_FRAMES:
        return None
    diff = (ds.action[still] - ds.state[still]) * per_unit * sim_to_frame.direction
    episodes = ds.episode[still]
    order = np.argsort(episodes, kind="stable")
    labels, starts, counts = np.unique(episodes[order], return_index=True, return_counts=True)
    chunks = np.split(diff[order], starts[1:])
    judged = counts >= MIN_EPISODE_REST_FRAMES
    per_episode = np.array([np.median(chunk, axis=0) for chunk, ok
                            in zip(chunks, judged, strict=True) if ok]).reshape(-1, N_JOINTS)
    histogram = {}
    for j, joint in enumerate(MOTOR_NAMES):
        column = diff[:, j]
        span = max(1.0, float(np.abs(column).max()))
        counts_j, edges = np.histogram(column, bins=HISTOGRAM_BINS, range=(-span, span))
        histogram[joint] = {"edges": [round(float(e), 4) for e in edges],
                            "counts": [int(c) for c in counts_j]}
    return RestOffset(int(still.sum()), len(labels), np.median(diff, axis=0), per_episode,
                      labels[judged], histogram)


def check_rest_offset(offset: RestOffset, tracking_deg: float) -> list[Measurement]:
    """Per joint, the episode offset farthest from zero against ``tracking_deg``."""
    out = []
    for j, joint in enumerate(MOTOR_NAMES):
        value, episode = offset.worst(j)
        gripper = j == GRIPPER
        changed = (len(offset.per_episode_deg) > 1
                   and np.ptp(offset.per_episode_deg[:, j]) > tracking_deg)
        where = (f"from episode {episode} on (the episodes disagree: "
                 f"{offset.per_episode_deg[:, j].min():+.1f} .. "
                 f"{offset.per_episode_deg[:, j].max():+.1f} deg; a recalibration or a horn "
                 "that slipped during the recording) " if changed else "")
        out.append(Measurement(
            "action - state at rest", joint, value, "deg", -tracking_deg, tracking_deg,
            offset.detail(j) + (" (advisory on the gripper: a grasped object holds the "
                                "follower's jaw open)" if gripper else ""),
            cause=f"{'frames ' + where if where else 'every frame '}pair an action "
            f"{value:+.1f} deg away from where the follower stood on {joint}: the leader's "
            "and the follower's calibrations disagree on its zero (a horn re-seated or an arm "
            "recalibrated, lerobot #3758), or the follower could not reach the action (its "
            "position limits, a collision, a weak servo); a policy trained on it overshoots "
            "by as much",
            fix=f"check the pair (pytest suites/test_teleop.py with --so101-leader-calibration) "
            f"and recalibrate the arm that is wrong; re-record, or correct {joint}'s action by "
            f"{-value:+.1f} deg{' in the episodes concerned' if changed else ''} before "
            "training",
            evidence=Evidence.FILES, advisory=gripper))
    return out


def dataset_frame_map(base: Inputs) -> JointMap:
    """sim -> the dataset's frame: the mapping's reference chain (the dataset is in the
    policy frame), else its declared [sim_to_policy]."""
    try:
        return base.chain("reference")
    except So101ConfigError:
        if base.mapping is not None and base.mapping.sim_to_policy is not None:
            return base.mapping.sim_to_policy
        raise


def _stats_file(feature: str):
    def measure(i: Inputs) -> list[Measurement]:
        ds = i["dataset"]
        try:
            stored = _stored_stats(ds, feature)
        except So101ConfigError as exc:
            return [unreadable_stats(ds, feature, exc)]
        return check_stats_file(ds, stored)
    return measure


def _on_the_frames(name: str, feature: str):
    """A configuration check of :data:`DATA_CHECKS` on the frames' own statistics."""
    def measure(i: Inputs) -> list[Measurement]:
        result = run_check(BY_NAME[name], replace(i, stats=data_stats(i["dataset"], feature)))
        if result.skipped and not result.measurements:
            raise NotApplicable(result.skipped)
        return result.measurements
    return measure


def _rest_offset(i: Inputs) -> list[Measurement]:
    offset = i.readings["rest_offset"] if "rest_offset" in i.readings else \
        rest_offset(i["dataset"], dataset_frame_map(i))
    if offset is None:
        raise NotApplicable(f"fewer than {MIN_REST_FRAMES} frames at rest (both arms still): "
                            "no offset to measure")
    return check_rest_offset(offset, i.tolerances.tracking_deg)


def _checks() -> tuple[Check, ...]:
    found = [Check("frame-count", "frames in data/ vs info.json", "datasets", ("dataset",),
                   lambda i: check_frame_count(i["dataset"]),
                   catches="data files missing, extra or truncated (an interrupted copy)",
                   tolerance="equal", per_joint=False, suite="dataset",
                   empty_reason="info.json gives no total_frames")]
    for feature in FEATURES:
        found.append(Check(
            f"stats-file-{feature}", f"meta/stats.json vs the frames ({feature})", "datasets",
            ("dataset",), _stats_file(feature),
            catches="a stats file that is not the statistics of the frames (episodes edited "
            "or merged since, a file copied from another dataset), or none",
            tolerance=f"{STATS_TOLERANCE:.0%} of each joint's spread", suite="dataset"))
    for feature in FEATURES:
        for name in DATA_CHECKS:
            base = BY_NAME[name]
            found.append(Check(
                f"{name}-{feature}", f"{base.title} ({feature}, from the frames)", "datasets",
                ("dataset", *(n for n in base.needs if n != "stats")),
                _on_the_frames(name, feature), catches=f"{base.catches}, in the frames",
                tolerance=base.tolerance, suite="dataset"))
    for feature in FEATURES:
        found.append(Check(
            f"tick-grid-{feature}", f"values on the servo's tick grid ({feature})", "datasets",
            ("dataset", "policy_frame"),
            lambda i, f=feature: check_tick_grid(i["dataset"], f, i.mapping, i.calibration),
            catches="one joint in another unit (radians, -100..100 as degrees, a gripper in "
            "0..1, another calibration), where the data came from a servo",
            tolerance=f"{GRID_FRACTION:.0%} of the distinct values on the declared unit's grid",
            suite="dataset"))
    found.append(Check(
        REST_NAME, REST_TITLE, "datasets", ("dataset", "mapping"), _rest_offset,
        catches="a leader/follower offset baked into every frame (lerobot #3758), judged per "
        "episode", tolerance="--so101-tracking-deg (advisory on the gripper)", suite="dataset"))
    return tuple(found)


REST_NAME = "rest-offset"
CHECKS: tuple[Check, ...] = _checks()


def run_dataset_checks(datasets: Dataset | Mapping[str | None, Dataset], inputs: Inputs, *,
                       flavor: str = "pytest") -> tuple[list[CheckResult], RestOffset | None]:
    """Every dataset check, in order (``so101-diagnose --dataset``; the suite runs them one
    by one), on one dataset or on each arm of a two-arm one (merged check by check), and
    the offset at rest (of the one arm; None for two arms or when there is none)."""
    by_arm = {datasets.arm: datasets} if isinstance(datasets, Dataset) else dict(datasets)
    per_arm, offsets = {}, {}
    for arm, ds in by_arm.items():
        per_arm[arm] = inputs.with_readings(dataset=ds)
        offsets[arm] = None
        if inputs.mapping is not None:
            try:
                offsets[arm] = rest_offset(ds, dataset_frame_map(inputs))
                per_arm[arm] = per_arm[arm].with_readings(rest_offset=offsets[arm])
            except So101ConfigError:
                pass                             # the check says why
    if len(by_arm) == 1:
        per_arm = {None: next(iter(per_arm.values()))}
    return run_per_arm(per_arm, CHECKS, flavor=flavor), \
        (next(iter(offsets.values())) if len(offsets) == 1 else None)


def result_names() -> tuple[str, ...]:
    """The names of :func:`run_dataset_checks`' results, in order: the suite's parameters."""
    return tuple(c.name for c in CHECKS)
