"""The arm's bus over the unmodified ``scservo_sdk`` (feetech-servo-sdk 1.x).

Read-mostly: identify the six servos, read positions (SYNC_READ) and the calibration
registers. The SDK's ``PortHandler`` owns the port; requests and replies are framed and
checked here (``protocol``), because the SDK matches a reply to its request by servo id
alone: a late or duplicated reply passes for the answer to a later request, and a short
one raises ``IndexError``. Here a value is returned only from a reply that is the
answer: that servo, that length, a valid checksum, no status error bit, a plausible
value; after any failed exchange the servo is resynchronised before it is asked again
(docs/bus.md, "Transactions"). Goals are written only through a
:class:`~pytest_so101.core.safety.SafetyEnvelope`, and :meth:`FeetechBus.torque_off_on_exit`
disables torque on every exit path. Every failure is one :class:`BusError` line naming
the port, the servo id and joint, and the operation.
"""

from __future__ import annotations

import errno
import select
import sys
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TypeVar

import numpy as np

from ..core.calibration import Calibration, MotorCalibration
from ..core.frames import decode_register, encode_register
from ..core.joints import MOTOR_IDS, MOTOR_NAMES
from ..core.safety import SafetyEnvelope
from .protocol import (
    BAUD_RATES,
    BROADCAST_ID,
    MAX_ID,
    MODEL_STS3215,
    REGISTERS,
    Instruction,
    Packet,
    damaged_reply,
    describe_status,
    from_le,
    heard_ids,
    instruction_packet,
    plausible,
    scan_status,
    to_le,
)

T = TypeVar("T")

DEFAULT_BAUD = 1_000_000
BITS_PER_BYTE = 10
#: Reply timeout on top of the wire time, as the SDK's: twice the USB adapter's 16 ms
#: latency timer plus 2 ms.
REPLY_TIMEOUT_S = 0.034
#: Resynchronising: the line counts as quiet after this long without a byte...
QUIET_S = 0.05
#: ...and draining stops after this long even if it is not (the check read then judges).
DRAIN_MAX_S = 0.2
#: A check read reads the control table from address 0 (firmware, model, ID) with a
#: length taken in turn from these: longer than any register read (1 or 2 bytes) and
#: different from the servo's previous 63 check reads, so that no earlier reply of that
#: servo can pass for its answer.
CHECK_LENGTHS = tuple(range(6, 70))
ID_ADDRESS = REGISTERS["ID"].address
READ_CHUNK = 4096


#: How often a port that cannot be waited on with select (rfc2217) is looked at (s).
POLL_S = 0.0002


class BusError(RuntimeError):
    """A bus problem, described in one line (port, servo, joint, operation)."""


class _TryError(Exception):
    """One try of a transaction went wrong (it is retried); ``problems`` by servo id,
    ``silent`` the servos not heard at all."""

    def __init__(self, problems: dict[int, str], silent: set[int] | None = None) -> None:
        super().__init__(problems)
        self.problems = problems
        self.silent = silent or set()
        self.tries = 1


def url_port_handler(scs):
    """The SDK's ``PortHandler`` with its port opened by ``serial.serial_for_url`` (so a
    ``socket://`` or ``rfc2217://`` URL is a port), and the baud changed on the open port
    rather than by closing and reopening it (a network serial server takes one client: a
    reconnect can find the old connection not yet gone). Everything else, the timeouts
    included, is the SDK's."""
    import serial

    class UrlPortHandler(scs.PortHandler):
        def setupPort(self, cflag_baud: int) -> bool:  # noqa: N802 (the SDK's name)
            if self.is_open:
                self.closePort()
            with warnings.catch_warnings():       # pyserial's rfc2217 uses setName()
                warnings.simplefilter("ignore", DeprecationWarning)
                self.ser = serial.serial_for_url(self.port_name, baudrate=self.baudrate,
                                                 bytesize=serial.EIGHTBITS, timeout=0)
            self.is_open = True
            self.ser.reset_input_buffer()
            self.tx_time_per_byte = (1000.0 / self.baudrate) * 10.0
            return True

        def setBaudRate(self, baudrate: int) -> bool:  # noqa: N802
            if not self.is_open or self.getCFlagBaud(baudrate) <= 0:
                return super().setBaudRate(baudrate)
            self.baudrate = baudrate
            self.ser.baudrate = baudrate          # rfc2217 sends it; a raw socket has none
            self.tx_time_per_byte = (1000.0 / self.baudrate) * 10.0
            return True

    return UrlPortHandler


