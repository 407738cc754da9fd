"""STS3215 (Feetech SCS/STS) serial protocol: packets, checksum, control table.

Instruction ``FF FF ID LEN INST P1..Pn CHK`` and status ``FF FF ID LEN ERR P1..Pn CHK``
with ``LEN = n + 2`` and ``CHK = ~(ID + LEN + INST/ERR + sum(P)) & 0xFF``; multi-byte
fields little-endian; signed registers sign-magnitude (docs/domain.md section 7; the encoding itself
is :func:`pytest_so101.core.frames.encode_register`).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum

HEADER = b"\xff\xff"
BROADCAST_ID = 0xFE
MAX_ID = 0xFD
MODEL_STS3215 = 777


class Instruction(IntEnum):
    PING = 0x01
    READ = 0x02
    WRITE = 0x03
    REG_WRITE = 0x04
    ACTION = 0x05
    RESET = 0x06
    SYNC_READ = 0x82
    SYNC_WRITE = 0x83


class ErrorBit(IntEnum):
    VOLTAGE = 0x01
    ANGLE = 0x02
    OVERHEAT = 0x04
    OVERCURRENT = 0x08
    OVERLOAD = 0x20


#: What each status error bit means, in the words of an error message.
CONDITIONS = {ErrorBit.VOLTAGE: "input voltage error", ErrorBit.ANGLE: "angle sensor error",
              ErrorBit.OVERHEAT: "overheat", ErrorBit.OVERCURRENT: "overcurrent",
              ErrorBit.OVERLOAD: "overload"}


def describe_status(error: int) -> str:
    """The conditions a status error byte reports, e.g. ``"overheat and overload"``;
    bits the STS3215 does not define are named by value (``"status bit 0x10"``)."""
    names = [text for bit, text in CONDITIONS.items() if error & bit]
    unknown = error & ~sum(CONDITIONS)
    names += [f"status bit {1 << b:#04x}" for b in range(8) if unknown & (1 << b)]
    return " and ".join(names) if len(names) < 3 else ", ".join(names[:-1]) + " and " + names[-1]


#: Baud_Rate register value -> baud (docs/domain.md section 7; 5..7 from the SDK's table).
BAUD_RATES = {0: 1_000_000, 1: 500_000, 2: 250_000, 3: 128_000, 4: 115_200, 5: 57_600,
              6: 38_400, 7: 19_200}


@dataclass(frozen=True)
class Register:
    name: str
    address: int
    size: int
    eeprom: bool
    writable: bool = True


#: The control table LeRobot uses (address, bytes); EEPROM below Torque_Enable (40).
REGISTERS: dict[str, Register] = {r.name: r for r in (
    Register("Firmware_Major_Version", 0, 1, True, writable=False),
    Register("Firmware_Minor_Version", 1, 1, True, writable=False),
    Register("Model_Number", 3, 2, True, writable=False),
    Register("ID", 5, 1, True),
    Register("Baud_Rate", 6, 1, True),
    Register("Return_Delay_Time", 7, 1, True),
    Register("Response_Status_Level", 8, 1, True),
    Register("Min_Position_Limit", 9, 2, True),
    Register("Max_Position_Limit", 11, 2, True),
    Register("Max_Temperature_Limit", 13, 1, True),
    Register("Max_Voltage_Limit", 14, 1, True),
    Register("Min_Voltage_Limit", 15, 1, True),
    Register("Max_Torque_Limit", 16, 2, True),
    Register("Phase", 18, 1, True),
    Register("Unloading_Condition", 19, 1, True),
    Register("LED_Alarm_Condition", 20, 1, True),
    Register("P_Coefficient", 21, 1, True),
    Register("D_Coefficient", 22, 1, True),
    Register("I_Coefficient", 23, 1, True),
    Register("Minimum_Startup_Force", 24, 2, True),
    Register("CW_Dead_Zone", 26, 1, True),
    Register("CCW_Dead_Zone", 27, 1, True),
    Register("Protection_Current", 28, 2, True),
    Register("Angular_Resolution", 30, 1, True),
    Register("Homing_Offset", 31, 2, True),
    Register("Operating_Mode", 33, 1, True),
    Register("Protective_Torque", 34, 1, True),
    Register("Protection_Time", 35, 1, True),
    Register("Overload_Torque", 36, 1, True),
    Register("Torque_Enable", 40, 1, False),
    Register("Acceleration", 41, 1, False),
    Register("Goal_Position", 42, 2, False),
    Register("Goal_Time", 44, 2, False),
    Register("Goal_Velocity", 46, 2, False),
    Register("Torque_Limit", 48, 2, False),
    Register("Lock", 55, 1, False),
    Register("Present_Position", 56, 2, False, writable=False),
    Register("Present_Velocity", 58, 2, False, writable=False),
    Register("Present_Load", 60, 2, False, writable=False),
    Register("Present_Voltage", 62, 1, False, writable=False),
    Register("Present_Temperature", 63, 1, False, writable=False),
    Register("Status", 65, 1, False, writable=False),
    Register("Moving", 66, 1, False, writable=False),
    Register("Present_Current", 69, 2, False, writable=False),
    Register("Maximum_Acceleration", 85, 1, False),
)}
EEPROM_END = REGISTERS["Torque_Enable"].address
MEMORY_SIZE = 128

#: Largest raw value a register can hold where that is less than its width allows; a
#: reply beyond it is not this register's value (a stray or damaged reply).
PLAUSIBLE_MAX = {"ID": MAX_ID, "Baud_Rate": max(BAUD_RATES), "Min_Position_Limit": 4095,
                 "Max_Position_Limit": 4095, "Homing_Offset": 0x0FFF, "Operating_Mode": 3,
                 "Lock": 1}


def plausible(register: str, raw: int) -> bool:
    """Whether ``raw`` (unsigned, as on the wire) can be the value of ``register``."""
    return 0 <= raw <= PLAUSIBLE_MAX.get(register, (1 << 8 * REGISTERS[register].size) - 1)


def checksum(body: bytes | bytearray) -> int:
    """``~sum & 0xFF`` over ID, LEN, INST/ERR and the parameters."""
    return ~sum(body) & 0xFF


def _packet(servo_id: int, code: int, params: bytes | bytearray) -> bytes:
    if not 0 <= servo_id <= BROADCAST_ID:
        raise ValueError(f"servo id must be 0..254, got {servo_id}")
    body = bytes([servo_id, len(params) + 2, code]) + bytes(params)
    return HEADER + body + bytes([checksum(body)])


def instruction_packet(servo_id: int, instruction: int, params: bytes | bytearray = b"") -> bytes:
    """An instruction packet, e.g. ``instruction_packet(1, Instruction.PING)``."""
    return _packet(servo_id, int(instruction), params)


def status_packet(servo_id: int, error: int, params: bytes | bytearray = b"") -> bytes:
    """A servo's status (reply) packet."""
    return _packet(servo_id, error, params)


