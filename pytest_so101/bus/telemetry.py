"""Servo telemetry: what the six STS3215 say about themselves, as read off a bus:
identity, settings and health registers per servo, and short health traces.

Readings come from a bus through ``read_block`` (one READ of several registers, the status
error byte returned, not raised); the bus is passed in, so the twin's servos and a real arm
are read alike. The settings LeRobot writes when it connects are here too: the twin writes
them as LeRobot would, and the servo health checks (``checks/health.py``) compare a servo
with them.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from ..core.joints import MOTOR_NAMES

#: Present_Voltage and the voltage limits count 0.1 V, Present_Load 0.1 % of the maximum
#: torque.
UNITS_PER_VOLT = 10
UNITS_PER_PCT = 10
#: Phase bit 4: full-angle feedback; LeRobot 0.6 clears it (lerobot PR #3373).
PHASE_FULL_ANGLE = 0x10

#: Registers read per servo, one READ each block: identity and EEPROM settings (addresses
#: 0..36), torque and Acceleration (40, 41), Lock (55), the health readings (60..65), and
#: Maximum_Acceleration (85). None covers a position: two servos on one id answer these
#: alike (their settings and supply are the same); the scan names them.
EEPROM_BLOCK = ("Firmware_Major_Version", "Firmware_Minor_Version", "Model_Number", "ID",
                "Return_Delay_Time", "Max_Temperature_Limit", "Max_Voltage_Limit",
                "Min_Voltage_Limit", "Max_Torque_Limit", "Phase", "P_Coefficient",
                "D_Coefficient", "I_Coefficient", "Protection_Current", "Operating_Mode",
                "Overload_Torque")
TORQUE_BLOCK = ("Torque_Enable", "Acceleration")
HEALTH_BLOCK = ("Present_Load", "Present_Voltage", "Present_Temperature", "Status")
RECORD_BLOCKS = (EEPROM_BLOCK, TORQUE_BLOCK, ("Lock",), HEALTH_BLOCK, ("Maximum_Acceleration",))


@dataclass(frozen=True)
class Setting:
    """A register LeRobot writes when it connects an SO-101 (SOFollower.configure and
    configure_motors, LeRobot 0.6.1). ``persists``: EEPROM, kept over a power cycle; RAM
    ones LeRobot rewrites at every connect and a power cycle resets."""

    register: str
    value: int
    persists: bool = True
    joints: tuple[str, ...] = MOTOR_NAMES
    #: Written by the follower only (SOFollower.configure); a leader (SOLeader.configure)
    #: gets configure_motors and the operating mode.
    follower_only: bool = False


LEROBOT_SETTINGS = (
    Setting("Return_Delay_Time", 0),
    Setting("Operating_Mode", 0),
    Setting("P_Coefficient", 16, follower_only=True),
    Setting("I_Coefficient", 0, follower_only=True),
    Setting("D_Coefficient", 32, follower_only=True),
    Setting("Max_Torque_Limit", 500, joints=("gripper",), follower_only=True),
    Setting("Protection_Current", 250, joints=("gripper",), follower_only=True),
    Setting("Overload_Torque", 25, joints=("gripper",), follower_only=True),
    Setting("Acceleration", 254, persists=False),
    Setting("Maximum_Acceleration", 254, persists=False),
)


#: A servo's Return_Delay_Time as it leaves the factory (500 us; LeRobot's configure_motors
#: comment): still there, LeRobot never configured the servo.
FACTORY_RETURN_DELAY = 250
LEROBOT_CONNECT = ("connect the arm once with LeRobot (lerobot-calibrate, lerobot-teleoperate, "
                   "...: SOFollower.connect runs configure(), which writes them)")


def lerobot_settings(joint: str, *, leader: bool = False) -> dict[str, int]:
    """The register values LeRobot writes to this joint's servo of a follower (or of a
    leader) when it connects (Phase: bit 4 cleared)."""
    return {s.register: s.value for s in LEROBOT_SETTINGS
            if joint in s.joints and not (leader and s.follower_only)}


class _Bus(Protocol):
    def read_block(self, servo_id: int, names: Sequence[str]): ...


@dataclass(frozen=True)
class ServoRecord:
    """One servo's registers as read (decoded, by name) and the status error bits its
    replies carried; ``error`` says why it could not be read (then nothing else is known)."""

    servo_id: int
    joint: str
    registers: dict[str, int] = field(default_factory=dict)
    status: int = 0
    error: str = ""


@dataclass(frozen=True)
class HealthSample:
    """One servo's health at one moment: ``t_s`` since the trace began, supply (V),
    temperature (deg C), load (% of the maximum torque, signed), status error bits."""

    t_s: float
    servo_id: int
    joint: str
    voltage_v: float
    temperature_c: float
    load_pct: float
    status: int
    torque_on: bool
    error: str = ""


def read_records(bus: _Bus, ids: Sequence[int], joints: Sequence[str] = MOTOR_NAMES
                 ) -> list[ServoRecord]:
    """Identity, settings and health registers of every servo (RECORD_BLOCKS, five READs
    each); a servo that cannot be read gets a record naming the error."""
    records = []
    for servo_id, joint in zip(ids, joints, strict=True):
        try:
            blocks = [bus.read_block(servo_id, names) for names in RECORD_BLOCKS]
        except RuntimeError as exc:       # BusError: one line naming port, id, operation
            records.append(ServoRecord(servo_id, joint, error=str(exc)))
            continue
        registers = {k: v for b in blocks for k, v in b.values.items()}
        status = registers["Status"]
        for b in blocks:
            status |= b.status
        records.append(ServoRecord(servo_id, joint, registers, status))
    return records


def sample(bus: _Bus, ids: Sequence[int], joints: Sequence[str] = MOTOR_NAMES, *,
           t0: float | None = None, clock: Callable[[], float] = time.monotonic
           ) -> list[HealthSample]:
    """One health sample of every servo (two READs each); a servo that cannot be read
    gives a sample with ``error`` set and NaN readings."""
    start = clock() if t0 is None else t0
    out = []
    for servo_id, joint in zip(ids, joints, strict=True):
        try:
            torque = bus.read_block(servo_id, ("Torque_Enable",))
            block = bus.read_block(servo_id, HEALTH_BLOCK)
        except RuntimeError as exc:
            nan = float("nan")
            out.append(HealthSample(clock() - start, servo_id, joint, nan, nan, nan, 0, False,
                                    str(exc)))
            continue
        v = block.values
        out.append(HealthSample(clock() - start, servo_id, joint,
                                v["Present_Voltage"] / UNITS_PER_VOLT,
                                float(v["Present_Temperature"]),
                                v["Present_Load"] / UNITS_PER_PCT,
                                torque.status | block.status | v["Status"],
                                bool(torque.values["Torque_Enable"])))
    return out


def trace(bus: _Bus, ids: Sequence[int], joints: Sequence[str] = MOTOR_NAMES, *,
          samples: int = 3, interval_s: float = 0.1) -> list[HealthSample]:
    """A short health trace: ``samples`` samples of every servo, ``interval_s`` apart."""
    t0, out = time.monotonic(), []
    for k in range(samples):
        if k:
            time.sleep(interval_s)
        out += sample(bus, ids, joints, t0=t0)
    return out
