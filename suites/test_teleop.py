"""A leader/follower pair, teleoperated as LeRobot does it (pytest_so101.checks.teleop): the
follower goes where *its* calibration puts the leader's number, so two arms that disagree
on a joint's zero move apart by that much and every recorded frame carries it (lerobot
#3758: 17 deg on one joint). The follower's reading cannot show it (it reads back the
number it was given); only the arms' physical poses can.

- **files**: the two calibration files side by side (drive modes, sweeps that cannot both
  be complete).
- **the leader at rest**: the leader folded on its stops reads the rest pose through its
  calibration and the mapping (physical evidence on a real leader, which must rest folded
  when the run starts; on the twin a scripted person folds it).
- **teleoperation** (motion): on the twin, a scripted person moves a leader twin through
  poses while the loop drives the follower twin; per joint the follower's true angle
  against the leader's (deg), at the gripper the distance in mm, and the latency. On real
  arms, with ``--allow-motion --so101-guided``, a person moves the leader and the
  follower's tracking of its goals is measured (servo evidence: no observer of either
  arm's true pose).

The leader: ``--so101-leader-port`` and ``--so101-leader-calibration`` on real arms; on
the twin a leader twin of its own (``--so101-leader-twin-fault`` gives it faults, e.g.
``elbow_flex:stale=193``: its zero 17 deg off).
"""

from __future__ import annotations

import numpy as np
import pytest

from pytest_so101.bus.teleop import TeleopLoop, minimum_jerk
from pytest_so101.checks.teleop import check_pair_files
from pytest_so101.core.joints import GRIPPER, MOTOR_NAMES
from pytest_so101.core.mapping import RAD_TO_DEG
from pytest_so101.core.measurement import Evidence, Measurement
from pytest_so101.core.tolerances import rest_tolerance_deg
from pytest_so101.plugin.fixtures import place_twin_at_rest
from pytest_so101.plugin.suite_tools import explain_rest

#: The scripted person's poses (fractions of each joint's range from its middle, the
#: gripper half open), each reached by a minimum-jerk move and held.
POSE_FRACTIONS = (np.array([0.25, -0.3, 0.3, -0.25, 0.3, 0.4]),
                  np.array([-0.3, 0.2, -0.25, 0.3, -0.3, 0.7]))
MOVE_S, HOLD_S = 0.8, 1.2
#: Latency beyond this is MARGINAL (advisory: it depends on the host's timing).
LATENCY_S = 0.5


def _units(so101_mapping):
    if so101_mapping.robot_units is None or so101_mapping.sim_to_robot is None:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_robot] map: the pair's "
                    "units and the sim frame are unknown")
    return so101_mapping.robot_units


@pytest.mark.so101_leader
def test_leader_and_follower_files_agree(so101_leader, so101_calibration, so101_mapping,
                                         so101_check):
    so101_check(check_pair_files(so101_leader.calibration, so101_calibration,
                                 _units(so101_mapping)))


@pytest.mark.so101_at_rest
@pytest.mark.so101_leader
@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_leader_reads_the_rest_pose_at_rest(so101_leader, so101_rest_pose, so101_tolerances,
                                            so101_joint_limits, so101_mapping, so101_check,
                                            joint):
    _units(so101_mapping)
    so101_leader.require_arm()
    arm = so101_leader.arm
    if so101_leader.twin is not None:
        place_twin_at_rest(so101_leader.twin)
    j = MOTOR_NAMES.index(joint)
    q_rest = np.asarray(so101_rest_pose.q_sim_rad, dtype=float)
    reading = arm.read_ticks()
    q_read = arm.ticks_to_sim(reading)
    expected = arm.sim_to_ticks(q_rest)
    cause, fix = explain_rest(arm, q_rest, reading, j, so101_joint_limits)
    bound = rest_tolerance_deg(joint, so101_tolerances, placed_by_hand=so101_leader.twin is None)
    so101_check([Measurement(
        "leader rest reading vs mapped rest pose", joint,
        float((q_read[j] - q_rest[j]) * RAD_TO_DEG), "deg", -bound, bound,
        f"the leader reads {reading[j]} ticks folded at rest; the rest pose "
        f"({np.rad2deg(q_rest[j]):.4g} deg sim, {so101_rest_pose.source}) maps through its "
        f"calibration to {expected[j]:.1f} ticks",
        cause=f"on the leader, {cause}; teleoperated, the follower misses the leader's pose by "
        "as much, and a recorded dataset carries it (lerobot #3758)",
        fix=f"{fix} (the leader: lerobot-calibrate --teleop.type=so101_leader)",
        evidence=so101_leader.evidence)])


