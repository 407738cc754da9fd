"""My converter against pytest-so101's reference map of the same arm."""

import numpy as np
from hypothesis import given
from my_converter import sim_to_lerobot

from pytest_so101 import strategies as so101_st
from pytest_so101.api import JointMap, Measurement, check_map_matches_reference, lerobot_mapping


# step 1: a property over the whole joint range, against the reference map
@given(q_sim_rad=so101_st.joint_vectors())
def test_my_converter_equals_the_reference_map(q_sim_rad, so101_mapping, so101_calibration):
    reference = so101_mapping.for_calibration(so101_calibration).sim_to_robot
    # atol: the reference's gripper 0..100 spans the sweep this arm's calibration recorded
    # (a little off the model's 110 deg); my converter assumes the model's
    np.testing.assert_allclose(sim_to_lerobot(q_sim_rad), reference.apply(q_sim_rad),
                               atol=0.1)


# step 2: the same question as per-joint measurements, in the plugin's report
def test_my_converter_as_measurements(so101_calibration, so101_joint_limits, so101_check):
    # my converter is affine per joint: two poses give its JointMap
    zero, one = np.zeros(6), np.ones(6)
    offset = sim_to_lerobot(zero)
    mine = JointMap(offset, np.abs(sim_to_lerobot(one) - offset),
                    np.sign(sim_to_lerobot(one) - offset), name="my converter")
    reference = lerobot_mapping(use_degrees=True).for_calibration(so101_calibration)
    found = check_map_matches_reference(mine, reference.sim_to_robot, so101_joint_limits,
                                        tolerance_deg=0.5, frame=None,
                                        check="my converter vs sim_to_robot")
    so101_check(found)
    assert all(isinstance(m, Measurement) and m.passed for m in found)
