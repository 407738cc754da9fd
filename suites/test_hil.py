"""Hardware in the loop: the arm (real, or the twin) against its calibration and the sim
(the checks: :mod:`pytest_so101.checks.hil`).

Every measurement names its evidence: ``servo`` on a real arm (the servo's own registers
and readings), ``twin`` on the emulated arm (the twin's ground truth). A check whose two
sides would come from one source in this setup skips with that reason: the registers
against a calibration the twin wrote itself, a jog observed on a real arm only through
the inverse of the command. Direction on a real arm is established by gravity
(``suites/test_gravity.py``) and by a person (``--so101-guided``).

Read-only checks run everywhere. Motion checks are marked ``so101_motion``: on a real arm
they need ``--allow-motion``, and they never move a joint whose read-only checks failed.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from pytest_so101.bus.arm import wait_still
from pytest_so101.checks.hil import Jog, Observed, Reached
from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.plugin.suite_tools import judge, measure, sag_ticks

JOG_DEG = 5.0
NOISE_READS = 20
#: The observed pose is still when no joint moved more than this over a short window (rad).
STILL_RAD = np.deg2rad(0.05)


@pytest.fixture(scope="module")
def servos(so101_bus):
    return so101_bus.identify()


@pytest.fixture
def sim_to_robot(so101_mapping):
    if so101_mapping.sim_to_robot is None:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_robot] map")
    return so101_mapping.sim_to_robot


def test_six_sts3215_with_one_firmware(servos, so101_inputs, so101_check):
    judge("servo-identity", so101_inputs.with_readings(servos=servos), so101_check)


@pytest.fixture(scope="module")
def registers(so101_bus, so101_arm_presence):
    presence = so101_arm_presence
    if not presence.present:
        pytest.skip(presence.reason)
    if presence.self_calibrated:
        pytest.skip("the calibration under test is the one the twin wrote into its own "
                    "registers: registers vs file would compare one source (check a file "
                    "with --so101-calibration and --so101-twin-arm, or on --hardware)")
    return so101_bus.read_calibration()


@pytest.mark.parametrize("joint", [*MOTOR_NAMES, "all"])
def test_calibration_registers_equal_the_file(registers, so101_inputs, so101_check, joint):
    """Per joint, and for the arm ("all": three or more joints differ, another arm's
    file: nothing moves in this run)."""
    judge("registers-vs-file", so101_inputs.with_readings(registers=registers), so101_check,
          joint=joint)


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_position_within_the_calibrated_range(so101_arm, so101_inputs, so101_check, joint):
    judge("position-in-range", so101_inputs.with_readings(positions=[so101_arm.read_ticks()]),
          so101_check, joint=joint)


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_read_noise_within_tolerance(so101_bus, so101_inputs, so101_check, joint):
    reads = np.array([so101_bus.read_positions() for _ in range(NOISE_READS)])
    judge("read-noise", so101_inputs.with_readings(positions=reads), so101_check, joint=joint)


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_pose_in_the_model_limits(so101_arm, sim_to_robot, so101_inputs, so101_check, request,
                                  joint):
    try:
        rest = np.asarray(request.getfixturevalue("so101_rest_pose").q_sim_rad, dtype=float)
    except pytest.skip.Exception:
        rest = None
    judge("pose-in-model-limits", so101_inputs.with_readings(
        positions=[so101_arm.read_ticks()], rest_pose_rad=rest), so101_check, joint=joint)


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_reading_matches_the_observed_pose(so101_arm, sim_to_robot, so101_observer,
                                           so101_inputs, so101_check, so101_picture, joint):
    """The servo reading, through the calibration and the map, equals the physical pose
    the twin's observer sees."""
    truth = so101_observer.q_sim_rad()
    ticks = so101_arm.read_ticks()
    (measured,) = measure("reading-vs-observed",
                          so101_inputs.with_readings(observer=Observed(ticks, truth)),
                          joint=joint)
    so101_picture("observed pose (the twin's ground truth)", truth,
                  so101_arm.ticks_to_sim(ticks), failed=not measured.passed)
    so101_check([measured])


@pytest.mark.so101_motion
@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_jog_moves_the_joint_the_declared_way(so101_arm, sim_to_robot, so101_context, request,
                                              so101_joint_limits, so101_inputs, so101_check,
                                              joint):
    """Jog one joint by a few degrees in the sim frame through the declared map; the
    twin's observer must see it move that way by that much (catches a reversed direction,
    a wrong scale). On a real arm the only observer would be the servo's own reading, the
    inverse of the command: it cannot see a reversed direction, so the test skips there."""
    if so101_context.settings["hardware"].value:
        pytest.skip("on a real arm the jog is observed only through the servo's own reading, "
                    "the inverse of the command, which cannot see a reversed direction: "
                    "suites/test_gravity.py (--allow-motion) and --so101-guided establish "
                    "each joint's direction")
    observe = request.getfixturevalue("so101_observer").q_sim_rad
    if joint in so101_arm.frozen:
        pytest.skip(f"{joint} is not moved: {so101_arm.frozen[joint]}")
    j = MOTOR_NAMES.index(joint)
    with so101_arm.motion():
        # a servo under load holds its goal short by its compliance (the upstream model's
        # kp: a degree or two under the arm's weight): the step is what the goal moved by,
        # the motion what the observer sees between settled poses
        start = wait_still(observe, tolerance=STILL_RAD)
        held = so101_arm.ticks_to_sim(so101_arm.goal_ticks)
        middle = (so101_joint_limits.lower_rad[j] + so101_joint_limits.upper_rad[j]) / 2
        step = np.deg2rad(JOG_DEG) * (1 if start[j] <= middle else -1)
        target = held.copy()
        target[j] += step
        so101_arm.move_sim(target)
        moved = wait_still(observe, tolerance=STILL_RAD) - start
        commanded = so101_arm.ticks_to_sim(so101_arm.goal_ticks) - held
    jog = Jog(joint, float(np.rad2deg(commanded[j])), float(np.rad2deg(moved[j])))
    judge("jog", so101_inputs.with_readings(jog=[jog]), so101_check)


@pytest.mark.so101_motion
def test_reached_pose_matches_commanded(so101_arm, so101_tolerances, so101_inputs, so101_check,
                                        request):
    """Hypothesis draws a few targets inside the safety envelope (no shrinking: each
    example moves the arm); every joint must reach its targets within the tracking bound
    (``--so101-tracking-deg``, as the mechanics suite), by the servo's own reading. Joints
    whose read-only checks failed stay where they are."""
    envelope = so101_arm.envelope
    low, high = envelope.low_ticks, envelope.high_ticks
    held = np.array([joint in so101_arm.frozen for joint in MOTOR_NAMES])
    reached_all = []

    @settings(max_examples=4, phases=[Phase.generate], deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(fraction=st.lists(st.floats(0.3, 0.7), min_size=6, max_size=6))
    def move(fraction):
        target = np.rint(low + np.array(fraction) * (high - low))
        target = np.where(held, so101_arm.read_ticks(), target)
        reached = so101_arm.move_ticks(target, settle_ticks=so101_tolerances.ticks)
        reached_all.append((target, reached))

    with so101_arm.motion():
        move()
    targets = np.array([t for t, _ in reached_all])
    moves = Reached(targets, np.array([r for _, r in reached_all]), tuple(so101_arm.frozen),
                    sag_ticks(so101_arm, targets, request))
    judge("reached-pose", so101_inputs.with_readings(reached=moves), so101_check)

