"""Servo health, read-only: what the six STS3215 say about themselves (docs/health.md).

Model number and firmware alike on all six, the supply within the band of the servo's
variant (7.4 V or 12 V motors, told by the servo's own voltage limits), temperature a
margin below the servo's Max_Temperature_Limit, no status error bit, no load at rest with
torque off, the EEPROM settings LeRobot writes when it connects, and a scan of the bus:
every id 0..253 pinged (about 0.4 s at 1 Mbaud), each joint's id answered by exactly one
servo, no other id answering. The health signals are a short trace (three samples, 0.1 s
apart), one measurement per joint per signal, plotted by the report.

Evidence: ``servo`` on a real arm (the servos' own registers), ``twin`` on the emulated
arm (the emulated servos report these values: nothing about a real arm). Nothing is
written to the servos. These run with the arm as the user left it, before anything moves.
"""

from __future__ import annotations

import pytest

from pytest_so101.bus import telemetry
from pytest_so101.core.joints import MOTOR_NAMES
from pytest_so101.plugin.suite_tools import judge

pytestmark = pytest.mark.so101_at_rest


@pytest.fixture(scope="module")
def records(so101_bus) -> list[telemetry.ServoRecord]:
    """Identity, settings and health registers of the six servos (five READs each)."""
    return telemetry.read_records(so101_bus, so101_bus.ids, MOTOR_NAMES)


@pytest.fixture(scope="module")
def trace(so101_bus) -> list[telemetry.HealthSample]:
    """Three health samples of each servo, 0.1 s apart."""
    return telemetry.trace(so101_bus, so101_bus.ids, MOTOR_NAMES)


@pytest.fixture(scope="module")
def read(records, trace, so101_inputs):
    return so101_inputs.with_readings(records=records, trace=trace)


def test_model_number_is_sts3215(read, so101_check):
    judge("servo-model", read, so101_check)


def test_firmware_alike_and_current(read, so101_check):
    judge("servo-firmware", read, so101_check)


def test_supply_voltage_in_the_variant_band(read, so101_check):
    judge("supply-voltage", read, so101_check)


def test_temperature_below_the_servo_limit(read, so101_check):
    judge("temperature", read, so101_check)


def test_no_status_error_bits(read, so101_check):
    judge("status-bits", read, so101_check)


def test_no_load_at_rest(read, so101_check):
    judge("load-at-rest", read, so101_check)


def test_settings_as_lerobot_writes_them(read, so101_check):
    judge("lerobot-settings", read, so101_check)


def test_every_id_answered_once_and_no_other(so101_bus, so101_inputs, so101_check):
    """A full scan at the configured baud: bounded (one ping every 1.5 ms, then the line
    going quiet; ``FeetechBus.scan_bound_s``), never a hang."""
    judge("bus-scan", so101_inputs.with_readings(scan=so101_bus.scan()), so101_check)