def to_le(value: int, size: int) -> bytes:
    """Unsigned little-endian field of ``size`` bytes."""
    return int(value).to_bytes(size, "little")


def from_le(data: bytes | bytearray) -> int:
    return int.from_bytes(bytes(data), "little")


@dataclass(frozen=True)
class Packet:
    """A parsed packet. ``code`` is the instruction (or the error byte of a status)."""

    servo_id: int
    code: int
    params: bytes
    checksum_ok: bool
    raw: bytes


def scan_status(stream: bytes | bytearray) -> list[Packet]:
    """Every complete packet with a valid checksum in a byte stream, in order.

    What a client sees on the line is not always packets: line noise, a truncated or
    corrupted reply. A header that does not start a valid packet is skipped one byte at
    a time, so a good packet right after (or inside) noise is still found.
    """
    packets, i = [], 0
    while (i := stream.find(HEADER, i)) >= 0 and i + 4 <= len(stream):
        servo_id, length = stream[i + 2], stream[i + 3]
        end = i + 4 + length
        if servo_id <= MAX_ID and length >= 2 and end <= len(stream) and \
                checksum(stream[i + 2:end - 1]) == stream[end - 1]:
            raw = bytes(stream[i:end])
            packets.append(Packet(servo_id, raw[4], raw[5:-1], True, raw))
            i = end
        else:
            i += 1
    return packets


def heard_ids(stream: bytes | bytearray) -> set[int]:
    """The servo ids of every header in a byte stream, whole packet or not."""
    ids, i = set(), 0
    while (i := stream.find(HEADER, i)) >= 0 and i + 2 < len(stream):
        if stream[i + 2] <= MAX_ID:
            ids.add(stream[i + 2])
        i += 1
    return ids


def damaged_reply(stream: bytes | bytearray, servo_id: int, n_params: int) -> str | None:
    """Why a status packet of ``servo_id`` with ``n_params`` parameters that begins in
    ``stream`` is not a valid packet (bad checksum, incomplete), or None if none begins."""
    head = HEADER + bytes([servo_id, n_params + 2])
    start = stream.rfind(head)
    if start < 0:
        return None
    total = n_params + 6
    following = stream.find(HEADER, start + 2, start + total + 1)   # the next packet
    got = (following if following >= 0 else len(stream)) - start
    return "bad checksum in its reply" if got >= total else \
        f"incomplete reply ({got} of {total} bytes)"


class PacketParser:
    """Incremental parser: feed bytes as they arrive, iterate complete packets.

    Bytes before a header are skipped, as a servo's UART does; a packet whose length
    field cannot be right is dropped one byte at a time until a header lines up.
    """

    def __init__(self) -> None:
        self._buffer = bytearray()

    def feed(self, data: bytes) -> Iterator[Packet]:
        self._buffer += data
        while True:
            start = self._buffer.find(HEADER)
            if start < 0:
                del self._buffer[:-1 if self._buffer.endswith(b"\xff") else len(self._buffer)]
                return
            del self._buffer[:start]
            if len(self._buffer) < 4:
                return
            servo_id, length = self._buffer[2], self._buffer[3]
            if servo_id == 0xFF or length < 2:
                del self._buffer[0]
                continue
            total = length + 4
            if len(self._buffer) < total:
                return
            raw = bytes(self._buffer[:total])
            del self._buffer[:total]
            body = raw[2:-1]
            yield Packet(servo_id, raw[4], raw[5:-1], checksum(body) == raw[-1], raw)

    @property
    def pending(self) -> int:
        """Bytes held back waiting for the rest of a packet."""
        return len(self._buffer)

    def clear(self) -> None:
        self._buffer.clear()