def _selectable(ser: object) -> bool:
    """Can ``select`` wait on the port (a device, a socket), or must it be polled?"""
    try:
        return isinstance(ser.fileno(), int)
    except Exception:
        return False


def _network_reason(exc: Exception) -> str:
    """pyserial's 'Could not open port socket://...: [Errno 111] Connection refused', as
    the reason alone."""
    text = str(exc)
    for known, said in (("Connection refused", "connection refused"),
                        ("timed out", "no answer (timed out)"),
                        ("Name or service not known", "unknown host"),
                        ("No route to host", "no route to host"),
                        ("RFC2217", "the server does not speak RFC 2217 (is it raw TCP? "
                         "then use socket://)")):
        if known in text:
            return said
    return text


@dataclass(frozen=True)
class ServoInfo:
    servo_id: int
    joint: str
    model: int
    firmware: str


#: A scan pings one id every this long (s): a servo answers within its Return_Delay_Time
#: (at most 0.5 ms) plus its 60 us reply, so no ping meets a reply on the wire, and two
#: pings never share one 1 ms USB frame.
SCAN_GAP_S = 0.0015


@dataclass(frozen=True)
class RegisterBlock:
    """Registers of one servo read in one READ: decoded values by name, and the status
    error byte of the reply (returned, not raised: the health checks name it)."""

    servo_id: int
    values: dict[str, int]
    status: int


@dataclass(frozen=True)
class BusScan:
    """Who answered a scan at one baud: valid ping replies per id (two or more: two
    servos on one id that answer one after the other), ids whose position reads collide
    (two servos answering at once: their ping replies are bit-identical, their positions
    are not), and how long the scan took (s)."""

    baudrate: int
    scanned: tuple[int, ...]
    replies: dict[int, int]
    collided: dict[int, str]
    elapsed_s: float


