"""The rest pose (seed 003): the sim's rest keyframe, mapped through the declared
[sim_to_robot] map, equals what the robot reads when resting there; and sending the mapped
rest pose to an arm resting there moves nothing.

On the twin, the arm is placed at rest first (as a person would); on a real arm it must
rest in its rest pose when the suite starts.
"""

from __future__ import annotations

import numpy as np
import pytest

from pytest_so101.joints import MOTOR_NAMES
from pytest_so101.mapping import RAD_TO_DEG
from pytest_so101.measurement import Measurement

pytestmark = pytest.mark.so101_at_rest


@pytest.fixture(scope="module")
def q_rest(so101_mapping, request):
    """The sim's rest keyframe; for a model that is not shipped, the mapping's declared
    ``[sim] reference_pose`` (seed 003's rest keyframe in the SO-100 example)."""
    if so101_mapping.sim_to_robot is None:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_robot] map")
    try:
        sim = request.getfixturevalue("so101_sim")
    except pytest.skip.Exception:
        if so101_mapping.reference_pose_name == "sim zero":
            raise
        return so101_mapping.reference_pose_rad
    if "rest" not in sim.keyframes:
        pytest.skip(f"{sim.source} has no 'rest' keyframe")
    return sim.keyframe("rest")


@pytest.fixture
def resting_arm(so101_arm, so101_twin, q_rest):
    if so101_twin is None:
        yield so101_arm
        return
    so101_twin.place("rest")
    yield so101_arm
    so101_twin.place("zero")


def rest_measurements(arm, q_rest, reading_ticks, tolerance_deg, check):
    expected = arm.sim_to_ticks(q_rest)
    error_deg = (arm.ticks_to_sim(reading_ticks) - q_rest) * RAD_TO_DEG
    return [Measurement(check, joint, float(error_deg[j]), "deg", -tolerance_deg,
                        tolerance_deg,
                        f"reads {reading_ticks[j]} ticks at rest, the mapped rest keyframe "
                        f"({np.rad2deg(q_rest[j]):.4g} deg sim) expects {expected[j]:.1f} ticks: "
                        f"off by {reading_ticks[j] - expected[j]:+.1f} ticks")
            for j, joint in enumerate(MOTOR_NAMES)]


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_rest_keyframe_maps_to_the_reading_at_rest(resting_arm, q_rest, so101_tolerances,
                                                   so101_check, joint):
    so101_check(rest_measurements(resting_arm, q_rest, resting_arm.read_ticks(),
                                  so101_tolerances.deg, "rest reading vs mapped rest keyframe"),
                joint=joint)


@pytest.mark.so101_motion
def test_sending_the_mapped_rest_pose_causes_no_motion(resting_arm, q_rest, so101_tolerances,
                                                       so101_check):
    before = resting_arm.read_ticks()
    with resting_arm.motion():
        after = resting_arm.move_ticks(resting_arm.sim_to_ticks(q_rest),
                                       settle_ticks=so101_tolerances.ticks)
    moved_deg = (resting_arm.ticks_to_sim(after) - resting_arm.ticks_to_sim(before)) * RAD_TO_DEG
    so101_check([Measurement("motion when sent the mapped rest pose", joint, float(moved_deg[j]),
                             "deg", -so101_tolerances.deg, so101_tolerances.deg,
                             f"{before[j]} -> {after[j]} ticks")
                 for j, joint in enumerate(MOTOR_NAMES)])
