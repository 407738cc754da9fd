"""The emulated arm: STS3215 servos answering on a pseudo-terminal, byte for byte.

:class:`BusEmulator` is the bus logic (which servo hears a packet, what it answers; a
second servo on a duplicated id answers at the same moment, the two replies colliding);
:class:`PtyServer` runs it behind a pty for the unmodified ``scservo_sdk`` client
(:class:`TcpServer` on a TCP port, as ser2net serves a USB adapter: ``socket://``): it
keeps its own end of the slave open (so the client's close/reopen in ``setBaudRate``
works), reads the baud the client set on the tty (servos only hear packets at their
``Baud_Rate``), can pace replies at the wire rate (10 bits a byte plus Return_Delay_Time,
less the pty's own latency, measured at start), delivers late replies (in order: no
reply overtakes an earlier one of the same servo), and takes run-time commands (faults,
state) on a Unix control socket as JSON lines. Serving a MuJoCo twin, its loop also keeps
the twin's physics in step with the wall clock, so that a request is answered from the
latest state instead of waiting for the physics of the idle time.
"""

from __future__ import annotations

import fcntl
import heapq
import itertools
import json
import os
import random
import select
import selectors
import socket
import statistics
import struct
import time
import tty
from dataclasses import dataclass

from .protocol import BAUD_RATES, BROADCAST_ID, Instruction, Packet, PacketParser, status_packet
from .servo import SimpleShaft, VirtualServo

TCGETS2 = 0x802C542A  # Linux: struct termios2, c_ospeed at byte 40
BITS_PER_BYTE = 10    # 8N1
#: Where a second servo on a duplicated id sits: a third of a turn from the first (raw
#: ticks), so that their position replies differ and collide visibly.
SHADOW_OFFSET_TICKS = 1365
#: How long the serving loop waits for the bus when nothing else is due (s).
IDLE_WAIT_S = 0.05


def tty_baud(fd: int) -> int:
    """The baud rate set on a tty (what the client asked pyserial for)."""
    buf = bytearray(44)
    fcntl.ioctl(fd, TCGETS2, buf)
    return struct.unpack_from("I", buf, 40)[0]


def wire_seconds(n_bytes: int, baud: int) -> float:
    return n_bytes * BITS_PER_BYTE / baud


def wired_and(a: bytes, b: bytes) -> bytes:
    """Two servos driving the line at once: each bit is low where either drives it low (a
    wired AND; the shorter reply leaves the line idle, high, after its end)."""
    return bytes(x & y for x, y in itertools.zip_longest(a, b, fillvalue=0xFF))


