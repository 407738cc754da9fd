"""Servo health (pytest_so101/checks/health.py, suites/test_servo_health.py, so101-monitor): each
check on made-up readings, with its failure message; the bus scan on emulated faults;
and every new emulated fault failing exactly its check, through the suite on the
hardware path."""

from __future__ import annotations

import csv
import json
import re

import pytest

from pytest_so101.bus import telemetry
from pytest_so101.bus.feetech import BusScan, FeetechBus
from pytest_so101.bus.process import EmulatorProcess
from pytest_so101.bus.servo import DEFAULTS
from pytest_so101.checks import health
from pytest_so101.cli import monitor as monitor_cli
from pytest_so101.core.joints import MOTOR_IDS, MOTOR_NAMES
from pytest_so101.core.measurement import Evidence, Outcome
from tests.helpers import REPO

EV = Evidence.SERVO
CONFIGURED = {**DEFAULTS, "Return_Delay_Time": 0, "P_Coefficient": 16, "Acceleration": 254}


def record(joint: str = "elbow_flex", status: int = 0, **registers: int) -> telemetry.ServoRecord:
    regs = {**CONFIGURED, **telemetry.lerobot_settings(joint), **registers}
    return telemetry.ServoRecord(MOTOR_NAMES.index(joint) + 1, joint, regs, status)


def sample(joint: str = "elbow_flex", *, volts: float = 7.4, celsius: float = 28,
           load: float = 0.0, status: int = 0, torque: bool = False) -> telemetry.HealthSample:
    return telemetry.HealthSample(0.0, MOTOR_NAMES.index(joint) + 1, joint, volts, celsius, load,
                               status, torque)


def only(measurements):
    (m,) = measurements
    return m


# -- the checks on made-up readings -------------------------------------------------------

def test_a_healthy_servo_passes_every_check():
    rec, s = record(), sample()
    for m in (*health.check_model([rec], EV), *health.check_firmware([rec], EV),
              *health.check_supply([s], [rec], EV), *health.check_temperature([s], [rec], EV),
              *health.check_load_at_rest([s], EV), *health.check_status([s], [rec], EV),
              *health.check_lerobot_settings([rec], EV)):
        assert m.outcome is Outcome.PASS, m.summary()


def test_seven_volt_motors_on_a_twelve_volt_supply_are_named():
    m = only(health.check_supply([sample(volts=12.1)], [record()], EV))
    assert m.outcome is Outcome.FAIL and (m.low, m.high) == (4.5, 8.4)
    assert "7.4 V motors on a 12 V supply" in m.cause and "lerobot #2387" in m.cause
    assert "power the arm from a 7.4 V supply (4.5..8.4 V)" in m.fix


def test_twelve_volt_motors_on_a_seven_volt_supply_are_named():
    twelve_volt = record(Max_Voltage_Limit=140, Min_Voltage_Limit=90)
    m = only(health.check_supply([sample(volts=5.0)], [twelve_volt], EV))
    assert m.outcome is Outcome.FAIL and (m.low, m.high) == (9.0, 12.6)
    assert m.cause.startswith("12 V motors on a 7.4 V supply")
    assert "fit 7.4 V motors" in m.fix


def test_a_sagging_supply_and_limits_that_admit_both_variants():
    m = only(health.check_supply([sample(volts=7.4), sample(volts=3.9)], [record()], EV))
    assert m.value == 3.9 and "outside the 4.5..8.4 V band" in m.cause
    both = record(Max_Voltage_Limit=140, Min_Voltage_Limit=40)
    assert only(health.check_supply([sample(volts=12.0)], [both], EV)).passed
    assert "either variant" in only(health.check_supply([sample()], [both], EV)).detail


def test_temperature_within_the_margin_of_the_servo_limit_fails():
    m = only(health.check_temperature([sample(celsius=55), sample(celsius=61)],
                                      [record(Max_Temperature_Limit=70)], EV))
    assert m.outcome is Outcome.FAIL and m.value == 61 and m.high == 60
    assert m.summary().startswith("elbow_flex: temperature = 61 deg C (limit <= 60 deg C) FAIL")
    assert "within 9 deg C of its limit" in m.cause and "let elbow_flex cool" in m.fix


def test_load_at_rest_fails_with_torque_off_and_is_advisory_with_torque_on():
    off = only(health.check_load_at_rest([sample(load=-12.5)], EV))
    assert off.outcome is Outcome.FAIL and off.value == -12.5 and "lockup" in off.cause
    on = only(health.check_load_at_rest([sample(load=30, torque=True)], EV))
    assert on.outcome is Outcome.MARGINAL and "advisory" in on.detail


def test_status_bits_are_named_with_a_fix_for_each():
    m = only(health.check_status([sample(status=0x20)], [record(status=0x04)], EV))
    assert m.value == 2 and "overheat and overload" in m.cause
    assert "let it cool" in m.fix and "power-cycle" in m.fix


