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

import threading

import numpy as np
import pytest

from pytest_so101.bus.teleop import TeleopLoop, minimum_jerk
from pytest_so101.checks.teleop import GuidedTeleop, HeldPose, TeleopRun
from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.plugin.fixtures import place_twin_at_rest
from pytest_so101.plugin.suite_tools import ask, at_a_terminal, judge

#: The scripted person's poses (fractions of each joint's range from its middle, the
#: gripper half open), each reached by a minimum-jerk move and held.
POSE_FRACTIONS = (np.array([0.25, -0.3, 0.3, -0.25, 0.3, 0.4]),
                  np.array([-0.3, 0.2, -0.25, 0.3, -0.3, 0.7]))
MOVE_S, HOLD_S = 0.8, 1.2


def _units(so101_mapping):
    if so101_mapping.robot_units is None or so101_mapping.sim_to_robot is None:
        pytest.skip(f"{so101_mapping.source} declares no [sim_to_robot] map: the pair's "
                    "units and the sim frame are unknown")
    return so101_mapping.robot_units


@pytest.mark.so101_leader
def test_leader_and_follower_files_agree(so101_leader, so101_mapping, so101_inputs,
                                         so101_check):
    _units(so101_mapping)
    judge("pair-files", so101_inputs.with_readings(leader=so101_leader.calibration),
          so101_check)


@pytest.mark.so101_at_rest
@pytest.mark.so101_leader
@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_leader_reads_the_rest_pose_at_rest(so101_leader, so101_rest_pose, so101_mapping,
                                            so101_inputs, so101_check, joint):
    _units(so101_mapping)
    so101_leader.require_arm()
    if so101_leader.twin is not None:
        place_twin_at_rest(so101_leader.twin)
    judge("leader-rest", so101_inputs.with_readings(
        leader=so101_leader.calibration, rest_pose=so101_rest_pose,
        leader_positions=[so101_leader.arm.read_ticks()]), so101_check, joint=joint)


_RUNS: dict[int, list] = {}          # one teleoperated run per pair, shared by the tests


@pytest.fixture
def teleoperated(so101_leader, so101_arm, so101_twin, so101_sim, so101_mapping):
    """Teleoperate the twin pair through the scripted poses (once per run); per pose the
    two arms' true angles once held, and the follower's true angles while held."""
    so101_leader.require_arm()
    if id(so101_leader) not in _RUNS:
        _RUNS[id(so101_leader)] = _teleoperate(so101_leader, so101_arm, so101_twin, so101_sim,
                                               so101_mapping)
    return TeleopRun(_RUNS[id(so101_leader)], HOLD_S, so101_sim.site_position,
                     dict(so101_arm.frozen))


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
            held.append(HeldPose(leader_twin.q_sim_rad(), so101_twin.q_sim_rad(), trace,
                                 so101_arm.read_ticks(), so101_arm.goal_ticks))
    return held


@pytest.mark.so101_motion
@pytest.mark.parametrize("joint", MOTOR_NAMES)
def test_the_follower_reaches_the_leaders_pose(teleoperated, so101_arm, so101_inputs,
                                               so101_check, joint):
    if joint in so101_arm.frozen:
        pytest.skip(f"{joint}: not teleoperated, the follower held it: "
                    f"{so101_arm.frozen[joint]}")
    judge("teleop-follower", so101_inputs.with_readings(teleop=teleoperated), so101_check,
          joint=joint)


@pytest.mark.so101_motion
def test_gripper_position_and_latency(teleoperated, so101_arm, so101_inputs, so101_check):
    """The gripper frame's distance between the two arms (mm, forward kinematics), against
    the distance one tracking bound on every arm joint moves it; and how long after the
    leader stopped the follower came within that bound (advisory)."""
    if so101_arm.frozen:
        pytest.skip(f"the follower held {', '.join(so101_arm.frozen)} ("
                    f"{'; '.join(sorted(set(so101_arm.frozen.values())))}): the two arms' "
                    "poses are not comparable")
    judge("teleop-gripper", so101_inputs.with_readings(teleop=teleoperated), so101_check)


#: How long the person moves the leader before holding it still (s), and how long the
#: follower is given to settle once they hold it.
GUIDED_MOVE_S, SETTLE_S = 8.0, 1.0


@pytest.mark.so101_guided
@pytest.mark.so101_motion
def test_the_follower_tracks_a_person_moving_the_leader(so101_leader, so101_arm, so101_twin,
                                                        so101_mapping, so101_inputs,
                                                        so101_check, pytestconfig):
    """Real arms: a person moves the leader and then holds it still; the follower's
    reading must settle on the goal the leader's reading asks (servo evidence: a zero both
    arms disagree on is the leader rest test's to find)."""
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
    rate = len(loop.cycles) / max(1e-9, loop.cycles[-1][0] - loop.cycles[0][0])
    run = GuidedTeleop(loop.cycles[-1][3], reading, len(loop.cycles), rate, SETTLE_S)
    judge("teleop-guided", so101_inputs.with_readings(teleop=run), so101_check)


def _until(loop: TeleopLoop, stop) -> None:
    while not stop.is_set():
        loop.run_for(0.2)
