"""pytest_so101.api: the read-only checks of an arm at connect (what LeRobot's checked
follower runs before LeRobot's bus connects), on the twin through a real pty and the
unmodified scservo_sdk; and the bundled LeRobot maps it uses without a checkout."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from pytest_so101.api import AT_CONNECT, check_at_connect, robot_units_guard
from pytest_so101.bus.feetech import FeetechBus
from pytest_so101.bus.process import EmulatorProcess
from pytest_so101.core.calibration import load_calibration
from pytest_so101.core.frames import expand_units
from pytest_so101.core.joints import MOTOR_IDS
from pytest_so101.core.lerobot_maps import bundled_map_text, lerobot_mapping
from pytest_so101.core.mapping import load_mapping
from pytest_so101.core.stats import load_stats
from pytest_so101.sim.model import rest_pose_of
from tests.helpers import EXAMPLE_CALIBRATION, FIXTURES, MAPPINGS, raises_config_error

DEGREES = lerobot_mapping(True)
REST = rest_pose_of(DEGREES)
SCENARIOS = FIXTURES / "scenarios"


def untouched(emulator: EmulatorProcess) -> dict[int, tuple[int, int]]:
    """Per servo, the writes it received and the times torque was switched on."""
    return {i: (s["writes"], s["torque_switched_on"]) for i, s in emulator.state().items()}


def open_fds_to(port: str) -> list[str]:
    """This process's file descriptors open on ``port``."""
    fds = Path("/proc/self/fd")
    return [fd.name for fd in fds.iterdir() if os.path.realpath(fd) == os.path.realpath(port)]


@pytest.fixture(scope="module")
def arm(tmp_path_factory):
    """A twin folded at rest that calibrated itself, and its file: healthy."""
    path = tmp_path_factory.mktemp("arm") / "arm.json"
    with EmulatorProcess("--start", "rest", "--calibration-out", str(path)) as emulator:
        emulator.calibration = load_calibration(path)
        yield emulator
        emulator.clear_faults()


def test_the_bundled_maps_are_the_fixture_files():
    """One source: the maps in code are what fixtures/mapping holds, byte for byte, and
    load to the same map."""
    for name, use_degrees in (("so101_degrees", True), ("so101_range", False)):
        assert bundled_map_text(name) == (MAPPINGS / f"{name}.toml").read_text()
        mine, theirs = lerobot_mapping(use_degrees), load_mapping(MAPPINGS / f"{name}.toml")
        q = np.deg2rad([10.0, -20.0, 30.0, -40.0, 50.0, 60.0])
        cal = load_calibration(EXAMPLE_CALIBRATION)
        assert np.array_equal(mine.for_calibration(cal).sim_to_robot.apply(q),
                              theirs.for_calibration(cal).sim_to_robot.apply(q))
        assert mine.robot_units == expand_units("degrees" if use_degrees else "range_m100_100")


def test_a_healthy_arm_at_rest_passes_every_check_and_nothing_is_written(arm):
    before = untouched(arm)
    report = check_at_connect(arm.port, arm.calibration, DEGREES, rest=REST)
    assert report.ok, report.problems
    assert report.checked == AT_CONNECT
    assert report.notes == () and report.marginal == ()
    assert untouched(arm) == before
    assert open_fds_to(arm.port) == []                 # the port is closed again
    assert report.elapsed_s < 5                        # bounded (figures: docs/benchmarks.md)


def test_an_arm_not_folded_is_said_so_and_its_rest_pose_not_judged(arm):
    arm.place("zero")
    try:
        report = check_at_connect(arm.port, arm.calibration, DEGREES, rest=REST)
    finally:
        arm.place("rest")
    assert report.ok
    assert "rest-reading" not in report.checked
    assert len(report.notes) == 1 and report.notes[0].startswith(
        "rest pose not checked: the arm is not folded in its rest pose: it stands near the "
        "middle of each joint's travel, where it was held while calibrating")


@pytest.mark.parametrize(("fault", "check", "value"), [
    ("voltage=12", "supply voltage = 12 V", "7.4 V motors on a 12 V supply"),
    ("temperature=68", "temperature = 68 deg C", "within 2 deg C of its limit"),
    ("error=32", "status errors = 1 conditions", "overload"),
])
def test_a_servo_health_fault_refuses_naming_the_joint(arm, fault, check, value):
    kind, _, number = fault.partition("=")
    arm.fault(4, kind, float(number) if kind != "error" else int(number))
    try:
        report = check_at_connect(arm.port, arm.calibration, DEGREES, rest=REST)
    finally:
        arm.clear_faults()
    assert len(report.problems) == 1, report.problems
    assert report.problems[0].startswith(f"wrist_flex: {check}")
    assert value in report.problems[0] and "Fix:" in report.problems[0]