def test_firmware_behind_the_others_or_older_than_3_10():
    old = [record(j, Firmware_Minor_Version=9 if j == "wrist_flex" else 10)
           for j in MOTOR_NAMES]
    failed = [m for m in health.check_firmware(old, EV) if not m.passed]
    assert [m.joint for m in failed] == ["wrist_flex"]
    assert "reads 3.9; the newest on the arm 3.10" in failed[0].detail
    assert "lerobot #1010" in failed[0].cause and "update wrist_flex's firmware to 3.10" \
        in failed[0].fix
    all_old = [record(j, Firmware_Minor_Version=9) for j in MOTOR_NAMES]
    assert not any(m.passed for m in health.check_firmware(all_old, EV))


def test_a_servo_of_another_model_fails_its_model_check():
    m = only(health.check_model([record(Model_Number=2825)], EV))
    assert m.outcome is Outcome.FAIL and "not an STS3215" in m.cause


def test_factory_settings_are_named_register_by_register():
    factory = telemetry.ServoRecord(6, "gripper", dict(DEFAULTS, Phase=0x1C), 0)
    eeprom, ram = health.check_lerobot_settings([factory], EV)
    assert eeprom.outcome is Outcome.FAIL and eeprom.value == 6
    for said in ("Return_Delay_Time 250 (LeRobot writes 0)", "P_Coefficient 32 (LeRobot "
                 "writes 16)", "Max_Torque_Limit 1000 (LeRobot writes 500)",
                 "Protection_Current 500 (LeRobot writes 250)", "Overload_Torque 80 (LeRobot "
                 "writes 25)", "Phase 0x1c (LeRobot writes bit 4 cleared)"):
        assert said in eeprom.detail
    assert eeprom.cause.startswith("not configured by LeRobot: gripper's servo still has the "
                                   "factory Return_Delay_Time 250")
    assert "connect the arm once with LeRobot" in eeprom.fix and "P_Coefficient = 16" \
        in eeprom.fix
    assert ram.outcome is Outcome.MARGINAL and "Acceleration 0 (LeRobot writes 254)" \
        in ram.detail


def test_a_setting_changed_after_lerobot_is_not_called_unconfigured():
    m = health.check_lerobot_settings([record(D_Coefficient=0)], EV)[0]
    assert m.value == 1 and "changed since LeRobot configured it" in m.cause


def test_an_unreadable_servo_fails_every_check_with_the_bus_error():
    rec = telemetry.ServoRecord(3, "elbow_flex", error="/dev/x: id 3 (elbow_flex): no reply")
    for m in (*health.check_model([rec], EV), *health.check_lerobot_settings([rec], EV)):
        assert m.outcome is Outcome.FAIL and "no reply" in m.detail


def test_the_scan_names_missing_duplicated_and_stray_ids():
    scan = BusScan(1_000_000, tuple(range(254)), {1: 1, 2: 2, 4: 1, 5: 1, 6: 1, 9: 1},
                   {4: "bad checksum in its reply"}, 0.41)
    ms = {m.joint: m for m in health.check_bus_scan(scan, MOTOR_IDS, MOTOR_NAMES, EV)}
    assert [j for j, m in ms.items() if not m.passed] == ["shoulder_lift", "elbow_flex",
                                                           "wrist_flex", "bus"]
    assert ms["elbow_flex"].value == 0 and "lerobot #1603" in ms["elbow_flex"].cause
    assert "2 replies to one ping" in ms["shoulder_lift"].detail
    assert "its replies collide (bad checksum" in ms["wrist_flex"].detail
    assert ms["bus"].value == 1 and "ids 9 answered besides 1, 2" in ms["bus"].detail
    assert "in 0.41 s; other ids answering: 9" in ms["shoulder_pan"].detail
    clean = BusScan(1_000_000, tuple(range(254)), dict.fromkeys(MOTOR_IDS, 1), {}, 0.4)
    assert [m.joint for m in health.check_bus_scan(clean, MOTOR_IDS, MOTOR_NAMES, EV)] == \
        list(MOTOR_NAMES)                                   # no `bus` row when none stray


# -- on the emulated bus -------------------------------------------------------------------

def test_a_scan_of_the_emulated_bus_sees_a_missing_a_doubled_and_a_stray_servo():
    with EmulatorProcess("--shaft", "simple", "--ids", "1,2,3,4,5,6,9", "--fault",
                         "3:missing", "--fault", "2:duplicate", "--fault",
                         "5:duplicate_id") as emu, FeetechBus(emu.port) as bus:
        scan = bus.scan()
        assert scan.scanned == tuple(range(254)) and scan.elapsed_s > 0
        assert scan.replies == {1: 1, 2: 2, 4: 1, 5: 1, 6: 1, 9: 1}
        assert set(scan.collided) == {5} and "checksum" in scan.collided[5]
        assert bus.read("Present_Voltage", 1) == 74       # the bus is usable afterwards


