"""Forward kinematics on the plugin's MuJoCo model."""

import numpy as np


def test_the_gripper_frame_is_above_the_table_at_rest(so101_sim, so101_rest_pose):
    tip_m = so101_sim.site_position(so101_rest_pose.q_sim_rad)     # (3,): x, y, z in metres
    assert tip_m.shape == (3,) and tip_m[2] > 0


def test_a_batch_of_poses_gives_one_position_each(so101_sim):
    poses = np.zeros((4, 6))
    poses[:, 0] = np.deg2rad([0, 30, 60, 90])                          # turn the base
    tips_m = so101_sim.site_position(poses)                            # (k, 3)
    assert tips_m.shape == (4, 3)
    np.testing.assert_allclose(tips_m[:, 2], tips_m[0, 2], atol=1e-9)  # the base turns: the
    assert np.ptp(tips_m[:, 1]) > 0.05                                 # height stays
