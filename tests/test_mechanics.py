"""Mechanics (pytest_so101/mechanics.py, suites/test_mechanics.py) and the twin's gear play:
the checks on made-up readings with their failure messages, the play operator, and the
backlash measured on a twin with a known play: within 0.1 deg of it on every joint."""

from __future__ import annotations

import json

import numpy as np
import pytest

from pytest_so101.bus.arm import Arm
from pytest_so101.bus.feetech import FeetechBus
from pytest_so101.bus.process import EmulatorProcess
from pytest_so101.bus.twin import TwinArm
from pytest_so101.bus.twin_fault import TwinFault
from pytest_so101.checks import mechanics
from pytest_so101.core.calibration import load_calibration
from pytest_so101.core.errors import So101ConfigError
from pytest_so101.core.frames import DEG_PER_TICK
from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.core.measurement import Evidence, Outcome
from pytest_so101.core.safety import SafetyEnvelope
from pytest_so101.sim.model import SimModel
from tests.helpers import REPO

BOUNDS = mechanics.Bounds()
TARGET = np.full(6, 2048.0)


def returns(below_offset: float, above_offset: float, *, jitter=(0, 0, 0)) -> mechanics.Returns:
    """Three returns from each side, every joint ``offset`` ticks from the target."""
    below = np.array([TARGET + below_offset + j for j in jitter])
    above = np.array([TARGET + above_offset + j for j in jitter])
    return mechanics.Returns(TARGET, np.full(6, 34.0), below, above, np.full(6, 0.2),
                             np.zeros(6, bool))


def by_check(measurements, check):
    return [m for m in measurements if m.check == check]


def test_plan_target_leaves_room_for_the_approach_inside_the_envelope():
    low, high = np.full(6, 1000.0), np.full(6, 3000.0)
    present = np.array([900, 1020, 2000, 2990, 3100, 2500.4])
    assert mechanics.plan_target(present, low, high, 34).tolist() == \
        [1035, 1035, 2000, 2965, 2965, 2500]
    assert mechanics.Bounds(backlash_deg=2.5).approach_ticks() == pytest.approx(5 / DEG_PER_TICK)


def test_backlash_is_the_gap_between_the_two_sides_and_fails_beyond_its_bound():
    ok = by_check(mechanics.check_backlash(returns(-3, 3), BOUNDS, Evidence.TWIN), "backlash")
    assert ok[0].value == pytest.approx(6 * DEG_PER_TICK) and ok[0].passed
    worn = mechanics.check_backlash(returns(-14, 14), BOUNDS, Evidence.SERVO)[2]
    assert worn.outcome is Outcome.FAIL and worn.evidence is Evidence.SERVO
    assert worn.summary().startswith("elbow_flex: backlash = 2.461 deg (limit |value| <= 1.5 "
                                     "deg) FAIL: approached from 3.0 deg below reads 2034.0 "
                                     "ticks, from above 2062.0: a gap of +28.0 ticks")
    assert "SO-ARM100 #134" in worn.cause and "tighten elbow_flex's horn screw" in worn.fix


def test_a_gap_as_wide_as_the_approach_is_said_to_be_at_least_that():
    m = mechanics.check_backlash(returns(-17, 17), BOUNDS, Evidence.TWIN)[0]
    assert "(at least: as wide as the approach)" in m.detail


def test_repeatability_is_the_spread_from_one_side_in_ticks_and_mm():
    r = returns(-3, 3, jitter=(0, 5, 1))
    site = np.array([0.5, 3.1, 0, 0, 0, 0])
    ms = mechanics.check_repeatability(r, BOUNDS, Evidence.TWIN, site)
    ticks, mm = by_check(ms, "repeatability"), by_check(ms, "repeatability at the gripper")
    assert [m.value for m in ticks] == [5] * 6 and not any(m.passed for m in ticks)
    assert "from below read 2045..2050" in ticks[0].detail and "horn screw" in ticks[0].fix
    assert mm[0].passed and mm[1].outcome is Outcome.FAIL and mm[1].unit == "mm"


def test_tracking_is_the_worst_steady_state_error_and_settle_time_is_advisory():
    ms = mechanics.check_tracking(returns(-30, 2), BOUNDS, Evidence.TWIN)
    error = by_check(ms, "tracking error")[0]
    assert error.value == pytest.approx(-30 * DEG_PER_TICK) and error.outcome is Outcome.FAIL
    assert "stops short of its goal" in error.cause
    slow = mechanics.check_tracking(mechanics.Returns(
        TARGET, np.full(6, 34.0), np.array([TARGET]), np.array([TARGET]), np.array([3.0]),
        np.zeros(6, bool)), BOUNDS, Evidence.TWIN)
    assert by_check(slow, "settle time")[0].outcome is Outcome.MARGINAL


