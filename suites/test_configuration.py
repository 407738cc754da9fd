"""The configuration itself, with no motion: the calibration file, the mapping against
the calibration and the model, and the stats against the frame they are declared in.

Each failure names the joint, the likely cause and the fix (docs/faults.md); the same
checks run from the command line as ``so101-diagnose``.
"""

from __future__ import annotations

import pytest

from pytest_so101 import diagnosis
from pytest_so101.joints import MOTOR_NAMES


def check_joint(so101_check, measurements, joint, reason):
    """Check one joint's measurements; skip when the check does not apply to it."""
    if not any(m.joint == joint for m in measurements):
        pytest.skip(reason)
    so101_check(measurements, joint=joint)


@pytest.fixture(scope="module")
def sim_to_robot(so101_mapping):
    if so101_mapping.sim_to_robot is None:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_robot] map")
    return so101_mapping.sim_to_robot


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_calibrated_range_fits_the_joint(so101_calibration, so101_joint_limits, so101_check,
                                         joint):
    check_joint(so101_check, diagnosis.check_calibrated_ranges(
        so101_calibration, so101_joint_limits), joint,
        "LeRobot fixes wrist_roll's range to 0..4095")


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_drive_mode_takes_effect(so101_calibration, so101_mapping, sim_to_robot, so101_check,
                                 joint):
    check_joint(so101_check, diagnosis.check_drive_modes(
        so101_calibration, so101_mapping.robot_units), joint, "no robot units declared")


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_model_is_the_one_the_mapping_was_written_for(so101_mapping, so101_joint_limits,
                                                      so101_check, joint):
    check_joint(so101_check, diagnosis.check_model_matches_mapping(
        so101_mapping, so101_joint_limits), joint, "no model")


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_sim_to_robot_scale_is_one_turn_per_turn(so101_mapping, sim_to_robot, so101_calibration,
                                                 so101_check, joint):
    check_joint(so101_check, diagnosis.check_sim_to_robot_scale(
        so101_mapping, so101_calibration), joint,
        "the expected scale of this joint's units needs the calibration")


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_model_range_lands_on_the_calibrated_range(so101_mapping, sim_to_robot,
                                                   so101_calibration, so101_joint_limits,
                                                   so101_check, joint):
    check_joint(so101_check, diagnosis.check_sim_to_robot_covers_calibration(
        so101_mapping, so101_calibration, so101_joint_limits), joint, "no robot units declared")


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_robot_reports_in_the_policy_frame(so101_mapping, sim_to_robot, so101_calibration,
                                           so101_joint_limits, so101_tolerances, so101_check,
                                           joint):
    check_joint(so101_check, diagnosis.check_robot_units_match_policy_frame(
        so101_mapping, so101_calibration, so101_joint_limits,
        tolerance_deg=so101_tolerances.deg), joint,
        f"{so101_mapping.source}: no [policy] frame, or the legacy frame converted through "
        "[sim_to_policy]")


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_stats_fit_the_declared_frame(so101_stats, so101_mapping, sim_to_robot, so101_calibration,
                                      so101_joint_limits, so101_tolerances, so101_check, joint):
    check_joint(so101_check, diagnosis.check_stats_frame(
        so101_stats, so101_mapping, so101_calibration, so101_joint_limits,
        tolerance_deg=so101_tolerances.deg), joint,
        f"{so101_mapping.source} declares no [policy] frame")
