"""The normalized-near-zero invariant: the user's chain and the policy's stats agree.

The reference pose (the sim zero, or ``[sim] reference_pose``) mapped through the user's
chain must normalize near zero; the stats mean mapped back into the sim frame must lie
inside the joint limits; stds must be finite and positive; and the key LeRobot's
normalizer looks up must exist (otherwise it silently passes inputs through).
"""

from __future__ import annotations

import pytest

from pytest_so101.chain import user_chains
from pytest_so101.diagnosis import check_stats_key
from pytest_so101.invariants import (
    check_normalized_near_zero,
    check_stats_extremes_within_limits,
    check_stats_mean_within_limits,
    check_stds_positive,
)
from pytest_so101.joints import MOTOR_NAMES

CHAINS = ["reference", "declared"]


@pytest.fixture(scope="module")
def policy_frame(so101_mapping):
    if so101_mapping.policy_frame is None:
        pytest.skip(f"{so101_mapping.source} declares no [policy] frame: the frame the stats "
                    "were recorded in is needed to check them")
    return so101_mapping.policy_frame


@pytest.fixture(scope="module")
def chains(so101_mapping, so101_context, policy_frame):
    return user_chains(so101_mapping, so101_context.calibration)


@pytest.fixture(params=CHAINS)
def chain(request, chains, so101_mapping):
    if request.param not in chains:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_policy] map")
    return request.param, chains[request.param]


def test_stats_key_exists(so101_stats):
    """The key LeRobot's normalizer looks up is there (lerobot issues #4415, #1763)."""
    key = check_stats_key(so101_stats)[0]          # the same for every joint
    if not key.passed:
        pytest.fail(f"{key.detail}. Likely cause: {key.cause}. Fix: {key.fix}", pytrace=False)


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_stds_finite_and_positive(so101_stats, policy_frame, so101_check, joint):
    so101_check(check_stds_positive(so101_stats, policy_frame), joint=joint)


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_reference_pose_normalizes_near_zero(so101_stats, so101_mapping, policy_frame, chain,
                                             so101_tolerances, so101_check, joint):
    name, joint_map = chain
    so101_check(check_normalized_near_zero(
        so101_stats, joint_map, so101_mapping.reference_pose_rad, tolerance=so101_tolerances.z,
        frame=policy_frame, chain_name=name, pose_name=so101_mapping.reference_pose_name),
        joint=joint)


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_stats_mean_within_joint_limits(so101_stats, policy_frame, chain, so101_joint_limits,
                                        so101_check, joint):
    name, joint_map = chain
    so101_check(check_stats_mean_within_limits(
        so101_stats, joint_map, so101_joint_limits, frame=policy_frame, chain_name=name),
        joint=joint)


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_stats_extremes_within_joint_limits(so101_stats, policy_frame, chain, so101_joint_limits,
                                            so101_check, joint):
    name, joint_map = chain
    measurements = check_stats_extremes_within_limits(
        so101_stats, joint_map, so101_joint_limits, frame=policy_frame, chain_name=name)
    if not measurements:
        pytest.skip(f"{so101_stats.label} has no min/max")
    so101_check(measurements, joint=joint)
