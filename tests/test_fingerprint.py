"""Frame fingerprinting: which frame explains a set of stats, and the conversion to apply."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from pytest_so101.checks.fingerprint import LEROBOT_RADIANS, SIM_RADIANS, conversion, rank_frames
from pytest_so101.core.calibration import load_calibration
from pytest_so101.core.joints import SO101_NEW_CALIB_LIMITS
from pytest_so101.core.stats import load_stats
from tests.helpers import EXAMPLE_CALIBRATION, REAL, STATS

CAL = load_calibration(EXAMPLE_CALIBRATION)


def by_frame(ranking):
    return {c.frame: c for c in ranking}


def test_smolvla_stats_fingerprint_as_legacy_degrees_with_the_documented_conversion():
    stats = load_stats(STATS / "legacy_model")
    ranking = rank_frames(stats, SO101_NEW_CALIB_LIMITS, calibration=CAL)
    assert ranking[0].frame == "lerobot-legacy-degrees" and ranking[0].plausible
    frames = by_frame(ranking)
    assert not frames["lerobot-degrees"].plausible
    assert set(np.flatnonzero(frames["lerobot-degrees"].outside_deg > 1)) == {1, 2}
    formulas = conversion(ranking[0], frames["lerobot-degrees"])
    assert formulas == {"shoulder_lift": "shoulder_lift = -(x - 90)",
                        "elbow_flex": "elbow_flex = x - 90"}


def test_current_degree_stats_fingerprint_as_lerobot_degrees():
    ranking = rank_frames(load_stats(STATS / "dataset"), SO101_NEW_CALIB_LIMITS, calibration=CAL)
    assert ranking[0].frame == "lerobot-degrees"
    assert not by_frame(ranking)["lerobot-legacy-degrees"].plausible


def test_radians_taken_for_degrees_and_ticks_are_implausible_as_degrees():
    stats = load_stats(STATS / "dataset")
    radians = replace(stats, mean=np.deg2rad(stats.mean), std=np.deg2rad(stats.std))
    ranking = rank_frames(radians, SO101_NEW_CALIB_LIMITS, calibration=CAL)
    assert ranking[0].frame == SIM_RADIANS
    assert "57.2958 * x" in conversion(ranking[0], by_frame(ranking)["lerobot-degrees"]
                                       )["shoulder_pan"]
    ticks = replace(stats, mean=np.array([2047.0, 1700, 2250, 2690, 1735, 1600]),
                    std=np.full(6, 300.0))
    ranking = rank_frames(ticks, SO101_NEW_CALIB_LIMITS, calibration=CAL)
    assert ranking[0].frame == "ticks"
    assert not by_frame(ranking)["lerobot-degrees"].plausible


def test_without_a_calibration_only_calibration_free_frames_compete():
    """-100..100 needs the calibration's sweeps; raw ticks compete with each sweep's middle
    taken at 2047 (where LeRobot's homing puts the held pose)."""
    ranking = rank_frames(load_stats(STATS / "legacy_model"), SO101_NEW_CALIB_LIMITS)
    assert {c.frame for c in ranking} == {SIM_RADIANS, LEROBOT_RADIANS, "lerobot-degrees",
                                          "lerobot-legacy-degrees", "ticks"}
    assert ranking[0].frame == "lerobot-legacy-degrees"


def test_raw_ticks_are_named_without_a_calibration():
    """A recording in raw servo ticks (a two-arm one, published) is named as ticks, with
    the conversion, even with no calibration."""
    from pytest_so101.core.stats import load_stats_arms

    for stats in load_stats_arms(REAL / "stats" / "05_WangzyNicole_Bimanual-Cloth_meta_stats"
                                 "_TRIMMED.json").values():
        ranking = rank_frames(stats, SO101_NEW_CALIB_LIMITS)
        assert ranking[0].frame == "ticks" and ranking[0].plausible, ranking[:2]


def test_lerobot_degrees_written_in_radians_fingerprint_as_radians_with_the_factor():
    """A simulator's qpos written as a LeRobot dataset: joints 1-5 in radians, the gripper
    still 0..100. Declared as degrees it must be named, with x 57.2958."""
    stats = load_stats(STATS / "dataset")
    to_rad = np.array([np.pi / 180] * 5 + [1.0])
    radians = replace(stats, mean=stats.mean * to_rad, std=stats.std * to_rad)
    ranking = rank_frames(radians, SO101_NEW_CALIB_LIMITS, calibration=CAL)
    assert ranking[0].frame == LEROBOT_RADIANS and ranking[0].plausible
    formulas = conversion(ranking[0], by_frame(ranking)["lerobot-degrees"])
    assert formulas["elbow_flex"] == "elbow_flex = 57.2958 * x"
    assert "gripper" not in formulas