_RUNS: dict[int, list] = {}          # one teleoperated run per pair, shared by the tests


@pytest.fixture
def teleoperated(so101_leader, so101_arm, so101_twin, so101_sim, so101_mapping):
    """Teleoperate the twin pair through the scripted poses (once per run); per pose the
    two arms' true angles once held, and the follower's true angles while held."""
    so101_leader.require_arm()
    if id(so101_leader) not in _RUNS:
        _RUNS[id(so101_leader)] = _teleoperate(so101_leader, so101_arm, so101_twin, so101_sim,
                                               so101_mapping)
    return _RUNS[id(so101_leader)]


def _teleoperate(so101_leader, so101_arm, so101_twin, so101_sim, so101_mapping) -> list:
    if so101_twin is None or so101_leader.twin is None:
        pytest.skip("on real arms the pair is judged by the leader's rest reading (physical) "
                    "and the guided teleoperation test; the true poses of both arms are "
                    "known only on the twin")
    units = _units(so101_mapping)
    leader_twin = so101_leader.twin
    limits = so101_sim.limits
    middle, half = (limits.lower_rad + limits.upper_rad) / 2, \
        (limits.upper_rad - limits.lower_rad) / 2
    loop = TeleopLoop(so101_leader.arm.read_ticks, so101_arm.track,
                      so101_leader.calibration, so101_arm.calibration, units)
    held = []
    with so101_arm.motion():
        for fractions in POSE_FRACTIONS:
            start, pose = leader_twin.q_sim_rad(), middle + fractions * half
            trace: list[tuple[float, np.ndarray]] = []

            def between(t: float, start=start, pose=pose, trace=trace) -> None:
                if t <= MOVE_S:
                    leader_twin.place(minimum_jerk(start, pose, t / MOVE_S).tolist())
                else:
                    trace.append((t - MOVE_S, so101_twin.q_sim_rad()))

            loop.run_for(MOVE_S + HOLD_S, between)
            held.append((leader_twin.q_sim_rad(), so101_twin.q_sim_rad(), trace))
    return held


@pytest.mark.so101_motion
@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_the_follower_reaches_the_leaders_pose(teleoperated, so101_arm, so101_tracking_deg,
                                               so101_check, joint):
    j = MOTOR_NAMES.index(joint)
    if joint in so101_arm.frozen:
        pytest.skip(f"{joint}: not teleoperated, the follower held it: "
                    f"{so101_arm.frozen[joint]} failed (a joint whose read-only checks "
                    "failed is never moved)")
    errors = [(follower[j] - leader[j]) * RAD_TO_DEG for leader, follower, _ in teleoperated]
    worst = max(errors, key=abs)
    so101_check([Measurement(
        "follower - leader (true angles)", joint, float(worst), "deg", -so101_tracking_deg,
        so101_tracking_deg,
        f"held at {len(errors)} poses the scripted person moved the leader twin to: "
        + ", ".join(f"{e:+.2f}" for e in errors) + " deg",
        cause=f"the leader's and the follower's calibrations disagree on {joint}: LeRobot "
        "sends the follower the leader's number, which puts it where its own calibration "
        "says (a zero shift, a mirrored motor, a short sweep on either arm)",
        fix="find the arm whose rest reading is off (test_leader_reads_the_rest_pose_at_rest "
        "and the follower's test_rest_pose) and recalibrate it", evidence=Evidence.TWIN)])


@pytest.mark.so101_motion
def test_gripper_position_and_latency(teleoperated, so101_arm, so101_sim, so101_tracking_deg,
                                      so101_check):
    """The gripper frame's distance between the two arms (mm, forward kinematics), against
    the distance one tracking bound on every arm joint moves it; and how long after the
    leader stopped the follower came within that bound (advisory)."""
    if so101_arm.frozen:
        pytest.skip(f"the follower held {', '.join(so101_arm.frozen)} (their read-only "
                    "checks failed): the two arms' poses are not comparable")
    out = []
    for k, (leader, follower, trace) in enumerate(teleoperated):
        gap_mm = float(np.linalg.norm(so101_sim.site_position(follower)
                                      - so101_sim.site_position(leader)) * 1000)
        bound = _tracking_mm(so101_sim, leader, so101_tracking_deg)
        within = [t for t, q in trace
                  if np.all(np.abs(np.delete(q - leader, GRIPPER)) * RAD_TO_DEG
                            <= so101_tracking_deg)]
        latency = within[0] if within else HOLD_S       # never, while it was watched
        out += [Measurement("gripper frame follower - leader", f"pose {k + 1}", gap_mm, "mm",
                            None, bound, f"the gripperframe site {gap_mm:.1f} mm apart; "
                            f"{so101_tracking_deg:g} deg on every arm joint moves it {bound:.1f}"
                            " mm", evidence=Evidence.TWIN),
                Measurement("latency after the leader stopped", f"pose {k + 1}", latency, "s",
                            None, LATENCY_S, "time until every arm joint of the follower was "
                            f"within {so101_tracking_deg:g} deg of the leader" + (
                                "" if within else f": not within the {HOLD_S:g} s watched"),
                            evidence=Evidence.TWIN, advisory=True)]
    so101_check(out)


