"""A virtual STS3215: register file, instruction semantics, faults, and a pluggable shaft.

The model (documented where real servos leave room):

- EEPROM is addresses 0..39; while ``Lock`` is 1 (the power-on value) writes to it are
  ignored, as LeRobot expects (it writes ``Lock = 0`` before configuring).
- Read-only registers (firmware, model, Present_*) ignore writes.
- ``Present_Position = (raw - Homing_Offset) mod 4096`` (docs/domain.md section 7), with
  Homing_Offset sign-magnitude (bit 11) and Goal/Present_Position bit 15.
- ``Goal_Position`` is clamped into [Min_Position_Limit, Max_Position_Limit]; while
  torque is off it follows Present_Position, so enabling torque holds the pose.
- ``Phase`` (address 18, EEPROM) starts at 12; its bit 4 (0x10) is the angle feedback
  mode: set, Present_Position reports the full angle instead of the single-turn one
  (LeRobot >= 0.6 clears the bit in ``configure_motors``).
- A 7.4 V STS3215 (C001) on a 7.4 V supply at room temperature: Present_Voltage 7.4 V,
  Present_Temperature 28 deg C, Max_Voltage_Limit 8.0 V (below 12 V: such a servo reports
  an input voltage error on a 12 V supply, lerobot #1010, #2387; the exact factory value
  is assumed), Max_Temperature_Limit 70 deg C. ``Status`` mirrors the status error bits.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, fields
from functools import lru_cache
from typing import Protocol

from ..core.frames import RESOLUTION, decode_register, encode_register
from .protocol import EEPROM_END, MEMORY_SIZE, MODEL_STS3215, REGISTERS, from_le, to_le

FIRMWARE = (3, 10)
#: Phase bit 4: angle feedback mode, 0 single-turn (0..4095), 1 full angle (Feetech's STS
#: memory table, "special bytes"; lerobot PR #3373 clears it so readings stay in 0..4095).
PHASE_FULL_ANGLE = 0x10
#: Phase at power-on. The STS3215's factory value was not found in any source at hand
#: (LeRobot's configure_motors comment and the Feetech memory tables reached give none);
#: 12 (0x0C: bits 2 and 3, bit 4 clear) is what LeRobot 0.6.1 itself writes to the
#: STS3215s of its openarm_mini teleoperator, and it keeps the single-turn feedback
#: LeRobot expects.
PHASE_DEFAULT = 12
DEFAULTS = {
    "Firmware_Major_Version": FIRMWARE[0], "Firmware_Minor_Version": FIRMWARE[1],
    "Model_Number": MODEL_STS3215, "Baud_Rate": 0, "Return_Delay_Time": 250,
    "Response_Status_Level": 1, "Min_Position_Limit": 0, "Max_Position_Limit": 4095,
    "Max_Temperature_Limit": 70, "Max_Voltage_Limit": 80, "Min_Voltage_Limit": 40,
    "Max_Torque_Limit": 1000, "Phase": PHASE_DEFAULT, "P_Coefficient": 32, "D_Coefficient": 32,
    "I_Coefficient": 0, "Protection_Current": 500, "Angular_Resolution": 1,
    "Homing_Offset": 0, "Operating_Mode": 0, "Overload_Torque": 80, "Torque_Enable": 0,
    "Acceleration": 0, "Torque_Limit": 1000, "Lock": 1, "Present_Voltage": 74,
    "Present_Temperature": 28, "Maximum_Acceleration": 254,
}
READ_ONLY = {a for r in REGISTERS.values() if not r.writable
             for a in range(r.address, r.address + r.size)}
#: Default top speed of the simple shaft: ~270 deg/s, an STS3215 at 7.4 V unloaded.
DEFAULT_SPEED_TICKS_PER_S = 3000.0
#: What a healthy servo of the emulated arm reads: its supply (V) and temperature (deg C).
SUPPLY_V = 7.4
AMBIENT_C = 28.0


#: Present_Load full scale: 1000 = 100 % of the servo's maximum torque (0.1 % units).
LOAD_FULL_SCALE = 1000


@lru_cache(maxsize=1 << 16)
def _decoded(name: str, raw: int) -> int:
    """A register's signed value (frames' formula, on numpy): every read of a servo needs a
    few, and numpy costs ~10 us a scalar; the reply path must stay well under a ms."""
    return int(decode_register(name, raw))


@lru_cache(maxsize=1 << 16)
def _encoded(name: str, value: int) -> int:
    """A signed value's register encoding (as :func:`_decoded`, the other way)."""
    return int(encode_register(name, value))