def test_an_unconfigured_servo_on_the_bus_is_named(tmp_path):
    """``--shaft simple`` servos are as shipped: LeRobot never configured them."""
    with EmulatorProcess("--shaft", "simple") as emu, FeetechBus(emu.port) as bus:
        records = telemetry.read_records(bus, MOTOR_IDS)
    failed = [m for m in health.check_lerobot_settings(records, EV) if not m.passed]
    assert {m.joint for m in failed} == set(MOTOR_NAMES)
    assert all("not configured by LeRobot" in m.cause for m in failed)


def test_every_new_fault_fails_exactly_its_check_on_the_hardware_path(run, tmp_path):
    """One emulated arm, a fault per servo: each check fails on exactly that joint."""
    faults = ["1:voltage=12", "2:temperature=65", "3:load=30", "4:firmware=3.9",
              "5:duplicate_id", "6:error=32"]
    with EmulatorProcess(*[a for f in faults for a in ("--fault", f)]) as twin:
        result = run(str(REPO / "suites" / "test_servo_health.py"), "--hardware",
                     "--so101-port", twin.port, "--so101-report", str(tmp_path))
    out = result.stdout.str()
    expected = {
        "supply voltage": (r"shoulder_pan: supply voltage = 12 V \(limit \[4.5, 8.4\] V\) FAIL: "
                           r".*Likely cause: 7.4 V motors on a 12 V supply.*Fix: power the arm "
                           r"from a 7.4 V supply"),
        "temperature": (r"shoulder_lift: temperature = 65 deg C \(limit <= 60 deg C\) FAIL: .*"
                        r"Max_Temperature_Limit 70 deg C.*Fix: switch torque off"),
        "load at rest": (r"elbow_flex: load at rest = 30 % \(limit \|value\| <= 5 %\) FAIL: .*"
                         r"torque off\. Likely cause: .*lockup.*Fix: power-cycle the arm"),
        "firmware behind": (r"wrist_flex: firmware behind = 1 versions .* FAIL: reads 3\.9.*"
                            r"lerobot #1010.*Fix: update wrist_flex's firmware to 3\.10"),
        "servos answering on the id": (r"wrist_roll: servos answering on the id = 2 servos .* "
                                       r"FAIL: id 5: its replies collide.*Fix: connect the "
                                       r"servos of id 5 one at a time"),
        "status errors": (r"gripper: status errors = 1 conditions .* FAIL: status bits 0x20 "
                          r"\(overload\).*Fix: remove the obstruction"),
    }
    for check, pattern in expected.items():
        result.stdout.re_match_lines([pattern])
        fails = [line for line in out.splitlines()
                 if re.match(rf"\w+: {check} = .* FAIL", line)]
        assert len(fails) == 1, (check, fails)
    result.assert_outcomes(failed=6, passed=2)


# -- so101-monitor -------------------------------------------------------------------------

def test_monitor_writes_csv_and_a_live_view_naming_what_fails(tmp_path, capsys):
    out = tmp_path / "health.csv"
    with EmulatorProcess("--shaft", "simple", "--fault", "2:temperature=66") as emu:
        assert monitor_cli.main(["--port", emu.port, "--samples", "2", "--rate", "50",
                                 "--out", str(out)]) == 0
        assert all(s["torque"] == 0 for s in emu.state().values())     # read-only
    rows = list(csv.DictReader(out.open()))
    assert len(rows) == 12 and rows[1]["joint"] == "shoulder_lift"
    assert float(rows[1]["temperature_c"]) == 66 and float(rows[0]["voltage_v"]) == 7.4
    view = capsys.readouterr().out.splitlines()
    assert len(view) == 12 and view[1].startswith("shoulder_lift  id 2")
    assert view[1].endswith("! temperature") and "!" not in view[0]


def test_monitor_json_lines_to_stdout_and_one_line_errors(tmp_path, capsys):
    with EmulatorProcess("--shaft", "simple", "--fault", "6:voltage=12.2") as emu:
        assert monitor_cli.main(["--port", emu.port, "--samples", "1", "--out", "-",
                                 "--format", "jsonl"]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [row["joint"] for row in lines] == list(MOTOR_NAMES)
    assert lines[5]["voltage_v"] == 12.2
    assert monitor_cli.main(["--port", str(tmp_path / "nope"), "--samples", "1"]) == 1
    assert "no such port" in capsys.readouterr().err
    assert monitor_cli.main(["--port", "x", "--ids", "1,300"]) == 2


@pytest.mark.parametrize("kind", ["voltage", "temperature", "load", "firmware"])
def test_health_faults_need_a_value(kind):
    with pytest.raises(ValueError, match=f"{kind} needs a value"):
        from pytest_so101.bus.servo import HealthFaults

        HealthFaults().set(kind)
