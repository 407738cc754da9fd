"""The rest pose: the arm folded on its stops is a physical reference the servos and the
files cannot fake (the checks: :mod:`pytest_so101.checks.rest_pose`). The rest pose (the
mapping's ``[sim] rest_pose``, else the model's ``rest`` keyframe; never the reference
pose), mapped through the declared [sim_to_robot] map, must equal what the robot reads
resting there; and sending the mapped rest pose to the resting arm must move nothing.

On the twin, the arm is folded into its rest pose first (as a person would); on a real
arm it must rest there when the run starts (these tests run first). Evidence: ``physical``
on a real arm, ``twin`` on the twin.
"""

from __future__ import annotations

import numpy as np
import pytest

from pytest_so101.checks.rest_pose import LOADED, RestMotion, no_motion_plan
from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.plugin.fixtures import place_twin_at_rest
from pytest_so101.plugin.suite_tools import judge, measure

pytestmark = pytest.mark.so101_at_rest


@pytest.fixture
def resting_arm(so101_arm, so101_twin, so101_mapping, so101_rest_pose, so101_context):
    if so101_mapping.sim_to_robot is None:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_robot] map")
    if so101_twin is None:
        yield so101_arm
        return
    before = so101_twin.q_sim_rad()
    place_twin_at_rest(so101_twin)
    yield so101_arm
    so101_twin.place(before.tolist())


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_rest_pose_maps_to_the_reading_at_rest(resting_arm, so101_rest_pose, so101_inputs,
                                               so101_check, so101_picture, joint):
    ticks = resting_arm.read_ticks()
    (measured,) = measure("rest-reading", so101_inputs.with_readings(
        rest_pose=so101_rest_pose, positions=[ticks]), joint=joint)
    so101_picture("rest pose", so101_rest_pose.q_sim_rad, resting_arm.ticks_to_sim(ticks),
                  failed=not measured.passed)
    so101_check([measured])


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_a_mirrored_motor_would_show_at_rest(resting_arm, so101_rest_pose, so101_inputs,
                                             so101_context, so101_check, joint):
    """A joint resting at its middle (the base, the wrist's roll) and carrying no weight
    has its direction checked only by a person (``--so101-guided``): MARGINAL without it,
    never a silent pass."""
    settings = so101_context.settings
    if not settings["hardware"].value:
        pytest.skip("on the twin its observer sees a mirrored motor (test_hil.py)")
    if settings["guided"].value:
        pytest.skip("--so101-guided: a person's move checks every joint's direction")
    if joint in LOADED and settings["allow_motion"].value:
        pytest.skip(f"the gravity check sees {joint}'s direction")
    judge("mirror-at-rest", so101_inputs.with_readings(rest_pose=so101_rest_pose), so101_check,
          joint=joint)


@pytest.mark.so101_motion
def test_sending_the_mapped_rest_pose_causes_no_motion(resting_arm, so101_rest_pose,
                                                       so101_inputs, so101_tolerances,
                                                       so101_check):
    """The mapped rest pose is sent only if no joint would move more than a few
    tolerances (and no joint whose read-only checks failed would move at all); otherwise
    the test fails with what each joint would have done, and nothing moves. A joint placed
    by eye may move as far as the rest check allows it."""
    arm = resting_arm
    q_rest = np.asarray(so101_rest_pose.q_sim_rad, dtype=float)
    before = arm.read_ticks()
    goal, may_send, travel = no_motion_plan(arm, before, q_rest, so101_tolerances,
                                            so101_inputs.setup, arm.frozen)
    after = None
    if may_send:
        with arm.motion():
            after = arm.move_ticks(goal, settle_ticks=so101_tolerances.ticks,
                                   max_travel_ticks=travel)
    judge("rest-no-motion", so101_inputs.with_readings(
        rest_motion=RestMotion(before, goal, after, dict(arm.frozen))), so101_check)