class Shaft(Protocol):
    """What turns behind a servo, in raw encoder ticks (float, not wrapped: mod 4096 is
    what the encoder reads)."""

    def raw(self, now: float) -> float: ...

    def drive(self, now: float, goal_raw: float | None) -> None:
        """Hold/move toward ``goal_raw`` (None: torque off, passive)."""

    def load(self, now: float) -> float:
        """Torque the motor applies, as a fraction of its maximum, positive toward
        increasing raw ticks (0 when passive)."""


class SimpleShaft:
    """Moves toward its goal at a bounded speed, straight in the servo's own frame."""

    def __init__(self, raw: float = 2048.0, speed: float = DEFAULT_SPEED_TICKS_PER_S) -> None:
        self._raw = float(raw)
        self._goal: float | None = None
        self._speed = speed
        self._t: float | None = None

    def _advance(self, now: float) -> None:
        if self._t is not None and self._goal is not None:
            step = self._speed * max(0.0, now - self._t)
            delta = self._goal - self._raw
            self._raw += max(-step, min(step, delta))
        self._t = now

    def raw(self, now: float) -> float:
        self._advance(now)
        return self._raw

    def drive(self, now: float, goal_raw: float | None) -> None:
        self._advance(now)
        self._goal = goal_raw

    def set_raw(self, raw: float) -> None:
        """Move the shaft by hand (a person turning a passive joint)."""
        self._raw = float(raw)

    def load(self, now: float) -> float:
        """No mass behind it: no load."""
        return 0.0


@dataclass
class Faults:
    """Faults of one servo; all off by default. Change them at run time too."""

    missing: bool = False        # never answers
    corrupt: bool = False        # replies with a wrong checksum
    duplicate: bool = False      # sends every reply twice
    late_ms: float = 0.0         # replies this late (past the SDK's ~35 ms timeout)
    truncated: int = 0           # drops this many bytes from the end of each reply
    garbage_bytes: int = 0       # this many random bytes of line noise before each reply
    noise_ticks: int = 0         # Present_Position read noise, uniform +-noise_ticks
    error_bits: int = 0          # error byte of every status packet (ErrorBit flags)
    drop: int = 0                # swallows the next N replies (a transient glitch)

    #: (CLI name, field, what the number is, largest value) of the faults taking a number.
    NUMERIC = (
        ("late", "late_ms", "milliseconds", 60_000),
        ("truncated", "truncated", "a whole number of bytes", 255),
        ("garbage", "garbage_bytes", "a whole number of bytes", 1000),
        ("noise", "noise_ticks", "a whole number of ticks", 2048),
        ("error", "error_bits", "status bits (1 voltage, 2 angle, 4 overheat, "
         "8 overcurrent, 32 overload)", 0x7F),
        ("drop", "drop", "a whole number of replies", 1_000_000),
    )
    FLAGS = ("missing", "corrupt", "duplicate")
    KINDS = (*FLAGS, *(spec[0] for spec in NUMERIC))

    def swallow(self) -> bool:
        """True (one less to go) while ``drop`` replies remain to be swallowed."""
        if self.drop > 0:
            self.drop -= 1
            return True
        return False

    def set(self, kind: str, value: str | float | bool = True) -> None:
        """Set a fault by its CLI name (``noise``, ``late``...) from a CLI string or a
        JSON value; a bad kind or value is a ValueError of one line."""
        if kind in self.FLAGS:
            setattr(self, kind, _flag(kind, value))
            return
        spec = next((spec for spec in self.NUMERIC if spec[0] == kind), None)
        if spec is None:
            raise ValueError(f"unknown fault {kind!r}; expected one of {', '.join(self.KINDS)}")
        _, name, what, largest = spec
        whole = isinstance(getattr(self, name), int)
        number = _fault_number(kind, value, what, 0, largest, whole)
        setattr(self, name, int(number) if whole else number)

    def active(self) -> dict[str, float | int | bool]:
        """The faults that are on, by field name (for the control socket's ``state``)."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) != f.default}


def _fault_number(kind: str, value: str | float | bool, what: str, low: float, high: float,
                  whole: bool = False) -> float:
    """A numeric fault's value from a CLI string or a JSON number, within [low, high] (and
    whole when asked); a ValueError of one line naming the fault otherwise."""
    span = f"from {low:.15g} to {high:.15g}"
    if value is True:
        raise ValueError(f"{kind} needs a value ({kind}=N): {what} {span}")
    try:
        if isinstance(value, bool):
            raise ValueError
        number = float(value)
    except (TypeError, ValueError):
        number = float("nan")
    if not low <= number <= high or (whole and number != int(number)):
        raise ValueError(f"{kind} takes {what} {span}, got {value!r}")
    return number


def _flag(kind: str, value: str | float | bool) -> bool:
    """A flag fault's value: none (on), or 0/1, true/false; a ValueError otherwise."""
    flag = {"": True, "1": True, "true": True, "0": False, "false": False}.get(
        str(value).strip().lower())
    if flag is None:
        raise ValueError(f"{kind} takes no value (or 0/1), got {value!r}")
    return flag