def pty_one_way_latency(master: int, slave: int, samples: int = 40) -> float:
    """Median time for a byte to cross the pty (both ways, halved), before any client."""
    times = []
    for src, dst in ((master, slave), (slave, master)) * (samples // 2):
        start = time.perf_counter()
        os.write(src, b"\x00")
        selectors_ready = select.select([dst], [], [], 1.0)[0]
        if selectors_ready:
            os.read(dst, 16)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


@dataclass(frozen=True)
class Reply:
    """What one servo puts on the wire for one request, after its faults were applied
    (a status packet; twice, after line noise, damaged, as the faults say)."""

    servo_id: int
    data: bytes
    late_s: float
    return_delay_s: float


class BusEmulator:
    """Servos on one half-duplex bus. Pure logic: no I/O, time passed in."""

    def __init__(self, servos: list[VirtualServo], seed: int = 0) -> None:
        self.servos = servos
        self._rng = random.Random(seed)          # line noise of the ``garbage`` fault
        self._shadows: dict[int, VirtualServo] = {}   # second servos on duplicated ids

    def by_id(self, servo_id: int) -> VirtualServo | None:
        return next((s for s in self.servos if s.servo_id == servo_id), None)

    def _hears(self, servo: VirtualServo, baud: int) -> bool:
        return not servo.faults.missing and BAUD_RATES.get(servo.baud_code) == baud

    def _shadow(self, servo: VirtualServo, now: float) -> VirtualServo | None:
        """The second servo on this servo's id (``duplicate_id``), made on first use: its
        registers those of the first (it heard the same writes), its shaft elsewhere."""
        if not servo.health.duplicate_id:
            self._shadows.pop(id(servo), None)
            return None
        shadow = self._shadows.get(id(servo))
        if shadow is None:
            raw = servo.shaft.raw(now) + SHADOW_OFFSET_TICKS
            shadow = VirtualServo(servo.servo_id, SimpleShaft(raw), seed=servo.seed + 1)
            shadow.memory[:] = servo.memory
            self._shadows[id(servo)] = shadow
        return shadow

    def _reply(self, servo: VirtualServo, packet: bytes) -> Reply:
        """What goes on the wire for a status packet, after the servo's wire faults."""
        faults = servo.faults
        if faults.corrupt:
            packet = packet[:-1] + bytes([(packet[-1] + 1) & 0xFF])
        if faults.truncated:
            packet = packet[: max(1, len(packet) - faults.truncated)]
        data = b"".join(self._rng.randbytes(faults.garbage_bytes) + packet
                        for _ in range(2 if faults.duplicate else 1))
        return Reply(servo.servo_id, data, faults.late_ms / 1000.0,
                     servo.get("Return_Delay_Time") * 2e-6)

    def _answer(self, servo: VirtualServo, inst: int, params: bytes, now: float
                ) -> Reply | None:
        """Apply one instruction to the servo (and to a second servo on its id, whose reply
        collides with its own); its reply, or None for an instruction it ignores."""
        data = self._execute(servo, inst, params, now)
        if data is None:
            return None
        packet = status_packet(servo.servo_id, servo.status_error(), data)
        shadow = self._shadow(servo, now)
        if shadow is not None:
            other = self._execute(shadow, inst, params, now)
            if other is not None:
                packet = wired_and(packet, status_packet(shadow.servo_id,
                                                         shadow.status_error(), other))
        return self._reply(servo, packet)

    def handle(self, packet: Packet, now: float, baud: int) -> list[Reply]:
        """Apply one instruction packet; return the replies in bus order."""
        if not packet.checksum_ok:
            return []
        inst, params = packet.code, packet.params
        if inst == Instruction.SYNC_READ and packet.servo_id == BROADCAST_ID:
            if len(params) < 2:
                return []
            replies = []
            for servo_id in params[2:]:
                servo = self.by_id(servo_id)
                if servo is not None and self._hears(servo, baud) and \
                        not servo.faults.swallow():
                    replies.append(self._answer(servo, Instruction.READ, params[:2], now))
            return replies
        if inst == Instruction.SYNC_WRITE and packet.servo_id == BROADCAST_ID:
            if len(params) < 2 or params[1] == 0:
                return []
            address, length = params[0], params[1]
            body = params[2:]
            for i in range(0, len(body) - length, length + 1):
                servo = self.by_id(body[i])
                if servo is not None and self._hears(servo, baud):
                    for target in (servo, self._shadow(servo, now)):
                        if target is not None:
                            target.write(address, body[i + 1: i + 1 + length], now)
            return []
        broadcast = packet.servo_id == BROADCAST_ID
        targets = [s for s in self.servos if broadcast or s.servo_id == packet.servo_id]
        replies = []
        for servo in targets:
            if not self._hears(servo, baud):
                continue
            reply = self._answer(servo, inst, params, now)
            if reply is None:
                continue
            level_quiet = servo.get("Response_Status_Level") == 0 and \
                inst not in (Instruction.PING, Instruction.READ)
            if (broadcast and inst != Instruction.PING) or level_quiet or \
                    servo.faults.swallow():
                continue
            replies.append(reply)
        return replies

    def _execute(self, servo: VirtualServo, inst: int, params: bytes, now: float
                 ) -> bytes | None:
        """Apply one instruction to one servo; the parameters of its status reply (empty
        but for a READ), or None when a servo ignores the instruction."""
        if inst == Instruction.PING:
            return b""
        if inst == Instruction.READ and len(params) == 2:
            return servo.read(params[0], params[1], now)
        if inst == Instruction.WRITE and len(params) >= 2:
            servo.write(params[0], params[1:], now)
            return b""
        if inst == Instruction.REG_WRITE and len(params) >= 2:
            servo.reg_write(params[0], params[1:])
            return b""
        if inst == Instruction.ACTION:
            servo.action(now)
            return b""
        if inst in (Instruction.RESET, 0x0A):
            servo.reset()
            return b""
        return None  # unknown or malformed: a servo ignores it


class BusServer:
    """Serve a :class:`BusEmulator` on a link until :meth:`stop`: the bus logic, late and
    paced replies, and the control socket. The link (a pty, a TCP socket) is the
    subclass's: it registers its file objects, reads bytes, writes replies and says at
    what baud the client talks."""

    #: One-way latency of the link itself, taken out of paced replies (s).
    link_latency_s = 0.0

    def __init__(self, emulator: BusEmulator, *, pace: bool = False,
                 control_path: str | None = None, arm: object = None) -> None:
        self.emulator = emulator
        self.arm = arm                # the twin's TwinArm, if any (place, q in state)
        self.pace = pace
        self.control_path = control_path
        self.port = ""
        self.clients: int | None = None   # clients that had the line so far (TCP links)
        self._parser = PacketParser()
        self._late: list[tuple[float, int, bytes]] = []
        self._seq = 0
        self._late_until: dict[int, float] = {}   # servo id -> when its last late reply goes
        self.most_request_steps = 0       # most twin physics steps a request waited for
        self._stopping = False
        self._selector = selectors.DefaultSelector()
        self._listener: socket.socket | None = None
        if control_path:
            if os.path.exists(control_path):
                os.unlink(control_path)
            self._listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self._listener.bind(control_path)
            self._listener.listen(4)
            self._listener.setblocking(False)
            self._selector.register(self._listener, selectors.EVENT_READ, "accept")

    def stop(self) -> None:
        self._stopping = True

    def close(self) -> None:
        self._selector.close()
        if self._listener is not None:
            self._listener.close()
            if self.control_path and os.path.exists(self.control_path):
                os.unlink(self.control_path)

    # -- the link (subclasses) ---------------------------------------------------------
    def _write(self, data: bytes) -> None:
        raise NotImplementedError

    def _baud(self) -> int:
        """The baud the client talks at (servos hear only packets at their Baud_Rate)."""
        raise NotImplementedError

    def _on_link(self, key: selectors.SelectorKey) -> None:
        """A file object the link registered is readable."""
        raise NotImplementedError

    # -- the bus -----------------------------------------------------------------------
    def _on_bus_bytes(self, data: bytes) -> None:
        """Bytes from the client: answer every complete packet, late or paced as set."""
        arrived = time.perf_counter()
        for packet in self._parser.feed(data):
            baud = self._baud()
            stepped = self.arm.stepped if self.arm is not None else 0
            now = self._catch_up()
            replies = self.emulator.handle(packet, now, baud)
            if self.arm is not None:
                self.most_request_steps = max(self.most_request_steps,
                                              self.arm.stepped - stepped)
            wire = len(packet.raw)
            for reply in replies:
                wire += len(reply.data)
                # A servo answers in order, as on a wire: a reply never overtakes an earlier
                # late one of the same servo (even when `late` is lowered meanwhile).
                due = max(arrived + reply.late_s, self._late_until.get(reply.servo_id, 0.0))
                if due > arrived:
                    self._late_until[reply.servo_id] = due
                    self._seq += 1
                    heapq.heappush(self._late, (due, self._seq, reply.data))
                    continue
                if self.pace:
                    # The link is not the wire: take its own latency out of both directions.
                    deadline = arrived - 2 * self.link_latency_s + reply.return_delay_s + \
                        wire_seconds(wire, baud)
                    while time.perf_counter() < deadline:
                        pass
                self._write(reply.data)

    def _catch_up(self) -> float:
        """Before a request: the twin's physics caught up (a few steps at most: the loop
        keeps time); the time the request is handled at (monotonic s)."""
        now = time.monotonic()
        if self.arm is not None:
            self.arm.catch_up(now)
        return now

    def _tick(self) -> float:
        """The steady physics loop's turn: step the twin if a tick is due; seconds until
        the next one."""
        if self.arm is None:
            return IDLE_WAIT_S
        return min(IDLE_WAIT_S, self.arm.tick(time.monotonic()))

    def _on_control(self, conn: socket.socket) -> None:
        try:
            data = conn.recv(65536)
        except OSError:
            data = b""
        if not data:
            self._selector.unregister(conn)
            conn.close()
            return
        for line in data.splitlines():
            try:
                answer = self.command(json.loads(line))
            except Exception as exc:  # report to the client, keep serving
                answer = {"ok": False, "error": f"{exc.__class__.__name__}: {exc}"}
            conn.sendall(json.dumps(answer).encode() + b"\n")

    def command(self, request: dict) -> dict:
        """Run one control command: fault, clear_faults, set_raw, pace, state."""
        cmd = request.get("cmd")
        if cmd == "state":
            q = physics = None
            if self.arm is not None:
                behind = self.arm.behind(time.monotonic())
                now = self._catch_up()
                q = [self.arm.q(j) for j in range(len(self.emulator.servos))]
                physics = {"time_s": self.arm.physics_time, "behind_steps": behind,
                           "most_request_steps": self.most_request_steps}
            else:
                now = time.monotonic()
            return {"ok": True, "port": self.port, "clients": self.clients, "q_sim_rad": q,
                    "physics": physics,
                    "servos": {
                s.servo_id: {"present": s.present_ticks(now), "raw": s.shaft.raw(now),
                             "torque": s.get("Torque_Enable"), "lock": s.get("Lock"),
                             "homing": s.signed("Homing_Offset"),
                             "goal": s.signed("Goal_Position"),
                             "min": s.get("Min_Position_Limit"),
                             "max": s.get("Max_Position_Limit"), "baud": s.baud_code,
                             "faults": s.active_faults(), "writes": s.writes,
                             "torque_switched_on": s.torque_switched_on}
                for s in self.emulator.servos},
                "backlash_deg": None if self.arm is None else self.arm.backlash_deg()}
        if cmd == "fault":
            servo = self._servo(request["id"])
            servo.set_fault(request["kind"], request.get("value", True))
            return {"ok": True}
        if cmd == "clear_faults":
            for servo in self.emulator.servos:
                servo.clear_faults()
            return {"ok": True}
        if cmd == "set_raw":
            self._catch_up()
            self._servo(request["id"]).shaft.set_raw(float(request["raw"]))
            return {"ok": True}
        if cmd == "place" and self.arm is not None:
            pose = request["pose"]
            q = self.arm.sim.keyframe(pose) if isinstance(pose, str) else pose
            self.arm.place(q)
            return {"ok": True}
        if cmd == "pace":
            self.pace = bool(request["on"])
            return {"ok": True}
        return {"ok": False, "error": f"unknown command {cmd!r}"}

    def _servo(self, servo_id: int) -> VirtualServo:
        servo = self.emulator.by_id(int(servo_id))
        if servo is None:
            raise KeyError(f"no servo with id {servo_id}")
        return servo

    def serve_forever(self) -> None:
        """Serve until :meth:`stop` (e.g. from a signal handler); then close."""
        if self.arm is not None:
            self.arm.start(time.monotonic())      # physics runs with the wall clock
        try:
            while not self._stopping:
                timeout = self._tick()
                if self._late:
                    timeout = max(0.0, min(timeout, self._late[0][0] - time.perf_counter()))
                for key, _ in self._selector.select(timeout):
                    if key.data == "accept":
                        conn, _ = self._listener.accept()
                        self._selector.register(conn, selectors.EVENT_READ, "control")
                    elif key.data == "control":
                        self._on_control(key.fileobj)
                    else:
                        self._on_link(key)
                while self._late and self._late[0][0] <= time.perf_counter():
                    self._write(heapq.heappop(self._late)[2])
        finally:
            self.close()


class PtyServer(BusServer):
    """Serve a :class:`BusEmulator` on a new pseudo-terminal until :meth:`stop`."""

    def __init__(self, emulator: BusEmulator, *, pace: bool = False,
                 control_path: str | None = None, arm: object = None) -> None:
        super().__init__(emulator, pace=pace, control_path=control_path, arm=arm)
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.link_latency_s = pty_one_way_latency(self.master, self.slave)
        os.set_blocking(self.master, False)
        self.port = os.ttyname(self.slave)
        self._selector.register(self.master, selectors.EVENT_READ, "bus")

    def close(self) -> None:
        super().close()
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass

    def _write(self, data: bytes) -> None:
        try:
            os.write(self.master, data)
        except BlockingIOError:
            pass  # nobody reads the port: a real bus would drop these bytes too

    def _baud(self) -> int:
        return tty_baud(self.slave)

    def _on_link(self, key: selectors.SelectorKey) -> None:
        try:
            data = os.read(self.master, 4096)
        except (BlockingIOError, OSError):
            return
        self._on_bus_bytes(data)


class LinkError(OSError):
    """The link (the TCP address) cannot be served."""


class TcpServer(BusServer):
    """Serve a :class:`BusEmulator` on a TCP port, as a serial-to-network server (ser2net in
    raw mode) serves a USB adapter: pyserial reaches it as ``socket://HOST:PORT``.

    One client at a time, as one serial line has one other end: a second connection is
    closed at once. The line's speed is the server's (``baud``), not the client's: a raw
    TCP link carries no baud setting, as with ser2net's configured speed.
    """

    def __init__(self, emulator: BusEmulator, host: str, port: int, *,
                 baud: int = 1_000_000, pace: bool = False, control_path: str | None = None,
                 arm: object = None) -> None:
        try:
            self._server = socket.create_server((host, port))
        except OSError as exc:
            raise LinkError(exc.errno, exc.strerror or str(exc)) from None
        super().__init__(emulator, pace=pace, control_path=control_path, arm=arm)
        self.baud = baud
        self._server.setblocking(False)
        bound_host, bound_port = self._server.getsockname()[:2]
        self.port = f"socket://{bound_host}:{bound_port}"
        self._client: socket.socket | None = None
        self.clients = 0
        self._selector.register(self._server, selectors.EVENT_READ, "listen")

    def close(self) -> None:
        self._drop_client()
        super().close()
        self._server.close()

    def _drop_client(self) -> None:
        if self._client is not None:
            try:
                self._selector.unregister(self._client)
            except (KeyError, ValueError):
                pass
            self._client.close()
            self._client = None
            self._parser = PacketParser()       # a half packet dies with its connection

    def _client_alive(self) -> bool:
        """False once the client hung up (its end-of-file waits, unread, on the socket)."""
        if not select.select([self._client], [], [], 0)[0]:
            return True
        try:
            return self._client.recv(1, socket.MSG_PEEK) != b""
        except OSError:
            return False

    def _write(self, data: bytes) -> None:
        if self._client is None:
            return                               # nobody on the line: the bytes are lost
        try:
            self._client.sendall(data)
        except OSError:
            self._drop_client()

    def _baud(self) -> int:
        return self.baud

    def _on_link(self, key: selectors.SelectorKey) -> None:
        if key.data == "listen":
            try:
                conn, _ = self._server.accept()
            except OSError:
                return
            if self._client is not None and not self._client_alive():
                self._drop_client()              # it hung up: its EOF is not read yet
            if self._client is not None:
                conn.close()                     # the line is taken: one client at a time
                return
            self.clients += 1
            conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            conn.settimeout(1.0)                 # a client that stops reading is dropped
            self._client = conn
            self._selector.register(conn, selectors.EVENT_READ, "bus")
            return
        try:
            data = self._client.recv(4096)
        except OSError:
            data = b""
        if not data:
            self._drop_client()
            return
        self._on_bus_bytes(data)
