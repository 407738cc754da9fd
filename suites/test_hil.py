"""Hardware in the loop: the arm (real, or the twin) against its calibration and the sim.

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

from pytest_so101.checks.diagnosis import check_registers_match_file, explain_jog, explain_reading
from pytest_so101.checks.mechanics import tracking_error
from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.core.mapping import RAD_TO_DEG
from pytest_so101.core.measurement import Evidence, Measurement

JOG_DEG = 5.0
NOISE_READS = 20


@pytest.fixture(scope="module")
def servos(so101_bus):
    return so101_bus.identify()


@pytest.fixture(scope="module")
def bus_evidence(so101_context):
    """What a reading of the bus alone proves: about the real servos, or about the twin."""
    return Evidence.SERVO if so101_context.settings["hardware"].value else Evidence.TWIN


@pytest.fixture
def sim_to_robot(so101_mapping):
    if so101_mapping.sim_to_robot is None:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_robot] map")
    return so101_mapping.sim_to_robot


def test_six_sts3215_with_one_firmware(servos):
    assert [s.servo_id for s in servos] == [1, 2, 3, 4, 5, 6]
    firmware = {s.firmware for s in servos}
    assert len(firmware) == 1, f"servos run different firmware: " \
        f"{ {s.joint: s.firmware for s in servos} }"


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_calibration_registers_equal_the_file(so101_bus, so101_calibration, so101_arm_presence,
                                              so101_check, joint):
    presence = so101_arm_presence
    if not presence.present:
        pytest.skip(presence.reason)
    if presence.self_calibrated:
        pytest.skip("the calibration under test is the one the twin wrote into its own "
                    "registers: registers vs file would compare one source (check a file "
                    "with --so101-calibration and --so101-twin-arm, or on --hardware)")
    so101_check(check_registers_match_file(so101_bus.read_calibration(), so101_calibration,
                                           evidence=presence.evidence), joint=joint)


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_position_within_the_calibrated_range(so101_arm, so101_arm_presence, so101_tolerances,
                                              so101_check, joint):
    """The reading lies within the recorded range (plus the read tolerance: a joint resting
    on its stop, as at rest, reads at or a hair beyond the end of its sweep; that is
    no margin problem, so there is no MARGINAL band)."""
    j = MOTOR_NAMES.index(joint)
    cal = so101_arm.calibration
    ticks = so101_arm.read_ticks()
    so101_check([Measurement("position in calibrated range", joint, float(ticks[j]), "ticks",
                             float(cal.range_min[j]) - so101_tolerances.ticks,
                             float(cal.range_max[j]) + so101_tolerances.ticks,
                             f"recorded range {cal.range_min[j]}..{cal.range_max[j]} ticks",
                             marginal_fraction=1.0, evidence=so101_arm_presence.evidence)])


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_read_noise_within_tolerance(so101_bus, so101_tolerances, bus_evidence, so101_check,
                                     joint):
    j = MOTOR_NAMES.index(joint)
    reads = np.array([so101_bus.read_positions()[j] for _ in range(NOISE_READS)])
    so101_check([Measurement("read noise (peak to peak)", joint, float(np.ptp(reads)), "ticks",
                             None, so101_tolerances.ticks, f"{NOISE_READS} reads: "
                             f"{reads.min()}..{reads.max()}", evidence=bus_evidence)])


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_pose_in_the_model_limits(so101_arm, sim_to_robot, so101_joint_limits,
                                  so101_tolerances, so101_arm_presence, so101_check, request,
                                  joint):
    """The arm's pose, mapped to the sim frame, lies within the model's joint limits
    (widened by the angle tolerance: an arm resting on a limit reads a hair beyond it;
    and to the declared rest pose: some models' rest lies beyond their own range, like the
    SO-100 menagerie's shoulder at -190 deg)."""
    j = MOTOR_NAMES.index(joint)
    q_deg = so101_arm.read_sim()[j] * RAD_TO_DEG
    low = float(so101_joint_limits.lower_deg[j])
    high = float(so101_joint_limits.upper_deg[j])
    try:
        rest_deg = float(request.getfixturevalue("so101_rest_pose").q_sim_rad[j]) * RAD_TO_DEG
        low, high = min(low, rest_deg), max(high, rest_deg)
    except pytest.skip.Exception:
        pass
    low, high = low - so101_tolerances.deg, high + so101_tolerances.deg
    so101_check([Measurement("pose in model limits", joint, float(q_deg), "deg", low, high,
                             f"model limits [{so101_joint_limits.lower_deg[j]:.4g}, "
                             f"{so101_joint_limits.upper_deg[j]:.4g}] deg "
                             f"({so101_joint_limits.source}); a joint on its stop reads at "
                             "the limit", marginal_fraction=1.0,
                             evidence=so101_arm_presence.evidence)])


@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_reading_matches_the_observed_pose(so101_arm, sim_to_robot, so101_observer,
                                           so101_joint_limits, so101_tolerances, so101_check,
                                           so101_picture, joint):
    """The servo reading, through the calibration and the map, equals the physical pose
    the twin's observer sees."""
    j = MOTOR_NAMES.index(joint)
    truth = so101_observer.q_sim_rad()
    ticks = so101_arm.read_ticks()
    expected = so101_arm.sim_to_ticks(truth)
    q_read = so101_arm.ticks_to_sim(ticks)
    error_deg = (q_read[j] - truth[j]) * RAD_TO_DEG
    so101_picture("observed pose (the twin's ground truth)", truth, q_read,
                  failed=abs(error_deg) > so101_tolerances.deg)
    cause, fix = explain_reading(j, q_read[j], truth[j], so101_arm.calibrated_middle_sim()[j],
                                 ticks[j] - expected[j], so101_arm.calibration,
                                 so101_joint_limits, declared_direction=sim_to_robot.direction[j],
                                 units=so101_arm.units)
    so101_check([Measurement("reading vs observed pose", joint, float(error_deg), "deg",
                             -so101_tolerances.deg, so101_tolerances.deg,
                             f"reads {ticks[j]} ticks, the observed pose "
                             f"({np.rad2deg(truth[j]):.4g} deg sim) maps to {expected[j]:.1f} "
                             f"ticks: off by {ticks[j] - expected[j]:+.1f} ticks",
                             cause=cause, fix=fix, evidence=Evidence.TWIN)])


@pytest.mark.so101_motion
@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_jog_moves_the_joint_the_declared_way(so101_arm, sim_to_robot, so101_context, request,
                                              so101_joint_limits, so101_tolerances, so101_check,
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
        pytest.skip(f"{joint} is not moved: its read-only checks failed in this run "
                    f"({so101_arm.frozen[joint]})")
    j = MOTOR_NAMES.index(joint)
    with so101_arm.motion():
        start = observe()
        middle = (so101_joint_limits.lower_rad[j] + so101_joint_limits.upper_rad[j]) / 2
        step = np.deg2rad(JOG_DEG) * (1 if start[j] <= middle else -1)
        target = so101_arm.read_sim()
        target[j] += step
        so101_arm.move_sim(target)
        moved = observe() - start
    commanded_deg, moved_deg = np.rad2deg(step), np.rad2deg(moved[j])
    reversed_ = np.sign(moved_deg) != np.sign(commanded_deg) and abs(moved_deg) > 0.5
    detail = (f"commanded {commanded_deg:+.2f} deg in the sim frame, the joint moved "
              f"{moved_deg:+.2f} deg" + (": direction reversed (a mirrored motor or a wrong "
                                          "direction in [sim_to_robot])" if reversed_ else ""))
    cause, fix = explain_jog(j, commanded_deg, moved_deg, so101_arm.calibration,
                             declared_direction=sim_to_robot.direction[j],
                             units=so101_arm.units)
    so101_check([Measurement("jog response error", joint, float(moved_deg - commanded_deg),
                             "deg", -so101_tolerances.deg, so101_tolerances.deg, detail,
                             cause=cause, fix=fix, evidence=Evidence.TWIN)])


@pytest.mark.so101_motion
def test_reached_pose_matches_commanded(so101_arm, so101_tolerances, so101_tracking_deg,
                                        bus_evidence, so101_check):
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
    errors = np.array([r for _, r in reached_all]) - targets
    so101_check([tracking_error(
        "reached - commanded", joint, errors[:, j], so101_tracking_deg,
        f"{len(errors)} targets drawn inside the envelope: {errors[:, j].min():+.0f}.."
        f"{errors[:, j].max():+.0f} ticks from the target"
        + (" (held: its read-only checks failed)" if held[j] else ""), bus_evidence)
        for j, joint in enumerate(MOTOR_NAMES)])
