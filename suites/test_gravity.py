"""Gravity as an observer: with torque on and the arm held still at a known pose, each
loaded joint's ``Present_Load`` must push the way the model's gravity torque says, through
the declared direction (``pytest_so101.checks.gravity``). A mirrored motor or a reversed
direction fails, whatever the files say: no human, no extra hardware.

The pose is known independently of the servos: on a real arm, the rest pose on its stops
at the start of the run (evidence ``physical``); on the twin, the poses it is placed in by
hand (evidence ``twin``). Torque on holds the arm where it is (the goal is the present
position), so it needs ``--allow-motion`` on a real arm but moves nothing.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from pytest_so101.bus.servo import LOAD_FULL_SCALE
from pytest_so101.checks.causes import arm_not_at_rest
from pytest_so101.checks.gravity import GravitySample, HeldUnderGravity
from pytest_so101.plugin.fixtures import place_twin_at_rest
from pytest_so101.plugin.suite_tools import judge

pytestmark = [pytest.mark.so101_at_rest, pytest.mark.so101_motion]

#: Time for a held joint to settle under its load before Present_Load is read (s).
SETTLE_S = 0.3
#: Poses the twin is placed in besides its rest pose (sim deg, motor order): loaded
#: shoulder, elbow and wrist at several angles.
TWIN_POSES_DEG = {
    "reaching forward": [0, 30, -30, 0, 0, 0],
    "arm raised": [0, -30, 60, 40, 0, 10],
    "turned, wrist flexed": [30, 10, 45, -45, 20, 20],
}


def hold_and_read(arm, bus) -> np.ndarray:
    """Torque on where the arm is, let it settle, and read Present_Load (fraction)."""
    with arm.motion():
        time.sleep(SETTLE_S)
        return bus.sync_read("Present_Load") / LOAD_FULL_SCALE


@pytest.fixture
def model(so101_sim):
    if np.isnan(so101_sim.max_torque()).any():
        pytest.skip(f"{so101_sim.source}: the actuators have no force limit, so Present_Load's "
                    "100 % is unknown")
    return so101_sim


def test_gravity_load_agrees_with_the_model(so101_arm, so101_bus, so101_twin, model,
                                            so101_mapping, so101_rest_pose, so101_context,
                                            so101_inputs, so101_check):
    if so101_mapping.sim_to_robot is None:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_robot] map")
    if so101_twin is not None and so101_mapping.model != "so101-new-calib" and \
            not so101_context.settings["mjcf"].value:
        pytest.skip("the twin is the embedded so101-new-calib model, the mapping another: "
                    "pass --so101-mjcf so that the twin's poses are in the mapping's frame")
    q_rest = np.asarray(so101_rest_pose.q_sim_rad, dtype=float)
    samples = []
    if so101_twin is None:
        not_at_rest = arm_not_at_rest(so101_arm.read_sim(), q_rest)
        if not_at_rest is not None:
            pytest.skip(f"{not_at_rest[0]}: the gravity check needs a known pose")
        loads = hold_and_read(so101_arm, so101_bus)
        samples.append(GravitySample(f"rest ({so101_rest_pose.source})", q_rest,
                                     model.gravity_torque(q_rest), loads))
    else:
        before = so101_twin.q_sim_rad()
        poses = {"rest": None, **{k: np.deg2rad(v) for k, v in TWIN_POSES_DEG.items()}}
        try:
            for name, q in poses.items():
                if q is None:
                    place_twin_at_rest(so101_twin)
                else:
                    so101_twin.place(q.tolist())
                loads = hold_and_read(so101_arm, so101_bus)
                known = so101_twin.q_sim_rad()
                samples.append(GravitySample(name, known, model.gravity_torque(known), loads))
        finally:
            so101_twin.place(before.tolist())
    held = HeldUnderGravity(samples, model.max_torque(), q_rest)
    judge("gravity", so101_inputs.with_readings(gravity=held), so101_check)
