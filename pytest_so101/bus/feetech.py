"""The arm's bus over the unmodified ``scservo_sdk`` (feetech-servo-sdk 1.x).

Read-mostly: ping and identify the six servos, read positions (sync read with bounded
retries) and the calibration registers. Goals are written only through a
:class:`~pytest_so101.safety.SafetyEnvelope`, and :meth:`FeetechBus.torque_off_on_exit`
disables torque on every exit path. Errors are one line naming the port, the servo id
and joint, and what to do.
"""

from __future__ import annotations

import errno
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np

from ..calibration import Calibration, MotorCalibration
from ..frames import decode_register, encode_register
from ..joints import MOTOR_IDS, MOTOR_NAMES
from ..safety import SafetyEnvelope
from .protocol import BAUD_RATES, BROADCAST_ID, MODEL_STS3215, REGISTERS

DEFAULT_BAUD = 1_000_000
#: After a failed try, wait this long and drop what arrived before trying again, so a
#: late reply cannot pass for the answer to the next request (of maybe another register).
SETTLE_AFTER_FAILURE_S = 0.1


class BusError(RuntimeError):
    """A bus problem, described in one line (port, servo, joint, what to do)."""


@dataclass(frozen=True)
class ServoInfo:
    servo_id: int
    joint: str
    model: int
    firmware: str