def test_held_joints_are_not_judged():
    r = returns(-3, 3)
    held = mechanics.Returns(r.target, r.approach, r.below, r.above, r.settle_s,
                             np.array([False, False, True, False, False, False]))
    assert "elbow_flex" not in {m.joint for m in mechanics.check_backlash(held, BOUNDS,
                                                                          Evidence.TWIN)}


def test_spread_is_the_largest_distance_between_two_points():
    assert mechanics.spread_mm(np.array([[0, 0, 0], [0.003, 0.004, 0], [0.001, 0, 0]])) == \
        pytest.approx(5.0)


@pytest.mark.parametrize(("text", "message"), [
    ("elbow_flex:backlash", "backlash takes the gear play in deg"),
    ("elbow_flex:backlash=-1", "backlash takes the gear play in deg"),
    ("elbow_flex:backlash=25", "from 0 to 20"),
])
def test_a_bad_backlash_fault_is_one_line(text, message):
    with pytest.raises(So101ConfigError, match=message):
        TwinFault.parse(text)
    assert TwinFault.parse("gripper:backlash=0.5") == TwinFault(5, "backlash", 0.5)


def test_the_gear_play_is_a_play_operator():
    """The output settles half the play short of the goal, on the side it came from, and a
    goal moved back by less than the play does not move it."""
    arm = TwinArm(SimModel())
    arm.set_backlash(0, 1.0)
    arm.torque(0, True)
    half = np.deg2rad(0.5)
    arm.goal(0, 0.1)                                  # from 0, below the goal
    assert arm.data.ctrl[arm.sim.actuator_ids[0]] == pytest.approx(0.1 - half)
    arm.goal(0, 0.1 - np.deg2rad(0.8))                # back by less than the play: stays
    assert arm.data.ctrl[arm.sim.actuator_ids[0]] == pytest.approx(0.1 - half)
    arm.goal(0, -0.1)                                 # from above
    assert arm.data.ctrl[arm.sim.actuator_ids[0]] == pytest.approx(-0.1 + half)
    assert arm.backlash_deg()[:2] == pytest.approx([1.0, 0.0])


def test_backlash_measured_on_a_twin_with_half_a_degree_is_half_a_degree(tmp_path):
    """Every joint with a play of 0.5 deg: the sequence measures 0.5 within 0.1 deg on each
    (the encoder reads the output shaft; a tick is 0.088 deg), and the twin's observer
    agrees with the encoder."""
    cal = tmp_path / "twin.json"
    faults = [a for joint in MOTOR_NAMES for a in ("--twin-fault", f"{joint}:backlash=0.5")]
    with EmulatorProcess("--calibration-out", str(cal), *faults) as twin, \
            FeetechBus(twin.port) as bus:
        truth = twin.command(cmd="state")["backlash_deg"]
        calibration = load_calibration(cal)
        arm = Arm(bus, calibration, SafetyEnvelope.from_calibration(calibration))
        measured = mechanics.measure_returns(arm, BOUNDS, observe=twin.q_sim_rad)
        assert all(s["torque"] == 0 for s in twin.state().values())
    assert truth == [0.5] * 6
    backlash = mechanics.check_backlash(measured, BOUNDS, Evidence.TWIN)
    assert [m.joint for m in backlash] == list(MOTOR_NAMES)
    assert [abs(m.value - 0.5) <= 0.1 for m in backlash] == [True] * 6, \
        [m.summary() for m in backlash]
    assert all(m.passed for m in mechanics.check_against_observer(measured))


def test_a_worn_joint_fails_only_its_backlash_through_the_suite(run, tmp_path):
    """``--so101-twin-fault shoulder_lift:backlash=2.5`` (pytest's option): the mechanics
    suite fails on shoulder_lift's backlash alone, with the measured gap, cause and fix."""
    result = run(str(REPO / "suites" / "test_mechanics.py"), "--so101-twin-fault",
                 "shoulder_lift:backlash=2.5", "--so101-report", str(tmp_path),
                 "--so101-mapping", str(REPO / "fixtures/mapping/so101_degrees.toml"))
    result.assert_outcomes(failed=1)
    result.stdout.re_match_lines([r"shoulder_lift: backlash = 2\.\d+ deg \(limit \|value\| <= "
                                  r"1\.5 deg\) FAIL: .*Likely cause: shoulder_lift has 2\.\d+ "
                                  r"deg of play .*Fix: tighten shoulder_lift's horn screw"])
    record = json.loads((tmp_path / "so101-record.json").read_text())
    failing = [(m["joint"], m["check"]) for t in record["tests"] for m in t["measurements"]
               if m["outcome"] == "FAIL"]
    assert failing == [("shoulder_lift", "backlash")]
    mm = [m for t in record["tests"] for m in t["measurements"]
          if m["check"] == "repeatability at the gripper"]
    assert len(mm) == 6 and all(m["evidence"] == "twin" for m in mm)
