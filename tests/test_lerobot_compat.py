"""LeRobot's own FeetechMotorsBus against the emulator, and LeRobot's normalization against
ours. Skipped when LeRobot is not installed; .ci/run installs it in a separate virtualenv
(domain.md section 9) and runs this file there."""

from __future__ import annotations

import os

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_so101 import strategies as so101_st
from pytest_so101.bus.process import EmulatorProcess
from pytest_so101.calibration import load_calibration
from pytest_so101.frames import RobotUnit, ticks_to_units, units_to_ticks
from pytest_so101.joints import MOTOR_NAMES
from tests.helpers import EXAMPLE_CALIBRATION

if os.environ.get("SO101_REQUIRE_LEROBOT"):        # CI's LeRobot virtualenv: never skip
    import lerobot.motors.feetech as feetech
else:
    feetech = pytest.importorskip(
        "lerobot.motors.feetech", reason="LeRobot is not installed (see domain.md section 9)")
from lerobot.motors import Motor, MotorCalibration, MotorNormMode

MODES = {RobotUnit.DEGREES: MotorNormMode.DEGREES,
         RobotUnit.RANGE_M100_100: MotorNormMode.RANGE_M100_100,
         RobotUnit.RANGE_0_100: MotorNormMode.RANGE_0_100}


def lerobot_bus(port: str, unit: RobotUnit = RobotUnit.DEGREES):
    """A FeetechMotorsBus set up as LeRobot's SO follower: the gripper always 0..100."""
    motors = {name: Motor(i + 1, "sts3215", MotorNormMode.RANGE_0_100 if name == "gripper"
                          else MODES[unit]) for i, name in enumerate(MOTOR_NAMES)}
    return feetech.FeetechMotorsBus(port, motors)


def lerobot_calibration(cal):
    return {name: MotorCalibration(**m.__dict__) for name, m in cal.motors.items()}


def test_lerobot_connects_configures_writes_and_reads_back_a_calibration():
    cal = load_calibration(EXAMPLE_CALIBRATION)
    with EmulatorProcess("--shaft", "simple", "--raw", "2=1300") as emulator:
        bus = lerobot_bus(emulator.port)
        bus.connect()                               # with the handshake: ping, firmware
        with bus.torque_disabled():
            bus.configure_motors()
        bus.disable_torque()                        # unlocks EEPROM, as LeRobot calibrates
        bus.write_calibration(lerobot_calibration(cal))
        assert bus.read_calibration() == lerobot_calibration(cal)
        assert bus.read("Return_Delay_Time", "elbow_flex", normalize=False) == 0
        state = emulator.state()
        assert [state[i]["homing"] for i in range(1, 7)] == cal.homing_offset.tolist()
        bus.disconnect()


@pytest.mark.parametrize("unit", [RobotUnit.DEGREES, RobotUnit.RANGE_M100_100])
def test_lerobot_sync_read_agrees_with_our_frames(unit):
    cal = load_calibration(EXAMPLE_CALIBRATION)
    with EmulatorProcess("--calibration", str(EXAMPLE_CALIBRATION)) as emulator:
        bus = lerobot_bus(emulator.port, unit)
        bus.connect()
        bus.calibration = lerobot_calibration(cal)
        ticks = bus.sync_read("Present_Position", normalize=False)
        theirs = bus.sync_read("Present_Position")
        units = tuple(RobotUnit.RANGE_0_100 if n == "gripper" else unit for n in MOTOR_NAMES)
        ours = ticks_to_units(np.array([ticks[n] for n in MOTOR_NAMES]), cal, units)
        assert [theirs[n] for n in MOTOR_NAMES] == ours.tolist()
        bus.disconnect()


@pytest.mark.parametrize("unit", list(MODES))
@settings(max_examples=200, deadline=None)
@given(cal=so101_st.calibrations(), data=st.data())
def test_our_conversions_equal_lerobot_normalize_and_unnormalize(unit, cal, data):
    bus = lerobot_bus("/dev/null")
    for motor in bus.motors.values():
        motor.norm_mode = MODES[unit]
    bus.calibration = lerobot_calibration(cal)
    units = (unit,) * 6
    ticks = np.array(data.draw(st.lists(st.integers(0, 4095), min_size=6, max_size=6)))
    theirs = bus._normalize(dict(zip(range(1, 7), ticks.tolist(), strict=True)))
    assert [theirs[i] for i in range(1, 7)] == ticks_to_units(ticks, cal, units).tolist()
    values = np.array(data.draw(st.lists(st.floats(-300, 300), min_size=6, max_size=6)))
    back = bus._unnormalize(dict(zip(range(1, 7), values.tolist(), strict=True)))
    assert [back[i] for i in range(1, 7)] == units_to_ticks(values, cal, units).tolist()
