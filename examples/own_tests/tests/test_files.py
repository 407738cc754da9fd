"""My files: the stats fit the pose my data was recorded around; a bad file says why."""

import json

import pytest

from pytest_so101.api import (
    So101ConfigError,
    check_normalized_near_zero,
    load_calibration,
    reference_sim_to_policy,
)


def test_my_stats_center_on_the_rest_pose(so101_stats, so101_mapping, so101_calibration,
                                          so101_rest_pose, so101_check):
    chain = reference_sim_to_policy(so101_mapping.for_calibration(so101_calibration),
                                    so101_calibration)                  # sim rad -> policy
    found = check_normalized_near_zero(so101_stats, chain, so101_rest_pose.q_sim_rad,
                                       tolerance=1.0, frame=so101_mapping.policy_frame,
                                       chain_name="reference", pose_name="rest pose",
                                       strict=True)
    so101_check(found)


def test_a_calibration_with_a_missing_joint_is_one_clear_error(tmp_path, so101_calibration):
    data = json.loads(open(so101_calibration.source).read())
    del data["wrist_roll"]
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(data))
    with pytest.raises(So101ConfigError, match="wrist_roll"):
        load_calibration(broken)