@dataclass
class HealthFaults:
    """What a servo reports about itself, and a second servo on its id; all off by default.

    ``voltage`` (V) and ``temperature`` (deg C) replace the readings; ``load`` (% of the
    maximum torque) is added to Present_Load, torque on or off (a servo still driving its
    motor); ``firmware`` (``X.Y``) replaces the version registers; ``duplicate_id`` puts a
    second servo on the id: it hears every request to that id and answers at the same
    moment, so the two replies collide on the wire (a wired AND: a driven low wins). None
    of them sets a status error bit: add ``error=BITS`` for a servo that also reports one.
    """

    voltage_v: float | None = None
    temperature_c: float | None = None
    load_pct: float | None = None
    firmware: str | None = None
    duplicate_id: bool = False

    #: (CLI name, field, what the number is, smallest, largest).
    NUMERIC = (
        ("voltage", "voltage_v", "volts", 0.0, 25.5),
        ("temperature", "temperature_c", "degrees C", 0.0, 150.0),
        ("load", "load_pct", "percent of the maximum torque", -100.0, 100.0),
    )
    KINDS = ("voltage", "temperature", "load", "firmware", "duplicate_id")

    def set(self, kind: str, value: str | float | bool = True) -> None:
        """Set a health fault by its CLI name from a CLI string or a JSON value; a bad
        value is a ValueError of one line."""
        if kind == "duplicate_id":
            self.duplicate_id = _flag(kind, value)
            return
        if kind == "firmware":
            if value is True:
                raise ValueError("firmware needs a value (firmware=X.Y), e.g. firmware=3.9")
            self.firmware = _firmware_text(value)
            return
        spec = next((spec for spec in self.NUMERIC if spec[0] == kind), None)
        if spec is None:
            raise ValueError(f"unknown health fault {kind!r}; expected one of "
                             f"{', '.join(self.KINDS)}")
        _, name, what, low, high = spec
        setattr(self, name, _fault_number(kind, value, what, low, high))

    def firmware_version(self) -> tuple[int, int] | None:
        if self.firmware is None:
            return None
        major, minor = self.firmware.split(".")
        return int(major), int(minor)

    def active(self) -> dict[str, float | str | bool]:
        """The health faults that are on, by field name."""
        return {f.name: getattr(self, f.name) for f in fields(self)
                if getattr(self, f.name) != f.default}


