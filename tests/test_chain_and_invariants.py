"""The reference chain and the checks: they pass right configurations and fail wrong ones."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given

from pytest_so101 import strategies as so101_st
from pytest_so101.checks.configuration import check_map_matches_reference
from pytest_so101.checks.normalization import (
    check_normalized_near_zero,
    check_stats_mean_within_limits,
    check_stds_positive,
)
from pytest_so101.core.calibration import load_calibration
from pytest_so101.core.chain import reference_sim_to_policy, robot_to_policy_map, user_chains
from pytest_so101.core.errors import So101ConfigError
from pytest_so101.core.frames import (
    PolicyFrame,
    RobotUnit,
    expand_units,
    ticks_roundtrip_error,
    ticks_to_policy_frame,
    units_to_ticks,
)
from pytest_so101.core.joints import SO101_NEW_CALIB_LIMITS
from pytest_so101.core.mapping import JointMap, load_mapping
from pytest_so101.core.measurement import Measurement, Outcome
from pytest_so101.core.stats import load_stats
from tests.helpers import EXAMPLE_CALIBRATION, INCIDENTS, MAPPINGS, STATS

CAL = load_calibration(EXAMPLE_CALIBRATION)


@pytest.mark.parametrize("frame", list(PolicyFrame))
@pytest.mark.parametrize("units", ["degrees", "range_m100_100", "ticks"])
@given(cal=so101_st.calibrations(min_span=50), data=so101_st.joint_vectors(frame="ticks",
       calibration=CAL))
def test_robot_to_policy_map_equals_the_frame_functions(frame, units, cal, data):
    """The affine shortcut equals converting through ticks, for any calibration."""
    robot_units = expand_units(units)
    x = data.astype(float) / 10 - 100
    direct = ticks_to_policy_frame(units_to_ticks(x, cal, robot_units, rounding=None,
                                                  clamp=False), cal, frame, clamp=False)
    np.testing.assert_allclose(robot_to_policy_map(robot_units, frame, cal).apply(x), direct,
                               rtol=1e-9, atol=1e-6)


def test_legacy_chain_without_calibration_is_the_documented_conversion():
    m = robot_to_policy_map(expand_units("degrees"), PolicyFrame.LEROBOT_LEGACY_DEGREES, None)
    np.testing.assert_allclose(m.apply(np.array([0, 10, 10, 0, 0, 50.0])),
                               [0, 80, 100, 0, 0, 50])
    with pytest.raises(So101ConfigError, match="needs the arm's calibration"):
        robot_to_policy_map(expand_units("degrees"), PolicyFrame.TICKS, None)


def test_range_chain_depends_on_the_calibration():
    mapping = load_mapping(MAPPINGS / "so101_range.toml")
    other = CAL.replace("shoulder_lift", range_min=500)
    a = reference_sim_to_policy(mapping, CAL)
    b = reference_sim_to_policy(mapping, other)
    assert a.scale[1] == pytest.approx(b.scale[1])  # range -> range is calibration-free...
    ticks_chain = replace(mapping, policy_frame=PolicyFrame.TICKS)
    assert reference_sim_to_policy(ticks_chain, CAL).offset[1] != \
        reference_sim_to_policy(ticks_chain, other).offset[1]  # ...range -> ticks is not


def test_corrected_smolvla_map_matches_and_offset_only_fails_on_direction():
    good = load_mapping(MAPPINGS / "so101_legacy_policy.toml")
    ref = reference_sim_to_policy(good, CAL)
    assert all(m.passed for m in check_map_matches_reference(
        good.sim_to_policy, ref, SO101_NEW_CALIB_LIMITS, tolerance_deg=0.01,
        frame=good.policy_frame))
    bad = load_mapping(INCIDENTS / "smolvla_offset_only_fix.toml")
    results = {m.joint: m for m in check_map_matches_reference(
        bad.sim_to_policy, ref, SO101_NEW_CALIB_LIMITS, tolerance_deg=1.0,
        frame=bad.policy_frame)}
    lift = results["shoulder_lift"]
    assert lift.outcome is Outcome.FAIL
    assert "direction reversed" in lift.detail and "shoulder_lift = -(x - 90)" in lift.detail
    assert "offset off by 20 deg" in results["elbow_flex"].detail
    assert "scale off by a factor 1.1" in results["gripper"].detail
    assert results["shoulder_pan"].passed


def test_a_one_pose_check_cannot_see_the_reversed_direction():
    """Why the suites check the whole range: at the rest pose the offset-only map agrees."""
    bad = load_mapping(INCIDENTS / "smolvla_offset_only_fix.toml")
    stats = load_stats(STATS / "legacy_model")
    z = check_normalized_near_zero(stats, bad.sim_to_policy, np.zeros(6), tolerance=0.1,
                                   frame=bad.policy_frame, chain_name="declared")
    assert all(m.passed for m in z)


def test_normalization_checks_on_smolvla_stats_declared_as_degrees():
    mapping = load_mapping(INCIDENTS / "smolvla_stats_declared_degrees.toml")
    stats = load_stats(STATS / "legacy_model")
    chain = user_chains(mapping, CAL)["reference"]
    limits = {m.joint: m for m in check_stats_mean_within_limits(
        stats, chain, SO101_NEW_CALIB_LIMITS, frame=mapping.policy_frame, chain_name="ref")}
    assert {j for j, m in limits.items() if not m.passed} == {"shoulder_lift", "elbow_flex"}
    lift = limits["shoulder_lift"].summary()
    for part in ("shoulder_lift", "119.94", "lerobot-degrees", "[-100, 100] deg"):
        assert part in lift
    # Declared in the right frame, the same stats pass.
    mapping = load_mapping(MAPPINGS / "so101_legacy_policy.toml")
    chain = user_chains(mapping, CAL)["reference"]
    assert all(m.passed for m in check_stats_mean_within_limits(
        stats, chain, SO101_NEW_CALIB_LIMITS, frame=mapping.policy_frame, chain_name="ref"))


def test_stds_check_fails_on_zero_and_nan():
    stats = load_stats(STATS / "plain_mean_std.json")
    std = stats.std.copy()
    std[2], std[5] = 0.0, np.nan
    bad = replace(stats, std=std)
    failed = [m.joint for m in check_stds_positive(bad) if not m.passed]
    assert failed == ["elbow_flex", "gripper"]


def test_roundtrip_error_helper_sees_a_broken_conversion(monkeypatch):
    units = (RobotUnit.DEGREES,) * 6
    assert ticks_roundtrip_error(CAL, units, rounding="nearest").max() == 0
    import pytest_so101.core.frames as inv
    monkeypatch.setattr(inv, "ticks_to_units", lambda t, c, u: t * 1.001)
    assert ticks_roundtrip_error(CAL, units, rounding="nearest").max() > 0


def test_measurement_outcomes_and_margin():
    m = Measurement("c", "elbow_flex", 0.5, "std", -2, 2)
    assert m.outcome is Outcome.PASS and m.margin == 1.5
    assert Measurement("c", "gripper", 1.7, "std", -2, 2).outcome is Outcome.MARGINAL
    assert Measurement("c", "gripper", -2.1, "std", -2, 2).outcome is Outcome.FAIL
    assert Measurement("c", "gripper", float("nan"), "std", -2, 2).outcome is Outcome.FAIL
    assert Measurement("c", "gripper", 5.0, "deg", low=0.0).outcome is Outcome.PASS
    assert "|value| <= 2 std" in Measurement("c", "gripper", 3.0, "std", -2, 2).summary()


def test_user_chains_include_the_declared_map_only_when_declared():
    assert set(user_chains(load_mapping(MAPPINGS / "so101_degrees.toml"), CAL)) == {"reference"}
    assert set(user_chains(load_mapping(MAPPINGS / "so101_legacy_policy.toml"), CAL)) == \
        {"reference", "declared"}
    assert isinstance(user_chains(load_mapping(MAPPINGS / "so101_degrees.toml"), None)
                      ["reference"], JointMap)


def test_a_joint_that_never_moved_fails_the_std_floor():
    """A published recording's gripper: std 4.6e-6 over five episodes. Below a tenth of a
    servo tick in any unit: the joint never moved, and normalizing divides by ~0."""
    stats = load_stats(STATS / "plain_mean_std.json")
    std = stats.std.copy()
    std[5] = 4.6e-6
    measured = check_stds_positive(replace(stats, std=std), PolicyFrame.LEROBOT_DEGREES, CAL)
    (failed,) = [m for m in measured if not m.passed]
    assert failed.joint == "gripper" and "never moved" in failed.cause
    assert "record data where gripper moves" in failed.fix
    # without a frame, the floor is a tenth of a tick in radians: still caught
    assert not check_stds_positive(replace(stats, std=std))[5].passed
    # a slow joint that moved a few ticks is not "never moved"
    std[5] = 0.5
    assert all(m.passed for m in check_stds_positive(replace(stats, std=std),
                                                     PolicyFrame.LEROBOT_DEGREES, CAL))


def _swept(joint: str, ticks: int):
    """The example arm with ``joint`` swept ``ticks`` wide around its middle."""
    m = CAL.motors[joint]
    mid = (m.range_min + m.range_max) // 2
    return CAL.replace(joint, range_min=mid - ticks // 2, range_max=mid + ticks // 2)


def test_a_short_sweep_is_named_as_one_not_as_a_wrong_scale():
    """shoulder_pan swept 162 deg (a published file) where the model's range is 220: the
    scale check passes, so the fix says to sweep the whole travel, not to fix the scale."""
    from pytest_so101.checks.configuration import (
        check_sim_to_robot_covers_calibration,
        check_sim_to_robot_scale,
    )

    cal = _swept("shoulder_pan", round(162 / 360 * 4096))
    mapping = load_mapping(MAPPINGS / "so101_degrees.toml").for_calibration(cal)
    assert all(m.passed for m in check_sim_to_robot_scale(mapping, cal))
    (pan,) = [m for m in check_sim_to_robot_covers_calibration(mapping, cal,
                                                              SO101_NEW_CALIB_LIMITS)
              if m.joint == "shoulder_pan"]
    assert not pan.passed
    assert "stopped short" in pan.cause and "scale" not in pan.fix
    assert pan.fix.startswith("recalibrate sweeping shoulder_pan through its whole travel")


@pytest.mark.parametrize(("sweep_deg", "outcome"), [(130, Outcome.PASS), (108, Outcome.PASS),
                                                    (60, Outcome.MARGINAL),
                                                    (200, Outcome.MARGINAL)])
def test_a_derived_gripper_sweep_is_judged_against_the_model_range(sweep_deg, outcome):
    """Real follower grippers sweep 125-136 deg, leaders 103-110 (the model: 110): passed;
    a sweep far shorter or longer is MARGINAL with the ratio, never a failure."""
    from pytest_so101.checks.configuration import check_sim_to_robot_scale

    cal = _swept("gripper", round(sweep_deg / 360 * 4096))
    mapping = load_mapping(MAPPINGS / "so101_degrees.toml").for_calibration(cal)
    (gripper,) = [m for m in check_sim_to_robot_scale(mapping, cal) if m.joint == "gripper"]
    assert gripper.check == "calibrated sweep / model range"
    assert gripper.value == pytest.approx(sweep_deg / 110, rel=0.01)
    assert gripper.outcome is outcome


def test_the_scale_check_still_catches_a_gripper_declared_in_degrees():
    from pytest_so101.checks.configuration import check_sim_to_robot_scale
    from tests.helpers import FIXTURES

    mapping = load_mapping(FIXTURES / "scenarios/gripper_as_degrees/mapping.toml")
    (gripper,) = [m for m in check_sim_to_robot_scale(mapping, CAL) if m.joint == "gripper"]
    assert not gripper.passed and "0..100 range treated as degrees" in gripper.cause
