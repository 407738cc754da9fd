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
from pytest_so101.core.measurement import Outcome
from pytest_so101.plugin.suite_tools import (
    TerminalOperator,
    at_a_terminal,
    guided_move,
    judge,
    measure,
)

pytestmark = pytest.mark.so101_at_rest

#: Why a joint whose direction nobody checked is held still on a real arm.
UNCHECKED = ("its direction is not checked in this run (no weight on it for the gravity "
             "check, and no person confirmed it: run at a terminal with --allow-motion, or "
             "with --so101-guided): a mirrored {joint} would swing the wrong way")


@pytest.fixture
def resting_arm(so101_arm_at_rest):
    return so101_arm_at_rest


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_rest_pose_maps_to_the_reading_at_rest(resting_arm, so101_rest_pose, so101_inputs,
                                               so101_check, so101_picture, joint):
    ticks = resting_arm.read_ticks()
    (measured,) = measure("rest-reading", so101_inputs.with_readings(
        rest_pose=so101_rest_pose, positions=[ticks]), joint=joint)
    so101_picture("rest pose", so101_rest_pose.q_sim_rad, resting_arm.ticks_to_sim(ticks),
                  failed=not measured.passed)
    so101_check([measured])


def test_the_arm_rests_folded(resting_arm, so101_rest_pose, so101_inputs, so101_check):
    """The arm as a whole: left unfolded, or carrying another arm's calibration, it fails
    here once, and nothing moves in this run."""
    judge("arm-at-rest", so101_inputs.with_readings(
        rest_pose=so101_rest_pose, positions=[resting_arm.read_ticks()]), so101_check)


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_a_mirrored_motor_would_show_at_rest(resting_arm, so101_rest_pose, so101_inputs,
                                             so101_context, so101_check, pytestconfig,
                                             request, joint):
    """A joint resting at its middle (the base, the wrist's roll) and carrying no weight
    has its direction checked only by a person: with --allow-motion at a terminal the
    person is asked now, before anything moves it; otherwise it is held still for the run
    and the check is MARGINAL (never a silent pass, never a swing the wrong way)."""
    settings = so101_context.settings
    if not settings["hardware"].value:
        pytest.skip("on the twin its observer sees a mirrored motor (test_hil.py)")
    if settings["guided"].value:
        pytest.skip("--so101-guided: a person's move checks every joint's direction")
    if joint in LOADED and settings["allow_motion"].value:
        pytest.skip(f"the gravity check sees {joint}'s direction")
    measured = measure("mirror-at-rest", so101_inputs.with_readings(rest_pose=so101_rest_pose),
                       joint=joint)
    unchecked = any(m.outcome is Outcome.MARGINAL for m in measured)
    if unchecked and settings["allow_motion"].value and at_a_terminal(pytestconfig):
        person = TerminalOperator(pytestconfig)
        resting_arm.bus.disable_torque()              # a person moves it by hand
        done = guided_move(resting_arm, request.getfixturevalue("so101_sim"), person,
                           MOTOR_NAMES.index(joint))
        person.restore(joint)
        judge("guided-move", so101_inputs.with_readings(guided=done), so101_check)
        return
    if unchecked:
        resting_arm.frozen.setdefault(joint, UNCHECKED.format(joint=joint))
    so101_check(measured)


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