class FeetechBus:
    """Six STS3215 servos on one port, ids 1..6 in motor order.

    ``retries``: failed tries of one transaction that are tried again (each after
    resynchronising); a transaction that still fails raises :class:`BusError`.
    """

    def __init__(self, port: str, *, ids: tuple[int, ...] = MOTOR_IDS,
                 baudrate: int = DEFAULT_BAUD, retries: int = 2) -> None:
        self.port = port
        self.ids = ids
        self.baudrate = baudrate
        self.retries = retries
        self._ph = None
        self._pk = None
        self._tainted: set[int] = set()        # servos that may have replies in flight
        self._checks: dict[int, int] = {}      # check reads sent, per servo
        self._identity: dict[int, bytes] = {}  # firmware, model and ID bytes first read
        self._selectable = True

    # -- connection --------------------------------------------------------------------
    def connect(self) -> FeetechBus:
        import scservo_sdk as scs
        import serial

        from ..core.port_names import is_url

        self._scs = scs
        self._ph = url_port_handler(scs)(self.port) if is_url(self.port) else \
            scs.PortHandler(self.port)
        self._pk = scs.PacketHandler(0)
        try:
            ok = self._ph.openPort() and self._ph.setBaudRate(self.baudrate)
        except serial.SerialException as exc:
            code = getattr(exc, "errno", None)
            if is_url(self.port):
                raise BusError(f"{self.port}: cannot connect: {_network_reason(exc)}; is the "
                               "serial server there running (ser2net, a labgrid exporter "
                               "with its place acquired, so101-twin serve --tcp) and free "
                               "(one client at a time)?") from None
            if code == errno.ENOENT or "No such file" in str(exc):
                raise BusError(f"{self.port}: no such port; is the arm's USB adapter "
                               "plugged in (ls /dev/ttyACM* /dev/ttyUSB*)?") from None
            if code == errno.EACCES or "Permission denied" in str(exc):
                raise BusError(f"{self.port}: permission denied; add yourself to the "
                               "'dialout' group or fix the port's permissions") from None
            raise BusError(f"{self.port}: cannot open the port: {exc}") from None
        except Exception as exc:       # termios, ioctl, ...: still one error type
            raise BusError(f"{self.port}: cannot open the port: "
                           f"{exc.__class__.__name__}: {exc}") from exc
        if not ok:
            raise BusError(f"{self.port}: cannot set {self.baudrate} baud")
        self._selectable = _selectable(self._ph.ser)
        return self

    def close(self) -> None:
        """Close the port; best effort (an unplugged adapter has nothing left to close)."""
        if self._ph is not None and self._ph.is_open:
            try:
                self._ph.closePort()
            except Exception:
                self._ph.is_open = False

    def __enter__(self) -> FeetechBus:
        return self.connect()

    def __exit__(self, *exc: object) -> None:
        self.close()

    def failure_bound_s(self, n_servos: int = 1, size: int = 2) -> float:
        """Longest a failing transaction with ``n_servos`` (register of ``size`` bytes)
        can take, in seconds, OS scheduling aside: each try drains the line (at most
        DRAIN_MAX_S), check-reads every tainted servo, then sends the request."""
        def timeout(wire_bytes: int) -> float:
            return REPLY_TIMEOUT_S + wire_bytes * BITS_PER_BYTE / self.baudrate

        check = timeout(8 + 6 + CHECK_LENGTHS[-1])
        request = timeout(8 + n_servos + n_servos * (6 + size))
        return (1 + self.retries) * (DRAIN_MAX_S + n_servos * check + request)

    # -- naming ------------------------------------------------------------------------
    def _joint(self, servo_id: int) -> str:
        return MOTOR_NAMES[self.ids.index(servo_id)] if servo_id in self.ids else f"id {servo_id}"

    def _who(self, servo_id: int) -> str:
        """``id 4 (wrist_flex)``."""
        if servo_id not in self.ids:
            return f"id {servo_id}"
        return f"id {servo_id} ({self._joint(servo_id)})"

    def _error(self, problems: dict[int, str], operation: str) -> BusError:
        said = "; ".join(f"{self._who(i)}: {problem}" for i, problem in problems.items())
        return BusError(f"{self.port}: {said} ({operation})")

    @contextmanager
    def _boundary(self, operation: str, servo_ids: Sequence[int]) -> Iterator[None]:
        """One error type out of the bus: a failed transaction, and any SDK, pyserial or
        OS exception (an unplugged adapter), become a BusError naming the operation."""
        if self._ph is None or not self._ph.is_open:
            raise BusError(f"{self.port}: the port is not open ({operation}); "
                           "connect() first")
        try:
            yield
        except BusError:
            raise
        except _TryError as failed:
            tries = f", {failed.tries} tries" if failed.tries > 1 else ""
            raise self._error(failed.problems, f"{operation}{tries}") from None
        except Exception as exc:
            who = ", ".join(self._who(i) for i in servo_ids) if len(servo_ids) == 1 else \
                f"all servos (id {', '.join(map(str, servo_ids))})"
            hint = "is the network serial server still there (it serves one client at a " \
                "time)?" if "://" in self.port else "is the USB adapter still plugged in?"
            raise BusError(f"{self.port}: {who}: {exc.__class__.__name__}: {exc} "
                           f"({operation}); {hint}") from exc

    # -- one exchange on the wire ------------------------------------------------------
    def _read_available(self, timeout_s: float) -> bytes:
        """The bytes that have arrived, waiting up to ``timeout_s`` for the first."""
        ph = self._ph
        ready = bool(ph.getBytesAvailable())
        if timeout_s > 0 and not ready:
            if self._selectable:
                ready = bool(select.select([ph.ser], [], [], timeout_s)[0])
            else:                    # rfc2217: bytes come through pyserial's reader thread
                deadline = time.monotonic() + timeout_s
                while not (ready := bool(ph.getBytesAvailable())) and \
                        time.monotonic() < deadline:
                    time.sleep(POLL_S)
        data = bytes(ph.readPort(READ_CHUNK))       # the port never blocks (timeout 0)
        if not self._selectable:     # rfc2217 hands over one queued piece per read
            while more := ph.readPort(READ_CHUNK):
                data += bytes(more)
        if ready and not data and "://" in self.port:
            raise ConnectionError("the server closed the connection (another client has "
                                  "the line, or it stopped)")
        return data

    def _exchange(self, request: bytes, expected: dict[int, int], *,
                  untaint: bool = True) -> dict[int, Packet]:
        """Send ``request`` and return the status packet of each servo in ``expected``
        (servo id -> parameter bytes asked for): checksum valid, that servo, that length.

        A packet of another servo is set aside (it cannot pass for this answer) and its
        sender tainted. Raises :class:`_TryError` naming every expected servo whose reply
        is missing, damaged, of another length, or twice and different; those servos stay
        tainted (they may still answer), the others are untainted if ``untaint``.
        """
        self._tainted |= expected.keys()        # until its answer is in (even on Ctrl-C)
        self._ph.writePort(request)
        wire_bytes = len(request) + sum(n + 6 for n in expected.values())
        baud = self._ph.getBaudRate()
        deadline = time.monotonic() + REPLY_TIMEOUT_S + wire_bytes * BITS_PER_BYTE / baud
        stream = bytearray()
        while True:
            stream += self._read_available(deadline - time.monotonic())
            replies, problems = self._match(stream, expected)
            if len(replies) == len(expected) or time.monotonic() >= deadline:
                break
        more = self._read_available(0)          # a duplicate already here is judged too
        if more:
            stream += more
            replies, problems = self._match(stream, expected)
        if untaint:
            self._tainted -= replies.keys() - problems.keys()
        if len(replies) == len(expected) and not problems:
            return replies
        unanswered = expected.keys() - replies.keys() - problems.keys()
        for servo_id in unanswered:
            problems[servo_id] = damaged_reply(stream, servo_id, expected[servo_id]) or \
                f"no reply at {baud} baud"
        raise _TryError(problems, unanswered - heard_ids(stream))

    def _match(self, stream: bytes | bytearray, expected: dict[int, int]
               ) -> tuple[dict[int, Packet], dict[int, str]]:
        """The expected replies found in ``stream``, and what is wrong, by servo id;
        a servo heard that was not asked is tainted."""
        replies: dict[int, Packet] = {}
        problems: dict[int, str] = {}
        for packet in scan_status(stream):
            servo_id, n = packet.servo_id, len(packet.params)
            if servo_id not in expected:
                self._tainted.add(servo_id)     # another servo's late reply
            elif servo_id in replies:
                if packet.raw != replies[servo_id].raw:
                    problems[servo_id] = "two different replies (a late one?)"
            elif n != expected[servo_id]:
                problems[servo_id] = (f"a reply of {n} data bytes where "
                                      f"{expected[servo_id]} were asked (a late reply?)")
            else:
                replies[servo_id] = packet
        return replies, problems

    # -- resynchronising ---------------------------------------------------------------
    def _retry(self, servo_ids: Sequence[int], once: Callable[[], T]) -> T:
        """``once`` (one try of a transaction with ``servo_ids``) up to 1 + retries times,
        each after resynchronising those servos; raises the first try's failure."""
        first: _TryError | None = None
        for tries in range(1, 2 + self.retries):
            try:
                if self._ph.getBytesAvailable():           # between transactions
                    self._tainted |= heard_ids(self._read_available(0))
                self._resync(servo_ids)
                return once()
            except _TryError as failed:
                first = first or failed
                first.tries = tries
        raise first

    def _resync(self, servo_ids: Sequence[int]) -> None:
        """Before asking a tainted servo again: let the line go quiet, then check it gives
        the known answer to a read no earlier request of it can have asked."""
        tainted = [i for i in servo_ids if i in self._tainted]
        if tainted:
            self._drain()
            for servo_id in tainted:
                self._verify(servo_id)

    def _drain(self) -> None:
        """Drop input until the line was quiet for QUIET_S (at most DRAIN_MAX_S); every
        servo heard meanwhile had a reply in flight and stays tainted."""
        start = quiet_since = time.monotonic()
        while (wait := min(quiet_since + QUIET_S, start + DRAIN_MAX_S) - time.monotonic()) > 0:
            data = self._read_available(wait)
            if data:
                self._tainted |= heard_ids(data)
                quiet_since = time.monotonic()

    def _verify(self, servo_id: int) -> Packet:
        """The check read: ID byte the servo's id, firmware and model as first read, and
        a length no recent request of it had. Untaints the servo; returns its packet."""
        count = self._checks.get(servo_id, 0)
        self._checks[servo_id] = count + 1
        length = CHECK_LENGTHS[count % len(CHECK_LENGTHS)]
        request = instruction_packet(servo_id, Instruction.READ, bytes([0, length]))
        try:
            packet = self._exchange(request, {servo_id: length}, untaint=False)[servo_id]
        except _TryError as failed:
            failed.problems = {i: f"check read: {p}" for i, p in failed.problems.items()}
            raise
        identity = packet.params[:ID_ADDRESS + 1]
        if identity[ID_ADDRESS] != servo_id or \
                identity != self._identity.setdefault(servo_id, identity):
            raise _TryError({servo_id: "wrong answer to the check read of its ID, model "
                                        "and firmware"})
        self._tainted.discard(servo_id)
        return packet

    # -- checks on a reply -------------------------------------------------------------
    def _check_status(self, packets: dict[int, Packet], operation: str) -> None:
        """A status error bit (overheat, overload...) is a BusError: the reply is the
        answer, but the servo says it is not fit to use."""
        errors = {i: f"servo reports {describe_status(p.code)}"
                  for i, p in packets.items() if p.code}
        if errors:
            raise self._error(errors, operation)

    def _value(self, register: str, packet: Packet) -> int:
        raw = from_le(packet.params)
        if not plausible(register, raw):
            self._tainted.add(packet.servo_id)
            raise _TryError({packet.servo_id: f"implausible {register} {raw:#06x} in its "
                                               "reply"})
        return raw

    # -- single registers --------------------------------------------------------------
    def read(self, register: str, servo_id: int) -> int:
        """A register's decoded value (sign-magnitude registers signed)."""
        return int(decode_register(register, self._read_raw(register, servo_id)))

    def _read_raw(self, register: str, servo_id: int, *, status_ok: bool = False) -> int:
        reg = REGISTERS[register]
        request = instruction_packet(servo_id, Instruction.READ,
                                     bytes([reg.address, reg.size]))
        operation = f"reading {register}"

        def once() -> int:
            packets = self._exchange(request, {servo_id: reg.size})
            if not status_ok:
                self._check_status(packets, operation)
            return self._value(register, packets[servo_id])

        with self._boundary(operation, [servo_id]):
            return self._retry([servo_id], once)

    def write(self, register: str, servo_id: int, value: int) -> None:
        """Write a register and wait for the servo's acknowledgement. Torque_Enable = 0
        counts as delivered even when the servo reports an error bit (an overheated
        servo is when torque must go off); that is said on stderr."""
        reg = REGISTERS[register]
        encoded = int(encode_register(register, value))
        request = instruction_packet(servo_id, Instruction.WRITE,
                                     bytes([reg.address]) + to_le(encoded, reg.size))
        operation = f"writing {register} = {value}"
        with self._boundary(operation, [servo_id]):
            packets = self._retry([servo_id], lambda: self._exchange(request, {servo_id: 0}))
        if register == "Torque_Enable" and value == 0 and packets[servo_id].code:
            print(f"so101: {self.port}: {self._who(servo_id)}: torque off, but the servo "
                  f"reports {describe_status(packets[servo_id].code)}", file=sys.stderr)
            return
        self._check_status(packets, operation)

    def read_block(self, servo_id: int, names: Sequence[str]) -> RegisterBlock:
        """Several registers of one servo in one READ (from the lowest address to the end
        of the highest), decoded, each checked plausible; the reply's status error byte is
        returned, not raised. Read-only."""
        regs = [REGISTERS[name] for name in names]
        start = min(r.address for r in regs)
        length = max(r.address + r.size for r in regs) - start
        request = instruction_packet(servo_id, Instruction.READ, bytes([start, length]))
        operation = f"reading {names[0]}..{names[-1]}" if len(names) > 1 else \
            f"reading {names[0]}"

        def once() -> RegisterBlock:
            packet = self._exchange(request, {servo_id: length})[servo_id]
            values = {}
            for r in regs:
                raw = from_le(packet.params[r.address - start: r.address - start + r.size])
                if not plausible(r.name, raw):
                    self._tainted.add(servo_id)
                    raise _TryError({servo_id: f"implausible {r.name} {raw:#06x} in its reply"})
                values[r.name] = int(decode_register(r.name, raw))
            return RegisterBlock(servo_id, values, packet.code)

        with self._boundary(operation, [servo_id]):
            return self._retry([servo_id], once)

    def scan_bound_s(self, n_ids: int = MAX_ID + 1) -> float:
        """Longest a scan of ``n_ids`` ids can take (s), OS scheduling aside: one gap per
        id, the line going quiet, and one position read per answering servo."""
        return n_ids * self._scan_gap() + DRAIN_MAX_S + len(self.ids) * self.failure_bound_s()

    def _scan_gap(self) -> float:
        """A ping and its reply on the wire, three times over, and at least SCAN_GAP_S."""
        return max(SCAN_GAP_S, 3 * 12 * BITS_PER_BYTE / self.baudrate)

    def scan(self, ids: Sequence[int] = range(MAX_ID + 1)) -> BusScan:
        """Ping every id in ``ids`` at the bus's baud, one every gap (about 0.5 s for 0..253
        at 1 Mbaud: bounded, never a hang), and read Present_Position of every id that answered:
        two servos on one id answer a ping with identical bytes, but their positions
        differ and their replies collide. Read-only."""
        gap = self._scan_gap()
        with self._boundary(f"scanning ids {ids[0]}..{ids[-1]}", list(self.ids)):
            self._drain()
            start = time.monotonic()
            stream = bytearray()
            for servo_id in ids:
                self._ph.writePort(instruction_packet(servo_id, Instruction.PING))
                time.sleep(gap)
                stream += self._read_available(0)
            stop_by = time.monotonic() + DRAIN_MAX_S          # the last replies land
            quiet_until = time.monotonic() + REPLY_TIMEOUT_S
            while (wait := min(quiet_until, stop_by) - time.monotonic()) > 0:
                more = self._read_available(wait)
                if more:
                    stream += more
                    quiet_until = time.monotonic() + QUIET_S
            replies: dict[int, int] = {}
            for packet in scan_status(stream):
                if packet.servo_id in ids and not packet.params:
                    replies[packet.servo_id] = replies.get(packet.servo_id, 0) + 1
            collided = {}
            position = REGISTERS["Present_Position"]
            for servo_id in sorted(replies.keys() | (heard_ids(stream) & set(ids))):
                request = instruction_packet(servo_id, Instruction.READ,
                                             bytes([position.address, position.size]))
                try:
                    self._exchange(request, {servo_id: position.size})
                except _TryError as failed:
                    collided[servo_id] = failed.problems[servo_id]
            return BusScan(self.baudrate, tuple(ids), replies, collided,
                           time.monotonic() - start)

    # -- the whole arm -----------------------------------------------------------------
    def identify(self) -> list[ServoInfo]:
        """Check every servo is there and an STS3215; read its firmware version."""
        found, missing = [], []
        for servo_id in self.ids:
            with self._boundary("identify", [servo_id]):
                try:
                    packet = self._retry([], lambda i=servo_id: self._identify_once(i))
                except _TryError as failed:
                    if set(failed.problems) != failed.silent:
                        raise
                    missing.append(servo_id)
                    continue
            self._check_status({servo_id: packet}, "identify")
            params = packet.params
            model = from_le(params[3:5])
            if model != MODEL_STS3215:
                raise BusError(f"{self.port}: {self._who(servo_id)} is model {model}, "
                               f"expected an STS3215 (model {MODEL_STS3215})")
            found.append(ServoInfo(servo_id, self._joint(servo_id), model,
                                   f"{params[0]}.{params[1]}"))
        if missing:
            hint = ""
            if len(missing) == len(self.ids):
                with self._boundary("looking for the servos at other baud rates", self.ids):
                    hint = self._other_baud_hint()
            names = ", ".join(self._who(i).removeprefix("id ") for i in missing)
            raise BusError(f"{self.port}: no reply from id {names} at {self.baudrate} baud"
                           f"{hint}; check power, cables and ids")
        return found

    def _identify_once(self, servo_id: int) -> Packet:
        """The check read is the identification: firmware, model and ID in one reply."""
        if servo_id in self._tainted:
            self._drain()
        return self._verify(servo_id)

    def _other_baud_hint(self) -> str:
        """When nobody answers, look for the servos at the other baud rates."""
        try:
            for baud in BAUD_RATES.values():
                if baud == self.baudrate:
                    continue
                self._ph.setBaudRate(baud)
                for servo_id in self.ids:
                    try:
                        self._exchange(instruction_packet(servo_id, Instruction.PING),
                                       {servo_id: 0})
                        return f" (wrong baud: id {servo_id} answers at {baud} baud)"
                    except _TryError:
                        continue
        finally:
            self._ph.setBaudRate(self.baudrate)
            self._tainted |= set(self.ids)
        return ""

    def sync_read(self, register: str) -> np.ndarray:
        """One register of all six servos by SYNC_READ, decoded, motor order."""
        reg = REGISTERS[register]
        request = instruction_packet(BROADCAST_ID, Instruction.SYNC_READ,
                                     bytes([reg.address, reg.size, *self.ids]))
        operation = f"sync read of {register}"

        def once() -> list[int]:
            packets = self._exchange(request, dict.fromkeys(self.ids, reg.size))
            self._check_status(packets, operation)
            return [self._value(register, packets[i]) for i in self.ids]

        with self._boundary(operation, self.ids):
            raws = self._retry(self.ids, once)
        return np.asarray(decode_register(register, np.array(raws)), dtype=np.int64)

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
        """Torque and EEPROM lock together, as LeRobot does. Off: torque off on every
        servo first (:meth:`disable_torque`), then unlock."""
        if not on:
            unconfirmed = self.disable_torque()
            if unconfirmed:
                raise BusError(f"{self.port}: torque could not be confirmed off on "
                               f"{', '.join(unconfirmed)}; switch the arm's power off")
        for servo_id in self.ids:
            if on:
                self.write("Torque_Enable", servo_id, 1)
            self.write("Lock", servo_id, int(on))

    def write_goals(self, goal_ticks: np.ndarray, envelope: SafetyEnvelope,
                    present_ticks: np.ndarray | None = None) -> np.ndarray:
        """SYNC_WRITE Goal_Position, only after the envelope accepted every joint against
        the present position: ``present_ticks`` when the caller computed the goals from a
        reading it just took (judged on that same reading), else read now."""
        present = self.read_positions() if present_ticks is None else present_ticks
        goals = envelope.check(goal_ticks, present)
        reg = REGISTERS["Goal_Position"]
        with self._boundary("sync write of Goal_Position", self.ids):
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

        An interrupt can land inside a transaction, with half a reply in the buffer and
        the SDK's port marked busy; the port is reclaimed first, then one broadcast write
        (no reply needed) and a confirmed write per servo. A servo that cannot be
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
        """Torque off on every servo; returns the servos it could not confirm (neither
        acknowledged the write nor read back Torque_Enable 0)."""
        if self._ph is None or not self._ph.is_open:
            return [self._who(i) for i in self.ids]
        self.broadcast_torque_off()
        unconfirmed = []
        for servo_id in self.ids:
            try:
                self.write("Torque_Enable", servo_id, 0)
            except BusError:
                if not self._reads_torque_off(servo_id):
                    unconfirmed.append(self._who(servo_id))
        return unconfirmed

    def broadcast_torque_off(self) -> None:
        """One broadcast write of Torque_Enable = 0: every servo obeys, none replies, so
        nothing is waited for (the emergency path of a second Ctrl-C). Best effort: the
        confirmed writes of :meth:`disable_torque` tell what took."""
        if self._ph is None or not self._ph.is_open:
            return
        self._ph.is_using = False          # an interrupted SDK transaction leaves it set
        address = REGISTERS["Torque_Enable"].address
        try:
            self._ph.writePort(instruction_packet(BROADCAST_ID, Instruction.WRITE,
                                                  bytes([address, 0])))
        except Exception:
            pass

    def _reads_torque_off(self, servo_id: int) -> bool:
        try:
            return self._read_raw("Torque_Enable", servo_id, status_ok=True) == 0
        except BusError:
            return False