class FeetechBus:
    """Six STS3215 servos on one port, ids 1..6 in motor order."""

    def __init__(self, port: str, *, ids: tuple[int, ...] = MOTOR_IDS,
                 baudrate: int = DEFAULT_BAUD, retries: int = 2) -> None:
        self.port = port
        self.ids = ids
        self.baudrate = baudrate
        self.retries = retries
        self._ph = None
        self._pk = None
        self._failed_last = False

    # -- connection --------------------------------------------------------------------
    def connect(self) -> FeetechBus:
        import scservo_sdk as scs
        import serial

        self._scs = scs
        self._ph = scs.PortHandler(self.port)
        self._pk = scs.PacketHandler(0)
        try:
            ok = self._ph.openPort() and self._ph.setBaudRate(self.baudrate)
        except serial.SerialException as exc:
            code = getattr(exc, "errno", None)
            if code == errno.ENOENT or "No such file" in str(exc):
                raise BusError(f"{self.port}: no such port; is the arm's USB adapter "
                               "plugged in (ls /dev/ttyACM* /dev/ttyUSB*)?") from None
            if code == errno.EACCES or "Permission denied" in str(exc):
                raise BusError(f"{self.port}: permission denied; add yourself to the "
                               "'dialout' group or fix the port's permissions") from None
            raise BusError(f"{self.port}: cannot open the port: {exc}") from None
        if not ok:
            raise BusError(f"{self.port}: cannot set {self.baudrate} baud")
        return self

    def close(self) -> None:
        if self._ph is not None and self._ph.is_open:
            self._ph.closePort()

    def __enter__(self) -> FeetechBus:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _joint(self, servo_id: int) -> str:
        return MOTOR_NAMES[self.ids.index(servo_id)] if servo_id in self.ids else f"id {servo_id}"

    def _fresh(self) -> None:
        """Drop stale bytes (a late reply) so they cannot pass for the next answer."""
        self._ph.ser.reset_input_buffer()

    def _attempts(self) -> Iterator[int]:
        """Tries of one transaction. After any failed try (this transaction's or the
        previous one's) wait for late replies to land, then drop them."""
        for attempt in range(1 + self.retries):
            if attempt or self._failed_last:
                time.sleep(SETTLE_AFTER_FAILURE_S)
            self._fresh()
            self._failed_last = True      # until the caller sees a success
            yield attempt

    def _describe(self, servo_id: int, comm: int, error: int) -> str:
        where = f"{self.port}: id {servo_id} ({self._joint(servo_id)})"
        if comm != self._scs.COMM_SUCCESS:
            return f"{where}: no valid reply at {self.baudrate} baud " \
                   f"({self._pk.getTxRxResult(comm).removeprefix('[TxRxResult] ')})"
        problem = self._pk.getRxPacketError(error).removeprefix("[RxPacketError] ")
        return f"{where}: servo reports {problem}"

    # -- single registers --------------------------------------------------------------
    def read(self, register: str, servo_id: int) -> int:
        """A register's decoded value (sign-magnitude registers signed)."""
        reg = REGISTERS[register]
        fn = {1: self._pk.read1ByteTxRx, 2: self._pk.read2ByteTxRx}[reg.size]
        for _ in self._attempts():
            value, comm, error = fn(self._ph, servo_id, reg.address)
            if comm == self._scs.COMM_SUCCESS and not error:
                self._failed_last = False
                return int(decode_register(register, value))
        raise BusError(f"{self._describe(servo_id, comm, error)} reading {register}")

    def write(self, register: str, servo_id: int, value: int) -> None:
        reg = REGISTERS[register]
        encoded = int(encode_register(register, value))
        fn = {1: self._pk.write1ByteTxRx, 2: self._pk.write2ByteTxRx}[reg.size]
        for _ in self._attempts():
            comm, error = fn(self._ph, servo_id, reg.address, encoded)
            if comm == self._scs.COMM_SUCCESS and not error:
                self._failed_last = False
                return
        raise BusError(f"{self._describe(servo_id, comm, error)} writing {register} = {value}")

    # -- the whole arm -----------------------------------------------------------------
    def identify(self) -> list[ServoInfo]:
        """Ping every servo, check it is an STS3215, read its firmware version."""
        found, missing = [], []
        for servo_id in self.ids:
            self._fresh()
            model, comm, _ = self._pk.ping(self._ph, servo_id)
            if comm != self._scs.COMM_SUCCESS:
                self._failed_last = True
                missing.append(servo_id)
                continue
            if model != MODEL_STS3215:
                raise BusError(f"{self.port}: id {servo_id} ({self._joint(servo_id)}) is model "
                               f"{model}, expected an STS3215 (model {MODEL_STS3215})")
            firmware = (f"{self.read('Firmware_Major_Version', servo_id)}."
                        f"{self.read('Firmware_Minor_Version', servo_id)}")
            found.append(ServoInfo(servo_id, self._joint(servo_id), model, firmware))
        if missing:
            hint = self._other_baud_hint() if len(missing) == len(self.ids) else ""
            names = ", ".join(f"{i} ({self._joint(i)})" for i in missing)
            raise BusError(f"{self.port}: no reply from id {names} at {self.baudrate} baud"
                           f"{hint}; check power, cables and ids")
        return found

    def _other_baud_hint(self) -> str:
        """When nobody answers, look for the servos at the other baud rates."""
        try:
            for baud in BAUD_RATES.values():
                if baud == self.baudrate:
                    continue
                self._ph.setBaudRate(baud)
                for servo_id in self.ids:
                    self._fresh()
                    _, comm, _ = self._pk.ping(self._ph, servo_id)
                    if comm == self._scs.COMM_SUCCESS:
                        return f" (wrong baud: id {servo_id} answers at {baud} baud)"
        finally:
            self._ph.setBaudRate(self.baudrate)
        return ""

    def sync_read(self, register: str) -> np.ndarray:
        """One register of all six servos by SYNC_READ, decoded, motor order."""
        reg = REGISTERS[register]
        group = self._scs.GroupSyncRead(self._ph, self._pk, reg.address, reg.size)
        for servo_id in self.ids:
            group.addParam(servo_id)
        first_failure: tuple[int, int] | None = None
        for _ in self._attempts():
            for servo_id in self.ids:
                group.data_dict[servo_id] = []
            comm = group.txRxPacket()
            if comm == self._scs.COMM_SUCCESS:
                self._failed_last = False
                values = [group.getData(i, reg.address, reg.size) for i in self.ids]
                return np.asarray(decode_register(register, np.array(values)), dtype=np.int64)
            if first_failure is None:
                # The group stops at the first servo that does not answer. Only the first
                # try names it reliably: later, a late reply can pass for an answer.
                culprit = next((i for i in self.ids if not group.data_dict[i]), self.ids[0])
                first_failure = (culprit, comm)
        raise BusError(f"{self._describe(*first_failure, 0)} in a sync read of {register} "
                       f"(after {1 + self.retries} tries)")

    def read_positions(self) -> np.ndarray:
        """Present_Position ticks of the six joints."""
        return self.sync_read("Present_Position")

    def read_calibration(self) -> Calibration:
        """The calibration registers on the servos, as a LeRobot calibration."""
        motors = {}
        for servo_id, joint in zip(self.ids, MOTOR_NAMES, strict=True):
            motors[joint] = MotorCalibration(
                id=servo_id, drive_mode=0,
                homing_offset=self.read("Homing_Offset", servo_id),
                range_min=self.read("Min_Position_Limit", servo_id),
                range_max=self.read("Max_Position_Limit", servo_id))
        return Calibration(motors, source=f"servo registers on {self.port}")

    def torque(self, on: bool) -> None:
        """Torque and EEPROM lock together, as LeRobot does."""
        for servo_id in self.ids:
            self.write("Torque_Enable", servo_id, int(on))
            self.write("Lock", servo_id, int(on))

    def write_goals(self, goal_ticks: np.ndarray, envelope: SafetyEnvelope,
                    present_ticks: np.ndarray | None = None) -> np.ndarray:
        """SYNC_WRITE Goal_Position, only after the envelope accepted every joint against
        the present position: ``present_ticks`` when the caller computed the goals from a
        reading it just took (judged on that same reading), else read now."""
        present = self.read_positions() if present_ticks is None else present_ticks
        goals = envelope.check(goal_ticks, present)
        reg = REGISTERS["Goal_Position"]
        group = self._scs.GroupSyncWrite(self._ph, self._pk, reg.address, reg.size)
        for servo_id, goal in zip(self.ids, goals, strict=True):
            encoded = int(encode_register("Goal_Position", int(goal)))
            group.addParam(servo_id, [encoded & 0xFF, encoded >> 8])
        comm = group.txPacket()
        if comm != self._scs.COMM_SUCCESS:
            raise BusError(f"{self.port}: sync write of Goal_Position failed "
                           f"({self._pk.getTxRxResult(comm)})")
        return goals

    @contextmanager
    def torque_off_on_exit(self) -> Iterator[FeetechBus]:
        """Disable torque however the block ends (failure, KeyboardInterrupt, return).

        An interrupt can land inside an SDK transaction and leave the port marked busy,
        with half a reply in the buffer; the port is reclaimed first, then one broadcast
        write (no reply needed) and a confirmed write per servo. A servo that cannot be
        confirmed is reported, never passed over in silence.
        """
        try:
            yield self
        finally:
            unconfirmed = self.disable_torque()
            if unconfirmed:
                message = (f"{self.port}: torque could not be confirmed off on "
                           f"{', '.join(unconfirmed)}; switch the arm's power off")
                if sys.exc_info()[0] is None:
                    raise BusError(message)
                print(f"so101: {message}", file=sys.stderr)

    def disable_torque(self) -> list[str]:
        """Torque off on every servo; returns the servos it could not confirm."""
        if self._ph is None or not self._ph.is_open:
            return [f"id {i} ({self._joint(i)})" for i in self.ids]
        self._ph.is_using = False          # an interrupted transaction leaves it set
        address = REGISTERS["Torque_Enable"].address
        self._pk.write1ByteTxOnly(self._ph, BROADCAST_ID, address, 0)
        unconfirmed = []
        for servo_id in self.ids:
            try:
                self.write("Torque_Enable", servo_id, 0)
            except BusError:
                unconfirmed.append(f"id {servo_id} ({self._joint(servo_id)})")
        return unconfirmed
