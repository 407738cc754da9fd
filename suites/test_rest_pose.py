"""The rest pose (seed 003): the arm folded on its stops is a physical reference the
servos and the files cannot fake. The rest pose (the mapping's ``[sim] rest_pose``, else
the model's ``rest`` keyframe; never the reference pose), mapped through the declared
[sim_to_robot] map, must equal what the robot reads resting there; and sending the
mapped rest pose to the resting arm must move nothing.

On the twin, the arm is folded into its rest pose first (as a person would); on a real
arm it must rest there when the run starts (these tests run first). Evidence: ``physical``
on a real arm, ``twin`` on the twin.
"""

from __future__ import annotations

import numpy as np
import pytest

from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.core.mapping import RAD_TO_DEG
from pytest_so101.core.measurement import Evidence, Measurement
from pytest_so101.core.tolerances import PLACED_BY_EYE, rest_tolerance_deg
from pytest_so101.plugin.fixtures import place_twin_at_rest
from pytest_so101.plugin.suite_tools import explain_rest

pytestmark = pytest.mark.so101_at_rest

#: "No motion" allows a few tolerances: beyond that the mapped rest pose is not sent.
NO_MOTION_TOLERANCES = 3


@pytest.fixture(scope="module")
def evidence(so101_context):
    """The rest pose on its stops is physical evidence on a real arm; on the twin it says
    something about the twin only."""
    return Evidence.PHYSICAL if so101_context.settings["hardware"].value else Evidence.TWIN


@pytest.fixture(scope="module")
def rest_bound(so101_context, so101_tolerances):
    """Per joint, how far it may read from the rest pose (deg): on a real arm a person
    folded it, and placed the joints no stop holds by eye."""
    hardware = bool(so101_context.settings["hardware"].value)
    return {joint: rest_tolerance_deg(joint, so101_tolerances, placed_by_hand=hardware)
            for joint in MOTOR_NAMES}


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
def test_rest_pose_maps_to_the_reading_at_rest(resting_arm, so101_rest_pose, rest_bound,
                                               so101_joint_limits, evidence, so101_check,
                                               so101_picture, joint):
    j = MOTOR_NAMES.index(joint)
    q_rest = np.asarray(so101_rest_pose.q_sim_rad, dtype=float)
    reading = resting_arm.read_ticks()
    expected = resting_arm.sim_to_ticks(q_rest)
    q_read = resting_arm.ticks_to_sim(reading)
    error_deg = (q_read[j] - q_rest[j]) * RAD_TO_DEG
    bound = rest_bound[joint]
    so101_picture("rest pose", q_rest, q_read, failed=abs(error_deg) > bound)
    cause, fix = explain_rest(resting_arm, q_rest, reading, j, so101_joint_limits)
    by_eye = joint in PLACED_BY_EYE and evidence is Evidence.PHYSICAL
    if by_eye and not cause.startswith("direction reversed"):
        cause = (f"{joint} is not where it was folded: no stop holds it at rest, so a person "
                 f"places it by eye (within {bound:g} deg), or {cause}")
        fix = f"place {joint} at its rest pose by eye and run again; if it still reads off, {fix}"
    so101_check([Measurement(
        "rest reading vs mapped rest pose", joint, float(error_deg), "deg", -bound, bound,
        f"reads {reading[j]} ticks at rest; the rest pose ({np.rad2deg(q_rest[j]):.4g} deg sim, "
        f"{so101_rest_pose.source}) maps to {expected[j]:.1f} ticks: off by "
        f"{reading[j] - expected[j]:+.1f} ticks"
        + (" (placed by eye: no stop holds it at rest)" if by_eye else ""),
        cause=cause, fix=fix, evidence=evidence)])