def _tracking_mm(sim, q: np.ndarray, deg: float) -> float:
    """How far the gripper frame moves (mm) with every arm joint off by ``deg``, the
    worst of the signs taken joint by joint."""
    base = sim.site_position(q)
    total = 0.0
    for j in range(len(q)):
        if j == GRIPPER:
            continue
        moved = [np.linalg.norm(sim.site_position(q + sign * np.deg2rad(deg) *
                                                  (np.arange(len(q)) == j)) - base)
                 for sign in (-1, 1)]
        total += max(moved)
    return total * 1000


#: How long the person moves the leader before holding it still (s), and how long the
#: follower is given to settle once they hold it.
GUIDED_MOVE_S, SETTLE_S = 8.0, 1.0


@pytest.mark.so101_guided
@pytest.mark.so101_motion
def test_the_follower_tracks_a_person_moving_the_leader(so101_leader, so101_arm, so101_twin,
                                                        so101_mapping, so101_tracking_deg,
                                                        so101_check, pytestconfig):
    """Real arms: a person moves the leader and then holds it still; the follower's
    reading must settle on the goal the leader's reading asks (servo evidence: a zero both
    arms disagree on is the leader rest test's to find)."""
    import threading

    from pytest_so101.plugin.suite_tools import ask, at_a_terminal

    so101_leader.require_arm()
    if so101_twin is not None:
        pytest.skip("on the twin the scripted person moves the leader twin "
                    "(test_the_follower_reaches_the_leaders_pose)")
    if not at_a_terminal(pytestconfig):
        pytest.skip("a person moves the leader: needs a terminal (not CI, not pytest -n)")
    units = _units(so101_mapping)
    loop = TeleopLoop(so101_leader.arm.read_ticks, so101_arm.track,
                      so101_leader.calibration, so101_arm.calibration, units)
    stop = threading.Event()
    with so101_arm.motion():
        runner = threading.Thread(target=lambda: _until(loop, stop), daemon=True)
        runner.start()
        try:
            ask(pytestconfig, f"Teleoperation is on: move the leader slowly for about "
                f"{GUIDED_MOVE_S:.0f} s, keeping the follower clear of obstacles, then hold "
                "the leader still mid-range and press Enter (Ctrl-C stops, torque off)")
            stop_at = len(loop.cycles)
            stop.wait(SETTLE_S)
        finally:
            stop.set()
            runner.join(timeout=5)
        reading = so101_arm.read_ticks()
    if len(loop.cycles) <= stop_at:
        pytest.fail("the teleoperation loop stopped before the leader was held still")
    goal = loop.cycles[-1][3]
    off_deg = (so101_arm.ticks_to_sim(reading) - so101_arm.ticks_to_sim(goal)) * RAD_TO_DEG
    rate = len(loop.cycles) / max(1e-9, loop.cycles[-1][0] - loop.cycles[0][0])
    so101_check([Measurement(
        "follower reading - teleoperation goal, held", joint, float(off_deg[j]), "deg",
        -so101_tracking_deg, so101_tracking_deg,
        f"goal {goal[j]:.0f} ticks, read {reading[j]} ticks, {SETTLE_S:g} s after the leader "
        f"was held still; {len(loop.cycles)} cycles at {rate:.0f} Hz",
        cause="the follower does not reach the goals teleoperation sends: a weak or "
        "overloaded servo, a P gain lowered, a joint blocked, or its goal clipped at the "
        "safety envelope's edge (hold the leader mid-range)",
        fix="check the joint's servo (pytest suites/test_servo_health.py) and its mechanics "
        "(suites/test_mechanics.py)", evidence=Evidence.SERVO)
        for j, joint in enumerate(MOTOR_NAMES)])


def _until(loop: TeleopLoop, stop) -> None:
    while not stop.is_set():
        loop.run_for(0.2)