def _firmware_text(value: str | float | bool) -> str:
    """``X.Y`` with two whole numbers 0..255 (a string: 3.10 is not 3.1)."""
    major, dot, minor = str(value).strip().partition(".")
    if isinstance(value, bool) or not dot or not (major.isdigit() and minor.isdigit()) or \
            int(major) > 255 or int(minor) > 255:
        raise ValueError(f"firmware takes a version X.Y (two whole numbers 0..255, e.g. 3.9), "
                         f"got {value!r}")
    return f"{int(major)}.{int(minor)}"


def set_fault(faults: Faults, health: HealthFaults, kind: str,
              value: str | float | bool = True) -> None:
    """Set a wire fault or a health fault by its CLI name (one ``--fault`` kind list)."""
    if kind in HealthFaults.KINDS:
        health.set(kind, value)
    else:
        faults.set(kind, value)


@dataclass
class VirtualServo:
    """One STS3215 on the bus."""

    servo_id: int
    shaft: Shaft = field(default_factory=SimpleShaft)
    faults: Faults = field(default_factory=Faults)
    seed: int = 0
    health: HealthFaults = field(default_factory=HealthFaults)
    memory: bytearray = field(default_factory=lambda: bytearray(MEMORY_SIZE))
    pending: tuple[int, bytes] | None = None
    #: Writes a client made (WRITE, SYNC_WRITE, an ACTION's REG_WRITE), and how many of
    #: them switched torque on: what a read-only client left untouched shows here.
    writes: int = 0
    torque_switched_on: int = 0

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed * 1000 + self.servo_id)
        self.reset()

    # -- registers ---------------------------------------------------------------------
    def get(self, name: str) -> int:
        reg = REGISTERS[name]
        return from_le(self.memory[reg.address: reg.address + reg.size])

    def set(self, name: str, value: int) -> None:
        """Set a register's raw (encoded) value, bypassing Lock and read-only rules."""
        reg = REGISTERS[name]
        self.memory[reg.address: reg.address + reg.size] = to_le(value, reg.size)

    def signed(self, name: str) -> int:
        return _decoded(name, self.get(name))

    def set_signed(self, name: str, value: int) -> None:
        """Set a register from its signed value (sign-magnitude where the register is)."""
        self.set(name, _encoded(name, int(value)))

    def reset(self) -> None:
        """Factory defaults (RESET instruction); the id and the shaft stay."""
        self.memory[:] = bytes(MEMORY_SIZE)
        for name, value in DEFAULTS.items():
            self.set(name, value)
        self.set("ID", self.servo_id)
        self.pending = None
        self._refresh(0.0)
        self.set("Goal_Position", self.get("Present_Position"))

    @property
    def baud_code(self) -> int:
        return self.get("Baud_Rate")

    @property
    def torque_on(self) -> bool:
        return self.get("Torque_Enable") == 1

    def present_ticks(self, now: float) -> int:
        raw = self.shaft.raw(now)
        return round(raw - self.signed("Homing_Offset")) % RESOLUTION

    @property
    def full_angle(self) -> bool:
        """Phase bit 4 set: Present_Position reports the full angle."""
        return bool(self.get("Phase") & PHASE_FULL_ANGLE)

    def feedback_ticks(self, now: float) -> int:
        """Present_Position as the register reports it (ticks): single-turn, or with Phase
        bit 4 set the full angle ``raw - Homing_Offset`` unwrapped (below 0: sign bit 15).
        The emulator's model of the full angle: the shaft's own turns, not a turn count
        kept since power-on as real firmware does."""
        if self.full_angle:
            return round(self.shaft.raw(now) - self.signed("Homing_Offset"))
        return self.present_ticks(now)

    def set_fault(self, kind: str, value: str | float | bool = True) -> None:
        """A wire fault or a health fault by its CLI name (``noise``, ``voltage``...)."""
        set_fault(self.faults, self.health, kind, value)

    def clear_faults(self) -> None:
        self.faults, self.health = Faults(), HealthFaults()

    def active_faults(self) -> dict[str, float | int | str | bool]:
        return {**self.faults.active(), **self.health.active()}

    def _refresh(self, now: float) -> None:
        present = self.present_ticks(now)
        self.set_signed("Present_Position", self.feedback_ticks(now))
        load = round(self.shaft.load(now) * LOAD_FULL_SCALE) if self.torque_on else 0
        if self.health.load_pct is not None:
            load += round(self.health.load_pct * LOAD_FULL_SCALE / 100)
        self.set_signed("Present_Load", max(-LOAD_FULL_SCALE, min(LOAD_FULL_SCALE, load)))
        self._refresh_health()
        if not self.torque_on:
            self.set("Goal_Position", present)
        moving = self.torque_on and abs(self.signed("Goal_Position") - present) > 1
        self.set("Moving", int(moving))

    # -- instructions ------------------------------------------------------------------
    def read(self, address: int, length: int, now: float) -> bytes:
        self._refresh(now)
        data = bytearray(self.memory[address: address + length])
        pos = REGISTERS["Present_Position"].address
        if self.faults.noise_ticks and address <= pos < address + length - 1:
            noisy = self.feedback_ticks(now) + self._rng.randint(-self.faults.noise_ticks,
                                                                  self.faults.noise_ticks)
            if not self.full_angle:
                noisy %= RESOLUTION
            encoded = _encoded("Present_Position", noisy)
            data[pos - address: pos - address + 2] = to_le(encoded, 2)
        if len(data) < length:
            data += bytes(length - len(data))
        return bytes(data)

    def write(self, address: int, data: bytes, now: float) -> None:
        self._refresh(now)
        self.writes += 1
        torque_was_on = self.torque_on
        locked = self.get("Lock") == 1
        for offset, byte in enumerate(data):
            addr = address + offset
            if addr >= MEMORY_SIZE or addr in READ_ONLY or (locked and addr < EEPROM_END):
                continue
            self.memory[addr] = byte
        self.torque_switched_on += self.torque_on and not torque_was_on
        self._apply(now)

    def reg_write(self, address: int, data: bytes) -> None:
        self.pending = (address, bytes(data))

    def action(self, now: float) -> None:
        if self.pending is not None:
            address, data = self.pending
            self.pending = None
            self.write(address, data, now)

    def _apply(self, now: float) -> None:
        """Side effects of the register values: limits, torque, goal."""
        low, high = self.get("Min_Position_Limit"), self.get("Max_Position_Limit")
        goal = self.signed("Goal_Position")
        if low < high:
            goal = max(low, min(high, goal))
        self.set_signed("Goal_Position", goal)
        if self.torque_on:
            # The servo moves within its own 0..4095 frame: the same delta on the shaft.
            self.shaft.drive(now, self.shaft.raw(now) + (goal - self.present_ticks(now)))
        else:
            self.shaft.drive(now, None)
        self.servo_id = self.get("ID")
        self._refresh(now)

    def _refresh_health(self) -> None:
        """Supply voltage (0.1 V), temperature (deg C), firmware and Status as the servo
        reports them: its own values, or what a health fault says."""
        health = self.health
        volts = SUPPLY_V if health.voltage_v is None else health.voltage_v
        celsius = AMBIENT_C if health.temperature_c is None else health.temperature_c
        self.set("Present_Voltage", min(255, round(volts * 10)))
        self.set("Present_Temperature", min(255, round(celsius)))
        major, minor = health.firmware_version() or FIRMWARE
        self.set("Firmware_Major_Version", major)
        self.set("Firmware_Minor_Version", minor)
        self.set("Status", self.status_error())

    def status_error(self) -> int:
        return self.faults.error_bits & 0x7F