#: Joints that carry the arm's weight: the gravity check sees their direction (with motion).
LOADED = ("shoulder_lift", "elbow_flex", "wrist_flex")


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_a_mirrored_motor_would_show_at_rest(resting_arm, so101_rest_pose, rest_bound,
                                             so101_context, so101_check, joint):
    """A mirrored motor (or a drive_mode reversing it) reads the true angle mirrored about
    the calibrated middle: at rest it shows only when the rest pose is away from that middle
    by more than half the rest check's bound. A joint resting at its middle (the base, the
    wrist's roll) and carrying no weight has its direction checked only by a person
    (``--so101-guided``): MARGINAL without it, never a silent pass."""
    settings = so101_context.settings
    if not settings["hardware"].value:
        pytest.skip("on the twin its observer sees a mirrored motor (test_hil.py)")
    if settings["guided"].value:
        pytest.skip("--so101-guided: a person's move checks every joint's direction")
    if joint in LOADED and settings["allow_motion"].value:
        pytest.skip(f"the gravity check sees {joint}'s direction")
    j = MOTOR_NAMES.index(joint)
    q_rest = np.asarray(so101_rest_pose.q_sim_rad, dtype=float)
    gap_deg = 2 * abs(q_rest[j] - resting_arm.calibrated_middle_sim()[j]) * RAD_TO_DEG
    # a joint placed by eye may rest anywhere within its bound, toward its mirror image too
    seen_beyond = rest_bound[joint] * (2 if joint in PLACED_BY_EYE else 1)
    so101_check([Measurement(
        "a mirror image's distance from the rest pose", joint, float(gap_deg), "deg",
        seen_beyond, None,
        f"mirrored, {joint} would read {gap_deg:.1f} deg from its rest pose, "
        + (f"which the rest check ({rest_bound[joint]:g} deg) need not see"
           + (" on a joint placed by eye" if joint in PLACED_BY_EYE else "")
           + ": its direction is not checked in this run (no weight on it for the gravity "
           "check); run with --so101-guided"
           if gap_deg < seen_beyond else "which the rest check sees"),
        cause=f"{joint}'s direction is not checked by this run",
        fix="run with --so101-guided: a person moves the joint in a named direction",
        evidence=Evidence.FILES, advisory=True)])


@pytest.mark.so101_motion
def test_sending_the_mapped_rest_pose_causes_no_motion(resting_arm, so101_rest_pose,
                                                       so101_tolerances, rest_bound, evidence,
                                                       so101_check):
    """The mapped rest pose is sent only if no joint would move more than a few
    tolerances (and no joint whose read-only checks failed would move at all); otherwise
    the test fails with what each joint would have done, and nothing moves. A joint placed
    by eye may move as far as the rest check allows it."""
    arm = resting_arm
    q_rest = np.asarray(so101_rest_pose.q_sim_rad, dtype=float)
    before = arm.read_ticks()
    goal = np.rint(arm.sim_to_ticks(q_rest))
    asked_deg = (arm.ticks_to_sim(goal) - arm.ticks_to_sim(before)) * RAD_TO_DEG
    bounds = np.array([rest_bound[joint] for joint in MOTOR_NAMES])
    bound_deg = NO_MOTION_TOLERANCES * bounds
    held = [j for j, joint in enumerate(MOTOR_NAMES) if joint in arm.frozen]
    if np.any(np.abs(asked_deg) > bound_deg) or any(abs(asked_deg[j]) > bounds[j]
                                                    for j in held):
        so101_check([Measurement(
            "motion the mapped rest pose asks", joint, float(asked_deg[j]), "deg",
            -bounds[j], bounds[j],
            f"not sent: would move {joint} from {before[j]} to {goal[j]:.0f} ticks"
            + (f"; its read-only checks failed ({arm.frozen[joint]})" if joint in arm.frozen
               else ""),
            cause="the arm is not where the mapped rest pose says: see the rest reading check",
            fix="fix what the rest reading check names before sending poses", evidence=evidence)
            for j, joint in enumerate(MOTOR_NAMES)])
    ticks_per_deg = np.abs(arm.sim_to_ticks(q_rest + np.deg2rad(1.0)) - goal)
    with arm.motion():
        after = arm.move_ticks(goal, settle_ticks=so101_tolerances.ticks,
                               max_travel_ticks=float(np.max(ticks_per_deg * bound_deg)) + 1)
    moved_deg = (arm.ticks_to_sim(after) - arm.ticks_to_sim(before)) * RAD_TO_DEG
    so101_check([Measurement("motion when sent the mapped rest pose", joint, float(moved_deg[j]),
                             "deg", -bounds[j], bounds[j],
                             f"{before[j]} -> {after[j]} ticks", evidence=evidence)
                 for j, joint in enumerate(MOTOR_NAMES)])