def test_another_arms_file_refuses_on_the_registers(arm):
    report = check_at_connect(arm.port, load_calibration(EXAMPLE_CALIBRATION), DEGREES,
                              rest=REST)
    assert not report.ok
    assert any(p.startswith("shoulder_pan: servo homing_offset - file") and "another arm" in p
               for p in report.problems), report.problems


def test_torque_found_on_is_switched_off_when_refusing_and_left_alone_otherwise(arm):
    counted = untouched(arm)[2]
    with FeetechBus(arm.port) as bus:
        bus.write("Lock", 2, 0)
        bus.write("Torque_Enable", 2, 1)
    before = untouched(arm)
    assert before[2] == (counted[0] + 2, counted[1] + 1)     # the twin counts what it got
    assert check_at_connect(arm.port, arm.calibration, DEGREES, rest=REST).ok
    assert untouched(arm) == before and arm.state()[2]["torque"] == 1
    arm.fault(2, "voltage", 12.0)
    try:
        report = check_at_connect(arm.port, arm.calibration, DEGREES, rest=REST)
    finally:
        arm.clear_faults()
    assert report.torque_switched_off == ("shoulder_lift",)
    assert [arm.state()[i]["torque"] for i in MOTOR_IDS] == [0] * 6
    assert open_fds_to(arm.port) == []


def test_a_port_without_an_arm_is_one_problem_line(tmp_path):
    report = check_at_connect(str(tmp_path / "ttyACM9"), load_calibration(EXAMPLE_CALIBRATION),
                              DEGREES, rest=REST)
    assert len(report.problems) == 1 and "\n" not in report.problems[0]
    assert "no such port" in report.problems[0] and str(tmp_path) in report.problems[0]


def test_without_a_calibration_only_the_servos_health_is_judged(arm):
    report = check_at_connect(arm.port, None, DEGREES, rest=REST)
    assert report.ok and report.checked == ("status-bits", "supply-voltage", "temperature")


def test_a_mirrored_elbow_at_rest_refuses_naming_elbow_flex_alone(tmp_path):
    path = tmp_path / "mirrored.json"
    with EmulatorProcess("--start", "rest", "--twin-fault", "elbow_flex:mirror",
                         "--calibration-out", str(path)) as emulator:
        before = untouched(emulator)
        report = check_at_connect(emulator.port, load_calibration(path), DEGREES, rest=REST)
        assert untouched(emulator) == before
    assert len(report.problems) == 1, report.problems
    assert report.problems[0].startswith("elbow_flex: rest reading vs mapped rest pose")
    assert "direction reversed: a mirrored motor" in report.problems[0]


@pytest.mark.parametrize(("stats", "failing"), [
    ("degrees_policy_on_degrees_robot/stats.json", []),
    ("smolvla_legacy_frame/stats", ["shoulder_lift", "elbow_flex"]),
    ("radians_for_degrees_stats/stats.json", ["shoulder_pan", "shoulder_lift", "elbow_flex",
                                              "wrist_flex", "wrist_roll", "gripper"]),
])
def test_the_stats_frame_against_the_robots_units(stats, failing):
    """Files only: a bus that is not there fails once, the stats checks judge anyway."""
    cal = load_calibration(SCENARIOS / "degrees_policy_on_degrees_robot/calibration.json")
    report = check_at_connect("/nonexistent/ttyACM0", cal, DEGREES,
                              load_stats(SCENARIOS / stats), rest=REST)
    frame = [p for p in report.problems if "stats frame fingerprint" in p]
    assert [p.split(":")[0] for p in frame] == failing
    assert len(report.problems) == len(failing) + 1 and "no such port" in report.problems[0]
    assert {"robot-units-vs-policy-frame", "stats-frame"} <= set(report.checked)


def test_a_mapping_in_other_units_than_the_robot_is_one_line():
    robot_units_guard(DEGREES, expand_units("degrees"))
    with raises_config_error(MAPPINGS / "so101_range.toml", "shoulder_pan", "range_m100_100",
                             "use_degrees"):
        robot_units_guard(load_mapping(MAPPINGS / "so101_range.toml"), expand_units("degrees"))
