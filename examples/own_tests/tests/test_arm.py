"""The emulated arm on its bus: ticks and LeRobot's units of that same arm."""

import numpy as np

from pytest_so101.api import Measurement, RobotUnit, ticks_to_units, units_to_ticks


def test_what_the_arm_reads_converts_both_ways(so101_bus, so101_check):
    # the emulated arm is an arm of its own: convert its readings with its own calibration
    # (the servos carry it), not with the file under test
    calibration = so101_bus.read_calibration()
    ticks = so101_bus.read_positions()                                  # (6,) 0..4095
    units = [RobotUnit.DEGREES] * 5 + [RobotUnit.RANGE_0_100]
    robot = ticks_to_units(ticks, calibration, units)
    back = units_to_ticks(robot, calibration, units)
    worst = float(np.max(np.abs(back - ticks)))
    so101_check([Measurement("ticks -> units -> ticks", "all", worst, "ticks", None, 0.5)])
